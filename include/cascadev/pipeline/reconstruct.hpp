#pragma once
// The whole chain of recon.sh (docs/reference/pipeline.md, stages 1-3) plus the metrics:
//   BGR frames -> preprocess (8-bit RGB after the crops) -> video [1, 3, T, H, W]
//   -> encode -> latent [1, 16, T, H/32, W/32] -> preview [1, 3, T, H/4, W/4]
//   -> refine -> SVD latent [1, 4, T, H/8, W/8] -> decode -> video [1, 3, T, H, W]
//   -> 8-bit -> PSNR / SSIM against the preprocessed 8-bit frames (metrics.md).
// Every size and option is checked before the first model runs.
#include <utility>

#include "cascadev/diffusion.hpp"
#include "cascadev/models/dit.hpp"
#include "cascadev/pipeline/decode.hpp"
#include "cascadev/pipeline/encode.hpp"
#include "cascadev/pipeline/preview.hpp"
#include "cascadev/pipeline/progress.hpp"
#include "cascadev/pipeline/refine.hpp"
#include "cascadev/video/metrics.hpp"
#include "cascadev/video/preprocess.hpp"

namespace cascadev::pipeline {

struct ReconstructOptions {
    EncodeOptions encode;  ///< frames, size (short_edge), size_div, square
    RefineOptions refine;  ///< sampler, steps, seed, sr_scale, scale_factor
    DecodeOptions decode;  ///< slice size
    bool metrics = true;   ///< compute PSNR / SSIM of the 8-bit reconstruction
};

/// Seconds per stage.
struct StageTimes {
    double preprocess = 0, encode = 0, preview = 0, refine = 0, decode = 0, metrics = 0;
    double total() const { return preprocess + encode + preview + refine + decode + metrics; }
};

/// Everything the chain computes.
struct Reconstruction {
    video::Clip input;                  ///< preprocessed RGB uint8 [T, H, W, 3] (the metrics' reference)
    Tensor<float, DExtents<5>> latent;  ///< semantic latent [1, 16, T, h, w]
    Tensor<float, DExtents<5>> preview; ///< preview video [1, 3, T, 8h, 8w] in [-1, 1]
    RefinedLatent refined;              ///< SVD latent [1, 4, T, 4h, 4w] (unscaled)
    Tensor<float, DExtents<5>> decoded; ///< decoded video [1, 3, T, 32h, 32w], not clamped
    video::Clip preview_u8, decoded_u8; ///< 8-bit RGB [T, H, W, 3] of preview and decoded
    video::MetricsResult metrics;       ///< input vs decoded_u8 (empty when not asked)
    StageTimes seconds;
};

/// Checks a frame size and the options against the models before any work: the square /
/// crop result must be a multiple of 32, the DiT must fit the enlarged latent, the frame
/// count a multiple of the decoder slice.
template <class DitV>
void check_reconstruct(index_t frames, index_t height, index_t width, const ReconstructOptions& opt) {
    const auto s = video::preprocessed_size(height, width, opt.encode.preprocess);
    index_t h = s.h, w = s.w;
    if (opt.encode.preprocess.square) h = w = std::min(h, w);
    const index_t T = opt.encode.frames > 0 ? opt.encode.frames : frames;
    if (opt.encode.frames > 0 && frames < opt.encode.frames)
        fail("reconstruct: the input has ", frames, " frame(s), ", opt.encode.frames, " were asked for (--frames)");
    check_decode(T, opt.decode);
    check_refine_options(opt.refine);
    using D = models::Dit<DitV>;
    if (T < D::L)
        fail("reconstruct: ", T, " frame(s); the DiT (", DitV::name, ") needs at least lats_per_vid = ", D::L);
    const index_t lh = (h + 31) / 32 * opt.refine.sr_scale, lw = (w + 31) / 32 * opt.refine.sr_scale;
    if (lh < D::S || lw < D::S)
        fail("reconstruct: frames of ", h, "x", w, " give a ", lh, "x", lw, " refine latent, smaller than the DiT's (",
             DitV::name, ") input_size ", D::S, "; use a larger --size");
}

/// The chain with explicit models and a noise source (noise draw #0 is refine's start).
template <models::EffnetVariant E, class P, models::DitVariant D, class S, diffusion::NoiseSource N>
Reconstruction reconstruct(const models::EffnetEncoder<E>& effnet, const models::Previewer<P>& previewer,
                           const models::Dit<D>& dit, const models::SvdDecoder<S>& svd, const video::ClipView& bgr,
                           const ReconstructOptions& opt, N& noise, const Progress& progress = {}) {
    if (bgr.extent(3) != 3) fail("reconstruct: frames must be BGR [T, H, W, 3], got ", bgr.extents().str());
    check_reconstruct<D>(bgr.extent(0), bgr.extent(1), bgr.extent(2), opt);
    Reconstruction r;
    {
        Stopwatch sw;
        r.input = preprocess_u8(bgr, opt.encode);
        r.seconds.preprocess = sw.seconds();
    }
    {
        Stopwatch sw;
        const auto video = video::frames_to_video(r.input.view(), false);
        r.latent = encode(effnet, video.view(), progress);
        r.seconds.encode = sw.seconds();
    }
    {
        Stopwatch sw;
        r.preview = preview(previewer, r.latent.view(), progress);
        r.preview_u8 = video::video_to_u8(r.preview.view());
        r.seconds.preview = sw.seconds();
    }
    {
        Stopwatch sw;
        auto on_step = [&](int step, int total) { report(progress, "refine", step, total); };
        r.refined = refine(dit, r.latent.view(), opt.refine, noise, on_step);
        r.seconds.refine = sw.seconds();
    }
    {
        Stopwatch sw;
        r.decoded = decode(svd, View<const float, DExtents<5>, cpu>(r.refined.view()), opt.decode, progress);
        r.decoded_u8 = video::video_to_u8(r.decoded.view());
        r.seconds.decode = sw.seconds();
    }
    if (opt.metrics) {
        Stopwatch sw;
        r.metrics = video::compute_metrics(r.input.view(), r.decoded_u8.view());
        r.seconds.metrics = sw.seconds();
    }
    return r;
}

}  // namespace cascadev::pipeline
