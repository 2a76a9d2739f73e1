// cascadev-decode: a CascadeV latent -> video (docs/reference/pipeline.md, stages 2-3).
//
//   cascadev-decode LATENT.safetensors OUT.mp4 --weights DIR [--variant released|tiny]
//                   [--key auto] [--slice-size 4] [--fps 8]
//                   [--sampler euler_a] [--steps 8] [--seed 42] [--rng torch|philox]
//
// LATENT: a file from cascadev-encode (the semantic latent [1, 16, T, h, w] under "latent":
// it is refined by the DiT with the sampler options, then decoded) or from cascadev-refine /
// cascadev-reconstruct (an SVD latent [1, 4, T, H, W] under "refined" or "latent": decoded
// directly). --key picks the tensor; by default "refined" if present, else "latent".
// --weights: the released files by their published names (the DiT's only when refining)
// or one combined weights.safetensors.
//
// OUT: a video (.mp4 / .mov / .mkv: H.264, .webm: VP9, .avi), .png (the first 16 frames
// stacked) or .safetensors (RGB uint8 frames [T, H, W, 3] under "frames"), written under a
// temporary name and renamed at the end.
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "cascadev/io/safetensors.hpp"
#include "cascadev/vae.hpp"
#include "../common/cli.hpp"
#include "../common/noise_choice.hpp"
#include "../common/outputs.hpp"
#include "../common/progress_bar.hpp"
#include "../common/variants.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace cascadev;

namespace {

struct Args {
    std::string input, output, weights, variant = "released", key, sampler = "euler_a", rng = "torch";
    index_t slice_size = 4;
    double fps = 8;
    int steps = 8;
    std::uint64_t seed = 42;
    bool quiet = false;
};

/// The latent's tensor name: --key, else "refined" when present, else "latent".
std::string latent_key(const io::SafetensorsReader& r, const Args& a) {
    if (!a.key.empty()) {
        if (!r.contains(a.key)) fail(a.input, ": no tensor \"", a.key, "\" (--key)");
        return a.key;
    }
    for (const char* k : {"refined", "latent"})
        if (r.contains(k)) return k;
    fail(a.input, ": no tensor \"refined\" or \"latent\" (give its name with --key)");
}

template <class V>
int run(const Args& a) {
    const fs::path out(a.output);
    examples::check_output_file(out, "OUT");
    examples::check_clip_file_type(out, "OUT");
    pipeline::RefineOptions ropt;
    ropt.sampler = diffusion::parse_sampler(a.sampler);
    ropt.steps = a.steps;
    ropt.seed = a.seed;
    pipeline::check_refine_options(ropt);
    pipeline::DecodeOptions dopt;
    dopt.slice_size = a.slice_size;
    auto noise = examples::make_noise(a.rng, a.seed);

    if (!fs::exists(a.input)) fail(a.input, ": no such file");
    const io::SafetensorsReader in(a.input);
    const std::string key = latent_key(in, a);
    const auto& shape = in.info(key).shape;
    if (shape.size() != 5 || shape[0] != 1 || (shape[1] != 16 && shape[1] != 4))
        fail(a.input, ": tensor \"", key, "\" has shape ", shape_str(shape),
             ", expected a semantic latent [1, 16, T, h, w] or an SVD latent [1, 4, T, H, W]");
    const bool semantic = shape[1] == 16;
    const auto latent = in.load<float, 5>(key);
    try {
        pipeline::check_decode(shape[2], dopt);
        if (semantic) pipeline::check_refine_input<typename V::dit>(latent, ropt);
    } catch (const std::exception& e) {
        fail(a.input, " (\"", key, "\" ", shape_str(shape), "): ", e.what());
    }

    VideoVAE<V> vae;
    vae.load_directory(a.weights, vae::decode_stage | (semantic ? unsigned(vae::refine_stage) : 0u));

    examples::ProgressBar bar(!a.quiet);
    bar.set_frames_per_step("refine", double(shape[2]));
    bar.set_frames_per_step("decode", double(dopt.slice_size));
    pipeline::Progress progress = [&](std::string_view s, int step, int n) { bar(s, step, n); };
    std::optional<pipeline::RefinedLatent> refined;
    if (semantic) {
        bar.start("refine");
        refined = vae.refine(latent.view(), ropt, noise, progress);
    }
    bar.start("decode");
    using LatentView = typename VideoVAE<V>::LatentView;
    const auto video = vae.decode(semantic ? LatentView(refined->view()) : LatentView(latent.view()), dopt, progress);
    bar.close();

    examples::StagedFiles staged;
    examples::write_clip_file(staged(out), video::video_to_u8(video.view()).view(), a.fps);
    const auto files = staged.commit();
    if (!a.quiet)
        std::fprintf(stderr, "cascadev-decode: %s \"%s\" %s%s -> %s\n", a.input.c_str(), key.c_str(),
                     shape_str(shape).c_str(), semantic ? " (refined)" : "", out.string().c_str());
    examples::print_written(files);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Args a;
    po::options_description od("cascadev-decode: a CascadeV latent -> video\n"
                                "usage: cascadev-decode LATENT.safetensors OUT.mp4 --weights DIR [options]\noptions");
    od.add_options()("help,h", "this help")("input", po::value(&a.input), "latent file (.safetensors)")(
        "output", po::value(&a.output), "video to write: .mp4 .mov .mkv .webm .avi, .png or .safetensors");
    examples::add_weight_options(od, a.weights, a.variant);
    od.add_options()(
        "key", po::value(&a.key), "tensor name of the latent (default: refined, else latent)")(
        "slice-size", po::value(&a.slice_size)->default_value(a.slice_size), "frames per SVD decoder slice")(
        "fps", po::value(&a.fps)->default_value(a.fps), "frame rate of the video")(
        "sampler", po::value(&a.sampler)->default_value(a.sampler), "semantic latents: euler_a | ddim | dpms")(
        "steps", po::value(&a.steps)->default_value(a.steps), "semantic latents: sampler steps")(
        "seed", po::value(&a.seed)->default_value(a.seed), "semantic latents: noise seed")(
        "rng", po::value(&a.rng)->default_value(a.rng), examples::rng_help)(
        "quiet,q", po::bool_switch(&a.quiet), "no progress on stderr");
    po::positional_options_description pos;
    pos.add("input", 1).add("output", 1);
    return examples::guarded_main("cascadev-decode", [&] {
        po::variables_map vm;
        if (examples::parse_command_line(argc, argv, od, pos, vm)) return 0;
        if (a.input.empty() || a.output.empty()) throw examples::UsageError("LATENT and OUT are required");
        if (a.weights.empty()) throw examples::UsageError("--weights DIR is required");
        return examples::with_vae_variant(a.variant, [&](auto v) { return run<decltype(v)>(a); });
    });
}
