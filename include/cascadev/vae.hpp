#pragma once
// The facade: VideoVAE<Variant> runs CascadeV's reconstruction chain (docs/reference/pipeline.md)
// stage by stage or end to end.
//
//   VideoVAE<vae::Released> vae;
//   vae.load_directory("pretrained");                 // the released files by their published names
//   auto latent  = vae.encode(vae.preprocess(bgr, {}));
//   auto preview = vae.preview(latent);
//   auto refined = vae.refine(latent, {.sampler = diffusion::Sampler::euler_a, .steps = 8, .seed = 42});
//   auto video   = vae.decode(refined, {.slice_size = 4});
//   auto all     = vae.reconstruct(bgr, options, progress);   // + 8-bit frames, PSNR/SSIM, timings
//
// A Variant bundles the four models' variant structs (effnet, previewer, dit, svd); each
// stage needs only its own model loaded (`Stages` selects which ones to load). Every stage
// takes its options struct and an optional progress callback (stage name, step, total).
#include <filesystem>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "cascadev/core/device.hpp"
#include "cascadev/core/error.hpp"
#include "cascadev/diffusion.hpp"
#include "cascadev/io/weight_store.hpp"
#include "cascadev/models/dit.hpp"
#include "cascadev/models/effnet.hpp"
#include "cascadev/models/previewer.hpp"
#include "cascadev/models/svd_decoder.hpp"
#include "cascadev/pipeline/decode.hpp"
#include "cascadev/pipeline/encode.hpp"
#include "cascadev/pipeline/preview.hpp"
#include "cascadev/pipeline/progress.hpp"
#include "cascadev/pipeline/random_weights.hpp"
#include "cascadev/pipeline/reconstruct.hpp"
#include "cascadev/pipeline/refine.hpp"

namespace cascadev {

namespace vae {

/// The release: EfficientNetV2-S, StableCascade's previewer, the DiT XL/2 of
/// s1024.effn-f32, SVD's temporal VAE decoder.
struct Released {
    static constexpr const char* name = "released";
    using effnet = models::EffnetV2S;
    using previewer = models::PreviewerReleased;
    using dit = models::DitXL2;
    using svd = models::SvdReleased;
};

/// The tiny test models of the golden case pipeline.recon (random weights; any clip whose
/// preprocessed side is >= 64).
struct Tiny {
    static constexpr const char* name = "tiny";
    using effnet = models::EffnetTiny;
    using previewer = models::PreviewerTiny;
    using dit = models::DitTinyS8;
    using svd = models::SvdTiny;
};

/// Which models to load (a bit set).
enum Stages : unsigned { encode_stage = 1, preview_stage = 2, refine_stage = 4, decode_stage = 8, all_stages = 15 };

/// Key prefix of each model in its store. Defaults: the released files (one model per file,
/// the SVD decoder under "decoder."); combined(): one file holding all four, as the golden
/// case pipeline.recon ("effnet.", "previewer.", "dit.", "svd.decoder.").
struct WeightPrefixes {
    std::string effnet, previewer, dit, svd = "decoder.";
    static WeightPrefixes combined() { return {"effnet.", "previewer.", "dit.", "svd.decoder."}; }
};

/// A released weight file: its role, the names it may have in a weights folder (the first
/// is the published one) and where it is published.
struct PublishedWeight {
    Stages stage;
    const char* model;
    std::vector<const char*> names;
    const char* published;
};

inline const std::vector<PublishedWeight>& published_weights() {
    static const std::vector<PublishedWeight> w = {
        {encode_stage, "EfficientNet encoder", {"effnet_encoder.safetensors"},
         "Hugging Face stabilityai/StableWurst"},
        {preview_stage, "previewer", {"previewer.safetensors"},
         "Hugging Face stabilityai/StableWurst"},
        {refine_stage, "DiT", {"s1024.effn-f32.pth", "s1024.effn-f32.safetensors"},
         "Hugging Face ByteDance/CascadeV"},
        {decode_stage, "SVD VAE decoder",
         {"vae/diffusion_pytorch_model.fp16.safetensors", "vae/diffusion_pytorch_model.safetensors",
          "diffusion_pytorch_model.fp16.safetensors", "diffusion_pytorch_model.safetensors"},
         "Hugging Face stabilityai/stable-video-diffusion-img2vid-xt, sub-folder vae"},
    };
    return w;
}

/// The file of one model in a weights folder (also looked for in its pretrained/ sub-folder,
/// where the release's download script puts them), or empty.
inline std::filesystem::path find_weight(const std::filesystem::path& dir, const PublishedWeight& w) {
    for (const auto& base : {dir, dir / "pretrained"})
        for (const char* n : w.names)
            if (std::filesystem::is_regular_file(base / n)) return base / n;
    return {};
}

}  // namespace vae

template <class V>
concept VaeVariant = requires {
    typename V::effnet;
    typename V::previewer;
    typename V::dit;
    typename V::svd;
} && models::EffnetVariant<typename V::effnet> && models::DitVariant<typename V::dit>;

template <VaeVariant V, class Device = cpu>
class VideoVAE {
    static_assert(std::is_same_v<Device, cpu>, "VideoVAE: only the CPU path exists yet (the GPU model paths are not implemented)");

public:
    using variant = V;
    using Effnet = models::EffnetEncoder<typename V::effnet>;
    using PreviewerModel = models::Previewer<typename V::previewer>;
    using DitModel = models::Dit<typename V::dit>;
    using SvdModel = models::SvdDecoder<typename V::svd>;
    using Latent = Tensor<float, DExtents<5>>;
    using VideoTensor = Tensor<float, DExtents<5>>;
    using LatentView = View<const float, DExtents<5>, cpu>;

