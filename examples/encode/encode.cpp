// cascadev-encode: stage 1 of CascadeV (docs/reference/pipeline.md) as a program: a clip ->
// its semantic latent [1, 16, T, H/32, W/32] (1024x smaller), plus the previewer's blurry
// preview of that latent.
//
//   cascadev-encode INPUT OUT.safetensors --weights DIR [--variant released|tiny]
//                   [--size 1024] [--frames 8] [--stride 1] [--preview FILE | --no-preview] [--fps 8]
//
// INPUT: as cascadev-reconstruct (video file, image sequence, or BGR uint8 frames
// [T, H, W, 3] under "frames" in a .safetensors file). --weights: the released files by
// their published names (only the encoder's and, unless --no-preview, the previewer's are
// needed) or one combined weights.safetensors.
//
// Writes OUT.safetensors with the latent under "latent" (metadata: variant, size, frames,
// source, fps) and the preview (default OUT's name with .preview.mp4, or .preview.safetensors
// without FFmpeg; the type follows --preview's extension: .mp4, .png or .safetensors).
// Both are written under temporary names and renamed at the end: an error leaves neither.
// cascadev-decode turns the latent back into a video.
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cascadev/io/safetensors.hpp"
#include "cascadev/vae.hpp"
#include "../common/cli.hpp"
#include "../common/clip_input.hpp"
#include "../common/outputs.hpp"
#include "../common/progress_bar.hpp"
#include "../common/variants.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace cascadev;

namespace {

struct Args {
    std::string input, output, weights, variant = "released", preview;
    index_t size = 1024, frames = 8, stride = 1;
    double fps = 8;
    bool no_preview = false, quiet = false;
};

/// The preview's default path: OUT with ".preview.mp4" (".preview.safetensors" without FFmpeg).
fs::path default_preview_path(const fs::path& out) {
#ifdef CASCADEV_HAVE_FFMPEG
    const char* ext = ".preview.mp4";
#else
    const char* ext = ".preview.safetensors";
#endif
    return out.parent_path() / (out.stem().string() + ext);
}

template <class V>
int run(const Args& a) {
    pipeline::EncodeOptions opt;
    opt.frames = 0;  // the clip is read with --frames / --stride applied
    opt.preprocess.short_edge = a.size;
    examples::check_size_option(a.size);
    const fs::path out(a.output);
    if (out.extension() != ".safetensors") throw examples::UsageError("OUT must be a .safetensors file, got " + a.output);
    examples::check_output_file(out, "OUT");
    const fs::path preview_path = a.no_preview ? fs::path() : a.preview.empty() ? default_preview_path(out) : fs::path(a.preview);
    if (!preview_path.empty()) {
        examples::check_output_file(preview_path, "--preview");
        examples::check_clip_file_type(preview_path, "--preview");
    }

    // Input and sizes first: a bad input fails before any weights are read.
    const auto in = examples::read_input_clip(a.input, a.frames, "frames", a.stride);
    const auto size = video::preprocessed_size(in.frames.extent(1), in.frames.extent(2), opt.preprocess);
    if (size.h < 32 || size.w < 32)
        fail(a.input, ": frames of ", in.frames.extent(2), "x", in.frames.extent(1), " preprocess to ", size.w, "x",
             size.h, " at --size ", a.size, "; the encoder needs at least 32x32");

    VideoVAE<V> vae;
    vae.load_directory(a.weights, vae::encode_stage | (preview_path.empty() ? 0u : unsigned(vae::preview_stage)));

    examples::ProgressBar bar(!a.quiet);
    bar.set_frames_per_step("encode", 1);
    bar.set_frames_per_step("preview", 1);
    pipeline::Progress progress = [&](std::string_view s, int step, int n) { bar(s, step, n); };
    const auto rgb = vae.preprocess(in.frames.view(), opt);
    const auto latent = vae.encode(VideoVAE<V>::to_video(rgb.view()).view(), progress);

    examples::StagedFiles staged;
    {
        io::SafetensorsWriter w;
        w.add("latent", latent);
        w.set_metadata("producer", "cascadev-encode");
        w.set_metadata("variant", V::name);
        w.set_metadata("size", std::to_string(a.size));
        w.set_metadata("frames", std::to_string(latent.extent(2)));
        w.set_metadata("height", std::to_string(rgb.extent(1)));
        w.set_metadata("width", std::to_string(rgb.extent(2)));
        w.set_metadata("fps", std::to_string(in.fps > 0 ? in.fps : a.fps));
        w.set_metadata("source", fs::path(a.input).filename().string());
        w.write(staged(out));
    }
    if (!preview_path.empty()) {
        const auto preview = vae.preview(latent.view(), progress);
        examples::write_clip_file(staged(preview_path), video::video_to_u8(preview.view()).view(),
                                  in.fps > 0 ? in.fps : a.fps);
    }
    bar.close();
    const auto files = staged.commit();
    if (!a.quiet) {
        std::fprintf(stderr, "cascadev-encode: %s: %lld frame(s) of %lldx%lld -> latent %s\n", a.input.c_str(),
                     (long long)rgb.extent(0), (long long)rgb.extent(2), (long long)rgb.extent(1),
                     latent.extents().str().c_str());
    }
    examples::print_written(files);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Args a;
    po::options_description od("cascadev-encode: a clip -> its CascadeV semantic latent (+ preview)\n"
                                "usage: cascadev-encode INPUT OUT.safetensors --weights DIR [options]\noptions");
    od.add_options()("help,h", "this help")("input", po::value(&a.input), "video file, image sequence or .safetensors frames")(
        "output", po::value(&a.output), "latent file to write (.safetensors)");
    examples::add_weight_options(od, a.weights, a.variant);
    od.add_options()(
        "size", po::value(&a.size)->default_value(a.size), "short edge after preprocessing (multiple of 32)")(
        "frames", po::value(&a.frames)->default_value(a.frames), "frames taken from the input (0 = all)")(
        "stride", po::value(&a.stride)->default_value(a.stride), "take every stride-th frame")(
        "preview", po::value(&a.preview), "preview output (.mp4, .png or .safetensors; default OUT.preview.mp4)")(
        "no-preview", po::bool_switch(&a.no_preview), "do not run the previewer")(
        "fps", po::value(&a.fps)->default_value(a.fps), "frame rate of the preview when the input has none")(
        "quiet,q", po::bool_switch(&a.quiet), "no progress on stderr");
    po::positional_options_description pos;
    pos.add("input", 1).add("output", 1);
    return examples::guarded_main("cascadev-encode", [&] {
        po::variables_map vm;
        if (examples::parse_command_line(argc, argv, od, pos, vm)) return 0;
        if (a.input.empty() || a.output.empty()) throw examples::UsageError("INPUT and OUT.safetensors are required");
        if (a.weights.empty()) throw examples::UsageError("--weights DIR is required");
        if (a.no_preview && !a.preview.empty()) throw examples::UsageError("--preview and --no-preview exclude each other");
        return examples::with_vae_variant(a.variant, [&](auto v) { return run<decltype(v)>(a); });
    });
}
