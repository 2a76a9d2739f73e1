#pragma once
// Writes hostile bytes to a file, opens it with `open(path)` and expects a cascadev::Error
// whose message names the file and contains `what`.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <string>

#include "cascadev/core.hpp"
#include "../common/byte_files.hpp"
#include "../common/temp_dir.hpp"

namespace cascadev::testing {

template <class Open>
void expect_open_error(const std::string& bytes, const std::string& what, Open open,
                       const std::string& file_name = "hostile.pth") {
    TempDir d("cascadev-hostile");
    const std::filesystem::path p = d / file_name;
    write_file(p, bytes);
    try {
        open(p);
        BOOST_ERROR("no error for a file expected to fail with \"" << what << "\"");
    } catch (const Error& e) {
        const std::string m = e.what();
        BOOST_TEST_INFO("message: " << m);
        BOOST_TEST(m.find(p.string()) != std::string::npos);
        BOOST_TEST(m.find(what) != std::string::npos);
    }
}

}  // namespace cascadev::testing