    // ---------------------------------------------------------------- loading

    void load_effnet(const io::WeightStore& store, const std::string& prefix = "") {
        auto m = std::make_unique<Effnet>();
        io::Binder b(store, prefix);
        m->bind(b);
        b.finish();
        effnet_ = std::move(m);
    }
    void load_previewer(const io::WeightStore& store, const std::string& prefix = "") {
        auto m = std::make_unique<PreviewerModel>();
        io::Binder b(store, prefix);
        m->bind(b);
        b.finish();
        previewer_ = std::move(m);
    }
    void load_dit(const io::WeightStore& store, const std::string& prefix = "") {
        auto m = std::make_unique<DitModel>();
        io::Binder b(store, prefix);
        m->bind(b);
        b.finish();
        dit_ = std::move(m);
    }
    void load_svd(const io::WeightStore& store, const std::string& prefix = "decoder.") {
        auto m = std::make_unique<SvdModel>();
        m->load(store, prefix);
        svd_ = std::move(m);
    }

    /// Loads the selected models from one store (default: the combined layout of the
    /// golden cases, every model under its stage prefix).
    void load(const io::WeightStore& store, const vae::WeightPrefixes& p = vae::WeightPrefixes::combined(),
              unsigned stages = vae::all_stages) {
        if (stages & vae::encode_stage) load_effnet(store, p.effnet);
        if (stages & vae::preview_stage) load_previewer(store, p.previewer);
        if (stages & vae::refine_stage) load_dit(store, p.dit);
        if (stages & vae::decode_stage) load_svd(store, p.svd);
    }

    /// Loads the selected models from a folder: either one combined `weights.safetensors`
    /// (stage prefixes, as the golden cases) or the released files by their published names
    /// (in the folder or its pretrained/ sub-folder). A missing file is an error naming every
    /// missing file and where it is published.
    void load_directory(const std::filesystem::path& dir, unsigned stages = vae::all_stages) {
        if (!std::filesystem::is_directory(dir)) fail("weights: ", dir.string(), " is not a folder");
        if (std::filesystem::is_regular_file(dir / "weights.safetensors")) {
            load(io::WeightStore(dir / "weights.safetensors"), vae::WeightPrefixes::combined(), stages);
            return;
        }
        std::string missing;
        std::vector<std::filesystem::path> files(vae::published_weights().size());
        for (std::size_t i = 0; i < files.size(); ++i) {
            const auto& w = vae::published_weights()[i];
            if (!(stages & w.stage)) continue;
            files[i] = vae::find_weight(dir, w);
            if (files[i].empty())
                missing += std::string(missing.empty() ? "" : "; ") + w.names[0] + " (the " + w.model + ", published in " +
                           w.published + ")";
        }
        if (!missing.empty())
            fail("weights folder ", dir.string(), ": missing ", missing, " (looked in the folder and its pretrained/; ",
                 "or give one combined weights.safetensors)");
        const vae::WeightPrefixes p;
        for (std::size_t i = 0; i < files.size(); ++i) {
            if (files[i].empty()) continue;
            const io::WeightStore store(files[i]);
            switch (vae::published_weights()[i].stage) {
                case vae::encode_stage: load_effnet(store, p.effnet); break;
                case vae::preview_stage: load_previewer(store, p.previewer); break;
                case vae::refine_stage: load_dit(store, p.dit); break;
                default: load_svd(store, p.svd); break;
            }
        }
    }

    /// The keys and shapes every selected model binds (combined prefixes).
    static std::vector<pipeline::ParamSpec> parameter_specs(unsigned stages = vae::all_stages) {
        const auto p = vae::WeightPrefixes::combined();
        std::vector<pipeline::ParamSpec> all;
        auto add = [&](std::vector<pipeline::ParamSpec> s) { all.insert(all.end(), s.begin(), s.end()); };
        if (stages & vae::encode_stage) add(pipeline::parameter_specs([](io::Binder& b) { Effnet().bind(b); }, p.effnet));
        if (stages & vae::preview_stage)
            add(pipeline::parameter_specs([](io::Binder& b) { PreviewerModel().bind(b); }, p.previewer));
        if (stages & vae::refine_stage) add(pipeline::parameter_specs([](io::Binder& b) { DitModel().bind(b); }, p.dit));
        if (stages & vae::decode_stage) add(pipeline::parameter_specs([](io::Binder& b) { SvdModel().bind(b); }, p.svd));
        return all;
    }

