// cascadev-metrics: PSNR / SSIM (docs/reference/metrics.md) and, with --lpips DIR, LPIPS
// (docs/lpips.md) between two clips, per frame and mean.
//
//   cascadev-metrics A B [--key frames] [--key-b frames] [--frames N] [--json OUT.json] [--lpips DIR]
//
// A and B: .safetensors files holding uint8 clips [T, H, W, 3] (under --key, default
// "frames", as cascadev-reconstruct writes them without FFmpeg) or, when built with
// FFmpeg, video files / image sequences (decoded to RGB). The clips must have the same shape
// (with --frames N only the first N frames of each are compared). Prints a table; --json
// writes the values atomically. Exit 0, 1 on an error (one line), 2 on a usage error.
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cascadev/video/metrics.hpp"
#include "../common/cli.hpp"
#include "../common/clip_input.hpp"
#include "../common/lpips_choice.hpp"
#include "../common/outputs.hpp"

namespace po = boost::program_options;
using namespace cascadev;

namespace {

/// The clip as RGB: .safetensors clips as stored, decoded videos converted from BGR.
video::Clip read_rgb_clip(const std::string& path, const std::string& key, index_t frames) {
    auto c = examples::read_input_clip(path, frames, key).frames;
    if (std::filesystem::path(path).extension() == ".safetensors") return c;
#ifdef CASCADEV_HAVE_FFMPEG
    return video::swap_rb(c.view());
#else
    return c;
#endif
}

}  // namespace

int main(int argc, char** argv) {
    std::string a, b, key = "frames", key_b, json, lpips_dir, lpips_variant = "alex";
    index_t frames = 0;
    po::options_description od("cascadev-metrics: PSNR / SSIM between two clips\nusage: cascadev-metrics A B [options]\noptions");
    od.add_options()("help,h", "this help")("a", po::value(&a), "first clip")("b", po::value(&b), "second clip")(
        "key", po::value(&key)->default_value(key), "tensor name in .safetensors inputs")(
        "key-b", po::value(&key_b), "tensor name in B (default: --key)")(
        "frames", po::value(&frames)->default_value(frames), "compare only the first N frames (0 = all)")(
        "json", po::value(&json), "also write the values as JSON to this file")(
        "lpips", po::value(&lpips_dir), examples::lpips_help)(
        "lpips-variant", po::value(&lpips_variant)->default_value(lpips_variant), "alex | alex_tiny (tests)");
    po::positional_options_description pos;
    pos.add("a", 1).add("b", 1);
    return examples::guarded_main("cascadev-metrics", [&] {
        po::variables_map vm;
        if (examples::parse_command_line(argc, argv, od, pos, vm)) return 0;
        if (a.empty() || b.empty()) throw examples::UsageError("two clips A and B are required");
        if (!json.empty()) examples::check_output_file(json, "--json");
        const auto ca = read_rgb_clip(a, key, frames);
        const auto cb = read_rgb_clip(b, key_b.empty() ? key : key_b, frames);
        const auto lpips = examples::load_lpips(lpips_dir, lpips_variant);
        const auto m = video::compute_metrics(ca.view(), cb.view());
        const auto lp = lpips ? lpips(ca.view(), cb.view()) : models::LpipsResult{};
        std::printf("%s", examples::metrics_text(m, lp.distance).c_str());
        if (!json.empty()) {
            nlohmann::json j = examples::metrics_json(m);
            if (lpips) {
                j["lpips"] = lp.distance;
                j["lpips_mean"] = lp.mean();
            }
            j["a"] = a;
            j["b"] = b;
            examples::write_text(json, j.dump(2) + "\n");
        }
        return 0;
    });
}
