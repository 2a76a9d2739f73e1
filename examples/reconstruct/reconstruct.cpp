// cascadev-reconstruct: CascadeV's recon.sh as one program (docs/reference/pipeline.md):
// read a clip, preprocess, encode, preview, refine, decode, and compare.
//
//   cascadev-reconstruct INPUT --weights DIR [--variant released|tiny] [--out DIR]
//                        [--size 1024] [--frames 8] [--fps 8] [--sampler euler_a]
//                        [--steps 8] [--seed 42] [--rng torch|philox] [--slice-size 4]
//   cascadev-reconstruct --demo [--out demo_out] [--seed 42] [--steps 8]
//
// INPUT: a video file or a PNG / image sequence (folder or glob) when built with FFmpeg,
// or a .safetensors file holding BGR uint8 frames [T, H, W, 3] under "frames" (always).
// --weights: a folder with the released files by their published names
// (effnet_encoder.safetensors, previewer.safetensors, s1024.effn-f32.pth,
// vae/diffusion_pytorch_model.fp16.safetensors; also in DIR/pretrained/) or one combined
// weights.safetensors (stage prefixes, as the golden case pipeline.recon).
// --demo: the whole chain with the tiny models, deterministic random weights (seeded) and a
// synthetic moving pattern (8 frames of 64 x 64); prints stage timings and metrics.
//
// Writes into --out (created if needed): latent.safetensors (latent [1, 16, T, h, w],
// refined [1, 4, T, 4h, 4w]), preview.mp4/.png, reconstruction.mp4/.png and the side-by-side
// comparison cmp.mp4/.png (input | preview | reconstruction) (with FFmpeg;
// the PNGs stack the first <= 16 frames vertically, as recon.sh's enc.jpg), else
// preview.safetensors / reconstruction.safetensors (RGB uint8 frames [T, H, W, 3] under
// "frames"), metrics.txt and metrics.json (PSNR / SSIM per frame and means). Everything is
// first written to a staging folder inside --out and renamed into place at the end, so an
// error leaves no partial output. Errors: one line on stderr, exit 1 (2 for usage errors).
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cascadev/io/atomic_file.hpp"
#include "cascadev/io/safetensors.hpp"
#include "cascadev/vae.hpp"
#include "../common/progress_bar.hpp"
#ifdef CASCADEV_HAVE_FFMPEG
#include "cascadev/video/video_io.hpp"
#endif

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace cascadev;

