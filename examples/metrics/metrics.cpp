// cascadev-metrics: PSNR / SSIM (docs/reference/metrics.md) between two clips, per frame and mean.
//
//   cascadev-metrics A B [--key frames] [--key-b frames] [--frames N] [--json OUT.json]
//
// A and B: .safetensors files holding uint8 clips [T, H, W, 3] (under --key, default
// "frames", as cascadev-reconstruct writes them without FFmpeg) or, when built with
// FFmpeg, video files / image sequences (decoded to RGB). The clips must have the same shape
// (with --frames N only the first N frames of each are compared). Prints a table; --json
// writes the values atomically. Exit 0, 1 on an error (one line), 2 on a usage error.
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cascadev/io/atomic_file.hpp"
#include "cascadev/io/safetensors.hpp"
#include "cascadev/video/metrics.hpp"
#ifdef CASCADEV_HAVE_FFMPEG
#include "cascadev/video/video_io.hpp"
#endif

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace cascadev;

namespace {

video::Clip read_clip(const std::string& path, const std::string& key, index_t frames) {
    const fs::path p(path);
    if (p.extension() == ".safetensors") {
        const io::SafetensorsReader r(p);
        if (!r.contains(key)) fail(p.string(), ": no tensor \"", key, "\" (a uint8 clip [T, H, W, 3])");
        auto c = r.load<std::uint8_t, 4>(key);
        if (frames > 0 && c.extent(0) > frames) {
            video::Clip t(frames, c.extent(1), c.extent(2), c.extent(3));
            std::copy_n(c.data(), t.size(), t.data());
            return t;
        }
        return c;
    }
#ifdef CASCADEV_HAVE_FFMPEG
    const auto ext = p.extension().string();
    if (fs::is_directory(p) || path.find_first_of("*?[") != std::string::npos || ext == ".png" || ext == ".jpg")
        return video::swap_rb(video::read_image_sequence(p).view());
    if (!fs::exists(p)) fail(p.string(), ": no such file");
    const index_t n = frames > 0 ? frames : video::probe(p).frames;
    return video::swap_rb(video::read_frames(p, 0, n, 1).view());
#else
    fail(p.string(), ": this build has no FFmpeg; give uint8 clips as .safetensors files");
#endif
}

}  // namespace

int main(int argc, char** argv) {
    std::string a, b, key = "frames", key_b, json;
    index_t frames = 0;
    po::options_description od("cascadev-metrics: PSNR / SSIM between two clips\nusage: cascadev-metrics A B [options]\noptions");
    od.add_options()("help,h", "this help")("a", po::value(&a), "first clip")("b", po::value(&b), "second clip")(
        "key", po::value(&key)->default_value(key), "tensor name in .safetensors inputs")(
        "key-b", po::value(&key_b), "tensor name in B (default: --key)")(
        "frames", po::value(&frames)->default_value(frames), "compare only the first N frames (0 = all)")(
        "json", po::value(&json), "also write the values as JSON to this file");
    po::positional_options_description pos;
    pos.add("a", 1).add("b", 1);
#ifdef CASCADEV_HAVE_FFMPEG
    av_log_set_level(AV_LOG_ERROR);
#endif
    try {
        po::variables_map vm;
        po::store(po::command_line_parser(argc, argv).options(od).positional(pos).run(), vm);
        po::notify(vm);
        if (vm.count("help")) {
            std::cout << od << "\n";
            return 0;
        }
        if (a.empty() || b.empty()) throw po::error("two clips A and B are required");
    } catch (const po::error& e) {
        std::fprintf(stderr, "cascadev-metrics: %s (see --help)\n", e.what());
        return 2;
    }
    try {
        const auto ca = read_clip(a, key, frames);
        const auto cb = read_clip(b, key_b.empty() ? key : key_b, frames);
        const auto m = video::compute_metrics(ca.view(), cb.view());
        std::printf("frame   psnr_db     ssim\n");
        for (std::size_t t = 0; t < m.psnr.size(); ++t) std::printf("%5zu  %8.4f  %8.5f\n", t, m.psnr[t], m.ssim[t]);
        std::printf(" mean  %8.4f  %8.5f\n", m.psnr_mean, m.ssim_mean);
        if (!json.empty()) {
            nlohmann::json j{{"a", a}, {"b", b}, {"psnr", m.psnr}, {"ssim", m.ssim},
                             {"psnr_mean", m.psnr_mean}, {"ssim_mean", m.ssim_mean}};
            const std::string text = j.dump(2) + "\n";
            io::write_atomically(json, [&](std::FILE* f) {
                if (std::fwrite(text.data(), 1, text.size(), f) != text.size()) fail(json, ": write failed");
            });
        }
        return 0;
    } catch (const std::exception& e) {
        std::string s = e.what();
        for (auto& c : s)
            if (c == '\n') c = ' ';
        std::fprintf(stderr, "cascadev-metrics: error: %s\n", s.c_str());
        return 1;
    }
}
