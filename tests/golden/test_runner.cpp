// The golden runner must pass a good case and fail loudly on a tampered or unknown one.
#include <sys/wait.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "cascadev/io.hpp"

namespace fs = std::filesystem;
using namespace cascadev;

namespace {

const fs::path vendored = fs::path(CASCADEV_TEST_DATA_DIR) / "golden/components/resize.bilinear/scale2";

struct RunResult {
    int code;
    std::string output;
};

RunResult run_runner(const std::string& args) {
    const std::string cmd = std::string(CASCADEV_GOLDEN_EXE) + " " + args + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    BOOST_REQUIRE(p);
    std::string out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    const int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// A fresh copy of the vendored case in a temp folder.
fs::path copy_case(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("cascadev_golden_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (const auto& f : fs::directory_iterator(vendored)) fs::copy_file(f.path(), dir / f.path().filename());
    for (const auto& f : fs::directory_iterator(dir)) fs::permissions(f.path(), fs::perms::owner_write, fs::perm_options::add);
    return dir;
}

void rewrite_case_json(const fs::path& dir, const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j;
    std::ifstream(dir / "case.json") >> j;
    edit(j);
    std::ofstream(dir / "case.json") << j.dump(2);
}

}  // namespace

BOOST_AUTO_TEST_CASE(passes_a_good_case_and_writes_outputs) {
    const fs::path out = fs::temp_directory_path() / ("cascadev_golden_out_" + std::to_string(::getpid()) + ".safetensors");
    const auto r = run_runner(vendored.string() + " --out " + out.string());
    BOOST_TEST(r.code == 0, r.output);
    BOOST_TEST(r.output.find("PASS y") != std::string::npos, r.output);
    // The written outputs reload and agree with the recorded ones.
    io::SafetensorsReader got(out), want(vendored / "io.safetensors");
    const auto a = got.load<float, 4>("y");
    const auto b = want.load<float, 4>("y");
    BOOST_REQUIRE(a.dims() == b.dims());
    for (index_t i = 0; i < a.size(); ++i) BOOST_TEST(std::abs(a.data()[i] - b.data()[i]) < 1e-5f);
    fs::remove(out);
}

BOOST_AUTO_TEST_CASE(fails_when_the_expected_output_is_altered) {
    const fs::path dir = copy_case("tampered");
    {
        io::SafetensorsReader r(dir / "io.safetensors");
        auto x = r.load<float, 4>("x");
        auto y = r.load<float, 4>("y");
        y.data()[7] += 0.05f;  // one element off: rel-L2 ~1e-3, far above the 1e-5 tolerance
        io::SafetensorsWriter w;
        w.add("x", x);
        w.add("y", y);
        w.write(dir / "io.tmp.safetensors");
    }
    fs::rename(dir / "io.tmp.safetensors", dir / "io.safetensors");
    const auto r = run_runner(dir.string());
    BOOST_TEST(r.code == 1, r.output);
    BOOST_TEST(r.output.find("FAIL y") != std::string::npos, r.output);
    fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(fails_when_the_tolerance_is_tightened_below_the_error) {
    const fs::path dir = copy_case("tight");
    rewrite_case_json(dir, [](nlohmann::json& j) { j["outputs"]["y"]["tol"] = 0.0; j["outputs"]["y"]["max_abs"] = 0.0; });
    const auto r = run_runner(dir.string());
    // float32 positions differ from the recorded ones by rounding, so exactness fails.
    BOOST_TEST(r.code == 1, r.output);
    fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(unknown_component_is_an_error_not_a_skip) {
    const fs::path dir = copy_case("unknown");
    rewrite_case_json(dir, [](nlohmann::json& j) { j["component"] = "no.such.component"; });
    const auto r = run_runner(dir.string());
    BOOST_TEST(r.code == 2, r.output);
    BOOST_TEST(r.output.find("unknown component") != std::string::npos, r.output);
    fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(missing_expected_output_is_an_error) {
    const fs::path dir = copy_case("missing");
    rewrite_case_json(dir, [](nlohmann::json& j) { j["outputs"]["z"] = {{"tol", 1e-5}}; });
    const auto r = run_runner(dir.string());
    BOOST_TEST(r.code != 0, r.output);
    BOOST_TEST(r.output.find("z") != std::string::npos, r.output);
    fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(bad_params_name_the_key) {
    const fs::path dir = copy_case("badparams");
    rewrite_case_json(dir, [](nlohmann::json& j) { j["params"] = {{"size", {3, 4}}, {"scale", 2}}; });
    const auto r = run_runner(dir.string());
    BOOST_TEST(r.code == 2, r.output);
    BOOST_TEST(r.output.find("exactly one of") != std::string::npos, r.output);
    fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(no_case_folder_is_an_error) {
    const auto r = run_runner("/nonexistent/case/folder");
    BOOST_TEST(r.code == 2, r.output);
    BOOST_TEST(r.output.find("/nonexistent/case/folder") != std::string::npos, r.output);
}