    /// Deterministic random weights (pipeline/random_weights.hpp) for the selected models:
    /// for demos and tests without checkpoints. Same seed, same weights.
    void load_random(std::uint64_t seed, unsigned stages = vae::all_stages,
                     const std::filesystem::path& tmp_dir = std::filesystem::temp_directory_path()) {
        const auto store = pipeline::random_weight_store(parameter_specs(stages), seed, tmp_dir);
        load(store, vae::WeightPrefixes::combined(), stages);
    }

    bool loaded(vae::Stages s) const {
        switch (s) {
            case vae::encode_stage: return bool(effnet_);
            case vae::preview_stage: return bool(previewer_);
            case vae::refine_stage: return bool(dit_);
            case vae::decode_stage: return bool(svd_);
            default: return effnet_ && previewer_ && dit_ && svd_;
        }
    }

    const Effnet& effnet() const { return need(effnet_, "encode", "the EfficientNet encoder"); }
    const PreviewerModel& previewer() const { return need(previewer_, "preview", "the previewer"); }
    const DitModel& dit() const { return need(dit_, "refine", "the DiT"); }
    const SvdModel& svd() const { return need(svd_, "decode", "the SVD decoder"); }

    // ---------------------------------------------------------------- stages

    /// BGR uint8 frames [T, h, w, 3] -> RGB uint8 [T, H, W, 3] after resize and crops (the
    /// frames the metrics compare against).
    video::Clip preprocess(const video::ClipView& bgr, const pipeline::EncodeOptions& opt = {}) const {
        return pipeline::preprocess_u8(bgr, opt);
    }
    /// RGB uint8 [T, H, W, 3] -> model video [1, 3, T, H, W] in [-1, 1].
    static VideoTensor to_video(const video::ClipView& rgb) { return video::frames_to_video(rgb, false); }

    /// Video [1, 3, T, H, W] in [-1, 1] -> semantic latent [1, 16, T, H/32, W/32].
    Latent encode(const video::VideoView& video, const pipeline::Progress& progress = {}) const {
        return pipeline::encode(effnet(), video, progress);
    }
    /// Decoded BGR frames -> semantic latent (preprocessing included).
    Latent encode_frames(const video::ClipView& bgr, const pipeline::EncodeOptions& opt = {},
                         const pipeline::Progress& progress = {}) const {
        const auto rgb = preprocess(bgr, opt);
        const auto v = to_video(rgb.view());
        return encode(v.view(), progress);
    }

    /// Semantic latent -> preview video [1, 3, T, 8h, 8w] in [-1, 1].
    VideoTensor preview(const LatentView& latent, const pipeline::Progress& progress = {}) const {
        return pipeline::preview(previewer(), latent, progress);
    }

    /// Semantic latent -> SVD latent [1, 4, T, 4h, 4w] with PyTorch-CPU-compatible noise
    /// seeded with opt.seed.
    pipeline::RefinedLatent refine(const LatentView& latent, const pipeline::RefineOptions& opt = {},
                                   const pipeline::Progress& progress = {}) const {
        diffusion::TorchCpuGenerator gen(opt.seed);
        return refine(latent, opt, gen, progress);
    }
    /// The same with any noise source (RecordedNoise, PhiloxGenerator, AnyNoise ...).
    template <diffusion::NoiseSource N>
    pipeline::RefinedLatent refine(const LatentView& latent, const pipeline::RefineOptions& opt, N& noise,
                                   const pipeline::Progress& progress = {}) const {
        auto on_step = [&](int step, int total) { pipeline::report(progress, "refine", step, total); };
        return pipeline::refine(dit(), latent, opt, noise, on_step);
    }

    /// SVD latent [1, 4, T, H, W] -> video [1, 3, T, 8H, 8W] (not clamped).
    VideoTensor decode(const LatentView& latent, const pipeline::DecodeOptions& opt = {},
                       const pipeline::Progress& progress = {}) const {
        return pipeline::decode(svd(), latent, opt, progress);
    }

    /// The whole chain on decoded BGR frames, with seeded PyTorch-compatible noise.
    pipeline::Reconstruction reconstruct(const video::ClipView& bgr, const pipeline::ReconstructOptions& opt = {},
                                         const pipeline::Progress& progress = {}) const {
        diffusion::TorchCpuGenerator gen(opt.refine.seed);
        return reconstruct(bgr, opt, gen, progress);
    }
    template <diffusion::NoiseSource N>
    pipeline::Reconstruction reconstruct(const video::ClipView& bgr, const pipeline::ReconstructOptions& opt, N& noise,
                                         const pipeline::Progress& progress = {}) const {
        return pipeline::reconstruct(effnet(), previewer(), dit(), svd(), bgr, opt, noise, progress);
    }

private:
    template <class M>
    static const M& need(const std::unique_ptr<M>& m, const char* stage, const char* what) {
        if (!m) fail("VideoVAE<", V::name, ">::", stage, ": ", what, " is not loaded");
        return *m;
    }

    std::unique_ptr<Effnet> effnet_;
    std::unique_ptr<PreviewerModel> previewer_;
    std::unique_ptr<DitModel> dit_;
    std::unique_ptr<SvdModel> svd_;
};

}  // namespace cascadev
