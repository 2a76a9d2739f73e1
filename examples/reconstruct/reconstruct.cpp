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
#include <nlohmann/json.hpp>
#include <string>

#include "cascadev/io/safetensors.hpp"
#include "cascadev/vae.hpp"
#include "../common/cli.hpp"
#include "../common/clip_input.hpp"
#include "../common/noise_choice.hpp"
#include "../common/outputs.hpp"
#include "../common/progress_bar.hpp"
#include "../common/recon_options.hpp"
#include "../common/synthetic_clip.hpp"
#include "../common/variants.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace cascadev;
using examples::UsageError;

namespace {

struct Args : examples::ReconArgs {
    std::string input, out;
    index_t demo_frames = 8, demo_size = 64;
    std::uint64_t weights_seed = 4242;
    bool demo = false, quiet = false;
};

template <class V>
int run(const Args& a) {
    pipeline::ReconstructOptions opt = a.options();
    auto noise = examples::make_noise(a.rng, a.seed);

    pipeline::Stopwatch total;
    // Input (before any weights: a bad input fails fast).
    examples::InputClip in;
    {
        pipeline::Stopwatch sw;
        in = a.demo ? examples::InputClip{examples::synthetic_clip(a.demo_frames, a.demo_size), 0.0}
                    : examples::read_input_clip(a.input, a.frames, "frames", a.stride);
        if (!a.quiet) std::fprintf(stderr, "input    %s: %lld frame(s) of %lldx%lld (%.2fs)\n",
                                   a.demo ? "synthetic pattern" : a.input.c_str(), (long long)in.frames.extent(0),
                                   (long long)in.frames.extent(1), (long long)in.frames.extent(2), sw.seconds());
    }
    const video::Clip& clip = in.frames;
    try {
        pipeline::check_reconstruct<typename V::dit>(clip.extent(0), clip.extent(1), clip.extent(2), opt);
    } catch (const std::exception& e) {
        fail(a.demo ? std::string("demo clip") : a.input, ": ", e.what());
    }

    examples::StagedOutputs staging(a.out.empty() ? fs::path(a.demo ? "demo_out" : "recon_out") : fs::path(a.out));

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
    const pipeline::Reconstruction r = vae.reconstruct(clip.view(), opt, noise, progress);
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
        w.set_metadata("rng", a.rng);
        w.write(staging / "latent.safetensors");
    }
    examples::write_clip(staging, "preview", r.preview_u8.view(), in.fps > 0 ? in.fps : a.fps);
    examples::write_clip(staging, "reconstruction", r.decoded_u8.view(), a.fps);
#ifdef CASCADEV_HAVE_FFMPEG
    {  // The comparison (recon.sh's cmp.mp4 / cmp.png): input | preview | reconstruction.
        const video::VideoTensor input = video::frames_to_video(r.input.view(), false);
        const video::Clip cmp = video::side_by_side({input.view(), r.preview.view(), r.decoded.view()});
        examples::write_clip(staging, "cmp", cmp.view(), a.fps);
    }
#endif
    const auto& m = r.metrics;
    examples::write_text(staging / "metrics.txt", examples::metrics_text(m));
    nlohmann::json j = examples::metrics_json(m);
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
    examples::write_text(staging / "metrics.json", j.dump(2) + "\n");
    const auto files = staging.commit();
    const double write_s = write_sw.seconds();

    std::printf("stage timings (s): load %.3f  preprocess %.3f  encode %.3f  preview %.3f  refine %.3f  decode %.3f  "
                "metrics %.3f  write %.3f  total %.3f\n",
                load_s, r.seconds.preprocess, r.seconds.encode, r.seconds.preview, r.seconds.refine, r.seconds.decode,
                r.seconds.metrics, write_s, total.seconds());
    std::printf("%s", examples::metrics_text(m).c_str());
    examples::print_written(files);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Args a;
    po::options_description od("cascadev-reconstruct: CascadeV reconstruction (recon.sh) of a clip\n"
                                "usage: cascadev-reconstruct INPUT --weights DIR [options] | --demo [options]\noptions");
    od.add_options()("help,h", "this help")("input", po::value(&a.input), "video file, image sequence or .safetensors frames")(
        "out", po::value(&a.out), "output folder (default recon_out, demo_out with --demo)");
    a.add_to(od);
    od.add_options()("demo", po::bool_switch(&a.demo), "run the whole chain on a synthetic clip with tiny random models")(
        "demo-frames", po::value(&a.demo_frames)->default_value(a.demo_frames), "frames of the demo clip")(
        "demo-size", po::value(&a.demo_size)->default_value(a.demo_size), "side of the demo clip (multiple of 32, >= 64)")(
        "weights-seed", po::value(&a.weights_seed)->default_value(a.weights_seed), "seed of the demo's random weights")(
        "quiet,q", po::bool_switch(&a.quiet), "no progress on stderr");
    po::positional_options_description pos;
    pos.add("input", 1);
    return examples::guarded_main("cascadev-reconstruct", [&] {
        po::variables_map vm;
        if (examples::parse_command_line(argc, argv, od, pos, vm)) return 0;
        if (a.demo) {
            if (!a.input.empty() || !a.weights.empty()) throw UsageError("--demo takes no INPUT and no --weights");
            a.frames = 0;  // the whole synthetic clip
            a.size = a.demo_size;
            return run<vae::Tiny>(a);
        }
        if (a.input.empty()) throw UsageError("no INPUT given (or use --demo)");
        if (a.weights.empty()) throw UsageError("--weights DIR is required");
        return examples::with_vae_variant(a.variant, [&](auto v) { return run<decltype(v)>(a); });
    });
}
