// cascadev-golden CASE_DIR [--out FILE] [--device cpu|cuda]
// Runs one golden case: computes the component's outputs, compares each with the
// recorded one, prints a line per output. Exit: 0 pass, 1 an output failed,
// 2 bad case / unknown component / error, 77 a specified component not implemented yet.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "compare.hpp"
#include "components.hpp"

namespace po = boost::program_options;
using namespace cascadev;
using namespace cascadev::golden;

namespace {

constexpr int exit_fail = 1, exit_error = 2, exit_not_implemented = 77;

void write_outputs(const Outputs& outs, const std::string& path) {
    io::SafetensorsWriter w;
    for (const auto& [name, a] : outs) w.add_raw(name, a.dtype, a.shape, a.bytes);
    w.write(path);
}

int run(const std::string& dir, const std::string& device, const std::string& out_path) {
    const GoldenCase c(dir);
    const auto& table = components();
    const auto it = table.find(c.component());
    if (it == table.end()) {
        if (specified_components().count(c.component())) {
            std::printf("NOT IMPLEMENTED %s: component %s is not implemented yet\n", dir.c_str(), c.component().c_str());
            return exit_not_implemented;
        }
        std::printf("ERROR %s: unknown component \"%s\"\n", dir.c_str(), c.component().c_str());
        return exit_error;
    }
    const Outputs got = it->second(c, device);
    if (!out_path.empty()) write_outputs(got, out_path);

    bool all_pass = true;
    for (const auto& want : c.outputs()) {
        const auto g = got.find(want.name);
        if (g == got.end()) {
            std::printf("FAIL %-12s not computed by component %s\n", want.name.c_str(), c.component().c_str());
            all_pass = false;
            continue;
        }
        const Comparison r = compare(g->second, c.io(), want);
        std::printf("%s %-12s rel_l2=%.3e tol=%.1e max_abs_err=%.3e", r.pass ? "PASS" : "FAIL", want.name.c_str(),
                    r.rel_l2, want.tol, r.max_abs_err);
        if (want.max_abs) std::printf(" max_abs=%.3g", *want.max_abs);
        if (!r.detail.empty()) std::printf(" (%s)", r.detail.c_str());
        std::printf("\n");
        all_pass = all_pass && r.pass;
    }
    for (const auto& chk : self_checks()) {
        std::printf("%s %-12s%s%s\n", chk.pass ? "PASS" : "FAIL", chk.name.c_str(), chk.detail.empty() ? "" : " ",
                    chk.detail.c_str());
        all_pass = all_pass && chk.pass;
    }
    std::printf("%s %s [%s, %s]\n", all_pass ? "PASSED" : "FAILED", dir.c_str(), c.component().c_str(), device.c_str());
    return all_pass ? 0 : exit_fail;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir, out, device = "cpu";
    po::options_description opts("cascadev-golden CASE_DIR [options]");
    opts.add_options()("help,h", "show this help")                                         //
        ("case", po::value(&dir), "golden case folder (holding case.json)")                 //
        ("out", po::value(&out), "write the computed outputs to this safetensors file")     //
        ("device", po::value(&device)->default_value("cpu"), "cpu or cuda")                  //
        ("list", "list the implemented components and exit");
    po::positional_options_description pos;
    pos.add("case", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(opts).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::fprintf(stderr, "cascadev-golden: %s\n%s", e.what(), "try --help\n");
        return exit_error;
    }
    if (vm.count("help")) {
        std::cout << opts;
        return 0;
    }
    if (vm.count("list")) {
        for (const auto& [name, fn] : components()) std::printf("%s\n", name.c_str());
        return 0;
    }
    if (dir.empty()) {
        std::fprintf(stderr, "cascadev-golden: no case folder given (try --help)\n");
        return exit_error;
    }
    if (device != "cpu" && device != "cuda") {
        std::fprintf(stderr, "cascadev-golden: --device must be cpu or cuda, got \"%s\"\n", device.c_str());
        return exit_error;
    }
    try {
        return run(dir, device, out);
    } catch (const std::exception& e) {
        std::printf("ERROR %s: %s\n", dir.c_str(), e.what());
        return exit_error;
    }
}
