#pragma once
// What every example program does the same way: parse the command line, and turn any
// error into one line on stderr with a fixed exit code (0 ok, 1 error, 2 usage error).
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>

#ifdef CASCADEV_HAVE_FFMPEG
extern "C" {
#include <libavutil/log.h>
}
#endif

namespace cascadev::examples {

/// A bad command line: reported with "(see --help)", exit 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Error text on one line (multi-line messages list their items after "; ").
inline std::string one_line(std::string s) {
    for (std::size_t p; (p = s.find("\n  ")) != std::string::npos;) s.replace(p, 3, "; ");
    for (auto& c : s)
        if (c == '\n') c = ' ';
    return s;
}

/// Parses argv into `vm` (options `od`, positionals `pos`); true when --help was asked
/// (the help text is printed). Throws UsageError on a bad command line.
inline bool parse_command_line(int argc, char** argv, const boost::program_options::options_description& od,
                               const boost::program_options::positional_options_description& pos,
                               boost::program_options::variables_map& vm) {
    namespace po = boost::program_options;
    try {
        po::store(po::command_line_parser(argc, argv).options(od).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw UsageError(e.what());
    }
    if (vm.count("help")) {
        std::cout << od << "\n";
        return true;
    }
    return false;
}

/// --weights DIR and --variant NAME, as every program that loads the models takes them.
inline void add_weight_options(boost::program_options::options_description& od, std::string& weights,
                               std::string& variant) {
    namespace po = boost::program_options;
    od.add_options()("weights", po::value(&weights),
                     "folder with the released weight files (or one combined weights.safetensors)")(
        "variant", po::value(&variant)->default_value(variant), "model variant: released | tiny");
}

/// Runs `body()` (returning the exit code) and reports any exception as one line:
/// "PROGRAM: MESSAGE (see --help)" exit 2 for usage errors, "PROGRAM: error: MESSAGE"
/// exit 1 otherwise.
template <class Body>
int guarded_main(const char* program, Body&& body) {
#ifdef CASCADEV_HAVE_FFMPEG
    av_log_set_level(AV_LOG_FATAL);  // our errors carry FFmpeg's reason; no log lines beside them
#endif
    try {
        return std::forward<Body>(body)();
    } catch (const UsageError& e) {
        std::fprintf(stderr, "%s: %s (see --help)\n", program, e.what());
        return 2;
    } catch (const boost::program_options::error& e) {
        std::fprintf(stderr, "%s: %s (see --help)\n", program, e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: error: %s\n", program, one_line(e.what()).c_str());
        return 1;
    }
}

}  // namespace cascadev::examples
