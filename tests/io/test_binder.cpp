// io::Binder's error report: every problem at once, naming the file; a file holding none
// of the model's keys is reported as probably the wrong file, without hundreds of lines.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <string>

#include "cascadev/core.hpp"
#include "cascadev/io/safetensors.hpp"
#include "cascadev/io/weight_store.hpp"
#include "../common/temp_dir.hpp"

using namespace cascadev;
namespace fs = std::filesystem;

namespace {

/// A file with tensors name_0 .. name_{n-1}, each of shape [2].
fs::path write_store(const fs::path& p, const std::string& name, int n) {
    io::SafetensorsWriter w;
    for (int i = 0; i < n; ++i) {
        Tensor<float, Extents<2>> t;
        t.data()[0] = float(i);
        t.data()[1] = -float(i);
        w.add(name + "_" + std::to_string(i), t);
    }
    w.write(p);
    return p;
}

std::string finish_error(io::Binder& b) {
    try {
        b.finish();
    } catch (const std::exception& e) {
        return e.what();
    }
    BOOST_FAIL("expected an error");
    return {};  // not reached: BOOST_FAIL throws
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(binder)

BOOST_AUTO_TEST_CASE(lists_every_problem_and_names_the_file) {
    const cascadev::testing::TempDir d("cascadev-binder-test");
    const auto path = write_store(d / "near.safetensors", "w", 20);
    const io::WeightStore store(path);
    io::Binder b(store);
    Tensor<float, Extents<2>> ok;
    Tensor<float, Extents<3>> wrong_shape;
    b.bind("w_0", ok);
    b.bind("w_1", wrong_shape);
    Tensor<float, Extents<2>> missing[14];
    for (int i = 0; i < 14; ++i) b.bind("absent_" + std::to_string(i), missing[i]);
    const std::string m = finish_error(b);
    BOOST_TEST(m.rfind(path.string() + ": weights do not match the model", 0) == 0, m);
    BOOST_TEST(m.find("\"w_1\" has shape [2], expected [3]") != std::string::npos, m);
    BOOST_TEST(count(m, "missing key \"absent_") == 14u, m);        // all of them: a near match
    BOOST_TEST(count(m, "unexpected key \"w_") == 18u, m);          // w_2 .. w_19
    BOOST_TEST(m.find("right file") == std::string::npos, m);
    BOOST_TEST(ok.data()[0] == 0.0f);
}

BOOST_AUTO_TEST_CASE(a_file_without_any_model_key_is_called_the_wrong_file) {
    const cascadev::testing::TempDir d("cascadev-binder-test");
    const auto path = write_store(d / "wrong.safetensors", "other", 30);
    const io::WeightStore store(path);
    io::Binder b(store);
    Tensor<float, Extents<2>> params[20];
    for (int i = 0; i < 20; ++i) b.bind("param_" + std::to_string(i), params[i]);
    const std::string m = finish_error(b);
    BOOST_TEST(m.rfind(path.string() + ": weights do not match the model", 0) == 0, m);
    BOOST_TEST(count(m, "\n  missing key") == 12u, m);              // the first 12 of 20 + 30
    BOOST_TEST(m.find("... and 38 more") != std::string::npos, m);
    BOOST_TEST(m.find("holds 30 key(s) such as \"other_0\": is it the right file?") != std::string::npos, m);
}

BOOST_AUTO_TEST_SUITE_END()