namespace {

struct Args {
    std::string input, weights, variant = "released", out, sampler = "euler_a", rng = "torch";
    index_t size = 1024, frames = 8, slice_size = 4, demo_frames = 8, demo_size = 64;
    double fps = 8;
    int steps = 8;
    std::uint64_t seed = 42, weights_seed = 4242;
    bool demo = false, quiet = false;
};

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// A synthetic moving pattern, BGR uint8 [T, S, S, 3]: diagonal stripes drifting right, a
/// bright disc moving along a circle, a vertical colour gradient.
video::Clip demo_clip(index_t T, index_t S) {
    video::Clip c(T, S, S, index_t(3));
    const double pi = 3.14159265358979323846;
    for (index_t t = 0; t < T; ++t) {
        const double cx = S * (0.5 + 0.25 * std::cos(2 * pi * t / T)), cy = S * (0.5 + 0.25 * std::sin(2 * pi * t / T));
        for (index_t y = 0; y < S; ++y)
            for (index_t x = 0; x < S; ++x) {
                const double stripe = 0.5 + 0.5 * std::sin(2 * pi * (x + y + 3.0 * t) / 16.0);
                const double d = std::hypot(x - cx, y - cy);
                const double disc = d < S / 6.0 ? 1.0 : 0.0;
                const double b = 40 + 150 * stripe, g = 255.0 * y / S, r = 60 + 195 * disc;
                c(t, y, x, 0) = std::uint8_t(std::min(255.0, b * (1 - disc) + 255 * disc));
                c(t, y, x, 1) = std::uint8_t(std::min(255.0, g));
                c(t, y, x, 2) = std::uint8_t(std::min(255.0, r));
            }
    }
    return c;
}

/// The input clip (BGR uint8 [T, H, W, 3]) and its frame rate (0 when unknown).
std::pair<video::Clip, double> read_input(const Args& a) {
    const fs::path p(a.input);
    if (p.extension() == ".safetensors") {
        const io::SafetensorsReader r(p);
        if (!r.contains("frames")) fail(p.string(), ": no tensor \"frames\" (BGR uint8 [T, H, W, 3])");
        return {r.load<std::uint8_t, 4>("frames"), 0.0};
    }
#ifdef CASCADEV_HAVE_FFMPEG
    const auto ext = p.extension().string();
    if (fs::is_directory(p) || a.input.find_first_of("*?[") != std::string::npos || ext == ".png" || ext == ".jpg")
        return {video::read_image_sequence(p), 0.0};
    if (!fs::exists(p)) fail(p.string(), ": no such file");
    const auto info = video::probe(p);
    const index_t n = a.frames > 0 ? a.frames : info.frames;
    return {video::read_frames(p, 0, n, 1), info.fps};
#else
    fail(p.string(), ": this build has no FFmpeg (cascadev::video_io); give the frames as a .safetensors file ",
         "(BGR uint8 [T, H, W, 3] under \"frames\")");
#endif
}

/// Up to 16 frames of an RGB clip stacked vertically (recon.sh's enc.jpg).
video::Frame stack_frames(const video::ClipView& c) {
    const index_t n = std::min<index_t>(c.extent(0), 16), H = c.extent(1), W = c.extent(2);
    video::Frame f(n * H, W, index_t(3));
    std::copy_n(c.data(), n * H * W * 3, f.data());
    return f;
}

std::string metrics_text(const video::MetricsResult& m) {
    std::string s = "frame   psnr_db     ssim\n";
    char line[128];
    for (std::size_t t = 0; t < m.psnr.size(); ++t) {
        std::snprintf(line, sizeof line, "%5zu  %8.4f  %8.5f\n", t, m.psnr[t], m.ssim[t]);
        s += line;
    }
    std::snprintf(line, sizeof line, " mean  %8.4f  %8.5f\n", m.psnr_mean, m.ssim_mean);
    return s + line;
}

void write_text(const fs::path& path, const std::string& text) {
    io::write_atomically(path, [&](std::FILE* f) {
        if (std::fwrite(text.data(), 1, text.size(), f) != text.size()) fail(path.string(), ": write failed");
    });
}

/// A staging folder inside --out: files are written there and moved into place by commit();
/// the destructor removes whatever was not committed.
class Staging {
public:
    explicit Staging(const fs::path& out) : out_(out) {
        created_ = !fs::exists(out_);
        fs::create_directories(out_);
        dir_ = out_ / (".cascadev-staging-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directory(dir_);
    }
    ~Staging() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
        if (created_ && !committed_ && fs::is_empty(out_, ec)) fs::remove(out_, ec);  // leave nothing behind
    }
    fs::path operator/(const std::string& name) const {
        names_.push_back(name);
        return dir_ / name;
    }
    std::vector<fs::path> commit() {
        std::vector<fs::path> done;
        committed_ = true;
        for (const auto& n : names_)
            if (fs::exists(dir_ / n)) {
                fs::rename(dir_ / n, out_ / n);
                done.push_back(out_ / n);
            }
        return done;
    }

private:
    fs::path out_, dir_;
    bool created_ = false, committed_ = false;
    mutable std::vector<std::string> names_;
};

template <class V>
int run(const Args& a) {
    pipeline::ReconstructOptions opt;
    opt.encode.frames = a.demo ? 0 : a.frames;
    opt.encode.preprocess.short_edge = a.demo ? a.demo_size : a.size;
    opt.refine.sampler = diffusion::parse_sampler(a.sampler);
    opt.refine.steps = a.steps;
    opt.refine.seed = a.seed;
    opt.decode.slice_size = a.slice_size;
    pipeline::check_refine_options(opt.refine);
    if (a.rng != "torch" && a.rng != "philox") throw UsageError("--rng: expected torch or philox, got \"" + a.rng + "\"");

    pipeline::Stopwatch total;
    // Input (before any weights: a bad input fails fast).
    video::Clip clip;
    double src_fps = 0;
    {
        pipeline::Stopwatch sw;
        if (a.demo) {
            clip = demo_clip(a.demo_frames, a.demo_size);
        } else {
            auto [c, fps] = read_input(a);
            clip = std::move(c);
            src_fps = fps;
        }
        if (!a.quiet) std::fprintf(stderr, "input    %s: %lld frame(s) of %lldx%lld (%.2fs)\n",
                                   a.demo ? "synthetic pattern" : a.input.c_str(), (long long)clip.extent(0),
                                   (long long)clip.extent(1), (long long)clip.extent(2), sw.seconds());
    }
    pipeline::check_reconstruct<typename V::dit>(clip.extent(0), clip.extent(1), clip.extent(2), opt);

    const fs::path out = a.out.empty() ? fs::path(a.demo ? "demo_out" : "recon_out") : fs::path(a.out);
    Staging staging(out);

    VideoVAE<V> vae;
    double load_s = 0;
    {
        pipeline::Stopwatch sw;
        if (a.demo) vae.load_random(a.weights_seed, vae::all_stages);
        else vae.load_directory(a.weights);
        load_s = sw.seconds();
        if (!a.quiet) std::fprintf(stderr, "weights  %s (%.2fs)\n", a.demo ? "random (seeded)" : a.weights.c_str(), load_s);
    }

    const index_t T = opt.encode.frames > 0 ? opt.encode.frames : clip.extent(0);
    examples::ProgressBar bar(!a.quiet);
    bar.set_frames_per_step("refine", double(T));
    bar.set_frames_per_step("decode", double(opt.decode.slice_size));
    pipeline::Progress progress = [&](std::string_view s, int step, int n) { bar(s, step, n); };

    pipeline::Reconstruction r;
    if (a.rng == "philox") {
        diffusion::PhiloxGenerator gen(a.seed);
        r = vae.reconstruct(clip.view(), opt, gen, progress);
    } else {
        r = vae.reconstruct(clip.view(), opt, progress);
    }
    bar.close();

    // Outputs.
    pipeline::Stopwatch write_sw;
    {
        io::SafetensorsWriter w;
        w.add("latent", r.latent);
        w.add("refined", r.refined);
        w.set_metadata("variant", V::name);
        w.set_metadata("sampler", a.sampler);
        w.set_metadata("steps", std::to_string(a.steps));
        w.set_metadata("seed", std::to_string(a.seed));
        w.write(staging / "latent.safetensors");
    }
#ifdef CASCADEV_HAVE_FFMPEG
    video::write_mp4(staging / "preview.mp4", r.preview_u8.view(), src_fps > 0 ? src_fps : a.fps);
    video::write_mp4(staging / "reconstruction.mp4", r.decoded_u8.view(), a.fps);
    video::write_png(staging / "preview.png", stack_frames(r.preview_u8.view()).view());
    video::write_png(staging / "reconstruction.png", stack_frames(r.decoded_u8.view()).view());
    {  // The comparison (recon.sh's cmp.mp4 / cmp.png): input | preview | reconstruction.
        const video::VideoTensor input = video::frames_to_video(r.input.view(), false);
        const video::Clip cmp = video::side_by_side({input.view(), r.preview.view(), r.decoded.view()});
        video::write_mp4(staging / "cmp.mp4", cmp.view(), a.fps);
        video::write_png(staging / "cmp.png", stack_frames(cmp.view()).view());
    }
#else
    (void)src_fps;
    (void)stack_frames;
    for (const auto& [name, c] : {std::pair<const char*, const video::Clip*>{"preview.safetensors", &r.preview_u8},
                                  {"reconstruction.safetensors", &r.decoded_u8}}) {
        io::SafetensorsWriter w;
        w.add("frames", *c);
        w.set_metadata("layout", "RGB uint8 [T, H, W, 3]");
        w.write(staging / name);
    }
#endif
    const auto& m = r.metrics;
    write_text(staging / "metrics.txt", metrics_text(m));
    nlohmann::json j;
    j["psnr"] = m.psnr;  // +inf (identical frames) is written as null
    j["ssim"] = m.ssim;
    j["psnr_mean"] = m.psnr_mean;
    j["ssim_mean"] = m.ssim_mean;
    j["frames"] = r.input.extent(0);
    j["height"] = r.input.extent(1);
    j["width"] = r.input.extent(2);
    j["variant"] = V::name;
    j["sampler"] = a.sampler;
    j["steps"] = a.steps;
    j["seed"] = a.seed;
    j["rng"] = a.rng;
    j["seconds"] = {{"load", load_s},          {"preprocess", r.seconds.preprocess}, {"encode", r.seconds.encode},
                    {"preview", r.seconds.preview}, {"refine", r.seconds.refine},   {"decode", r.seconds.decode},
                    {"metrics", r.seconds.metrics}};
    write_text(staging / "metrics.json", j.dump(2) + "\n");
    const auto files = staging.commit();
    const double write_s = write_sw.seconds();

    std::printf("stage timings (s): load %.3f  preprocess %.3f  encode %.3f  preview %.3f  refine %.3f  decode %.3f  "
                "metrics %.3f  write %.3f  total %.3f\n",
                load_s, r.seconds.preprocess, r.seconds.encode, r.seconds.preview, r.seconds.refine, r.seconds.decode,
                r.seconds.metrics, write_s, total.seconds());
    std::printf("%s", metrics_text(m).c_str());
    std::printf("wrote");
    for (const auto& f : files) std::printf(" %s", f.string().c_str());
    std::printf("\n");
    return 0;
}

/// Error text on one line.
std::string one_line(std::string s) {
    for (std::size_t p; (p = s.find("\n  ")) != std::string::npos;) s.replace(p, 3, "; ");
    for (auto& c : s)
        if (c == '\n') c = ' ';
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    Args a;
    po::options_description od("cascadev-reconstruct: CascadeV reconstruction (recon.sh) of a clip\n"
                                "usage: cascadev-reconstruct INPUT --weights DIR [options] | --demo [options]\noptions");
    od.add_options()("help,h", "this help")("input", po::value(&a.input), "video file, image sequence or .safetensors frames")(
        "weights", po::value(&a.weights), "folder with the released weight files (or one combined weights.safetensors)")(
        "variant", po::value(&a.variant)->default_value(a.variant), "model variant: released | tiny")(
        "out", po::value(&a.out), "output folder (default recon_out, demo_out with --demo)")(
        "size", po::value(&a.size)->default_value(a.size), "short edge after preprocessing (multiple of 32)")(
        "frames", po::value(&a.frames)->default_value(a.frames), "frames taken from the input (0 = all)")(
        "fps", po::value(&a.fps)->default_value(a.fps), "frame rate of the reconstruction video")(
        "sampler", po::value(&a.sampler)->default_value(a.sampler), "euler_a | ddim | dpms")(
        "steps", po::value(&a.steps)->default_value(a.steps), "sampler steps")(
        "seed", po::value(&a.seed)->default_value(a.seed), "noise seed")(
        "rng", po::value(&a.rng)->default_value(a.rng), "torch (PyTorch-CPU-compatible randn) | philox")(
        "slice-size", po::value(&a.slice_size)->default_value(a.slice_size), "frames per SVD decoder slice")(
        "demo", po::bool_switch(&a.demo), "run the whole chain on a synthetic clip with tiny random models")(
        "demo-frames", po::value(&a.demo_frames)->default_value(a.demo_frames), "frames of the demo clip")(
        "demo-size", po::value(&a.demo_size)->default_value(a.demo_size), "side of the demo clip (multiple of 32, >= 64)")(
        "weights-seed", po::value(&a.weights_seed)->default_value(a.weights_seed), "seed of the demo's random weights")(
        "quiet,q", po::bool_switch(&a.quiet), "no progress on stderr");
#ifdef CASCADEV_HAVE_FFMPEG
    av_log_set_level(AV_LOG_ERROR);  // no encoder statistics on stderr
#endif
    po::positional_options_description pos;
    pos.add("input", 1);
    try {
        po::variables_map vm;
        po::store(po::command_line_parser(argc, argv).options(od).positional(pos).run(), vm);
        po::notify(vm);
        if (vm.count("help")) {
            std::cout << od << "\n";
            return 0;
        }
        if (a.demo) {
            if (!a.input.empty() || !a.weights.empty()) throw UsageError("--demo takes no INPUT and no --weights");
            return run<vae::Tiny>(a);
        }
        if (a.input.empty()) throw UsageError("no INPUT given (or use --demo)");
        if (a.weights.empty()) throw UsageError("--weights DIR is required");
        if (a.variant == "released") return run<vae::Released>(a);
        if (a.variant == "tiny") return run<vae::Tiny>(a);
        throw UsageError("--variant: expected released or tiny, got \"" + a.variant + "\"");
    } catch (const UsageError& e) {
        std::fprintf(stderr, "cascadev-reconstruct: %s (see --help)\n", e.what());
        return 2;
    } catch (const po::error& e) {
        std::fprintf(stderr, "cascadev-reconstruct: %s (see --help)\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cascadev-reconstruct: error: %s\n", one_line(e.what()).c_str());
        return 1;
    }
}
