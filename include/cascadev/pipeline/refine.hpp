#pragma once
// The refine stage (docs/reference/samplers.md §6): semantic latent [1, C, T, h, w] in,
// refined SVD-VAE latent [1, 4, T, k·h, k·w] out (k = sr_scale, 4 in the release).
//
//   1. every [h, w] plane (per channel, per frame) enlarged k× bilinearly with
//      align_corners=False (ratio exactly 1/k, as F.interpolate(size=(k·h, k·w)));
//   2. frames to batch: [1, C, T, H, W] → [T, C, H, W];
//   3. x_ref = that × scale_factor (float32);
//   4. z [T, 4, H, W]: noise draw #0;
//   5. the sampler (Euler ancestral draws one [T, 4, H, W] tensor after each model call;
//      DDIM and DPM-Solver++ draw nothing), model eps = DiT(cat([x, x_ref], 1), t) through
//      forward_with_dpmsolver (temporal windows + spatial tiles);
//   6. [T, 4, H, W] → [1, 4, T, H, W], ÷ scale_factor (float32).
//
// Only batch size 1 is meaningful (the reference folds batch and frames together).
#include <cstdint>
#include <type_traits>
#include <utility>

#include "cascadev/backend/cpu/parallel.hpp"
#include "cascadev/backend/cpu/resize.hpp"
#include "cascadev/core/error.hpp"
#include "cascadev/core/tensor.hpp"
#include "cascadev/diffusion.hpp"
#include "cascadev/models/dit.hpp"
#include "cascadev/pipeline/dit_eps_model.hpp"

namespace cascadev::pipeline {

/// Settings of one refine run (defaults: the release's recon.sh / config s1024.effn-f32).
struct RefineOptions {
    diffusion::Sampler sampler = diffusion::Sampler::euler_a;
    int steps = 8;
    /// Seed of the TorchCpuGenerator used by the overloads that take no noise source.
    std::uint64_t seed = 42;
    /// Spatial enlargement of the semantic latent (config.sr_scale).
    index_t sr_scale = 4;
    /// Latent scale of the SVD VAE (config.scale_factor).
    float scale_factor = 0.13025f;
};

/// The refined latent: [1, 4, T, H, W], unscaled (as the SVD decoder takes it).
using RefinedLatent = Tensor<float, Extents<1, 4, dyn, dyn, dyn>>;

namespace refine_detail {

inline void check_options(const RefineOptions& o) {
    if (o.steps < 1) fail("refine: steps must be >= 1, got ", o.steps);
    if (o.sampler == diffusion::Sampler::dpms && o.steps < 2)
        fail("refine: the dpms sampler (DPM-Solver++ 2M) needs at least 2 steps, got ", o.steps);
    if (o.sr_scale < 1) fail("refine: sr_scale must be >= 1, got ", o.sr_scale);
    if (!(o.scale_factor > 0.f)) fail("refine: scale_factor must be positive, got ", o.scale_factor);
}

/// A read-only rank-5 float32 view of a View or Tensor.
template <HostReadable L>
View<const float, DExtents<5>, cpu> latent_view(const L& lat) {
    const auto v = host_cview(lat);
    using VV = std::remove_cvref_t<decltype(v)>;
    static_assert(std::is_same_v<std::remove_const_t<typename VV::value_type>, float>,
                  "refine: the latent must be float32");
    static_assert(VV::rank == 5, "refine: the latent must be [1, C, T, h, w]");
    return View<const float, DExtents<5>, cpu>(v);
}

inline void check_latent(const View<const float, DExtents<5>, cpu>& lat) {
    if (lat.extent(0) != 1)
        fail("refine: expects one video, a latent [1, C, T, h, w]; got ", lat.extents().str());
    if (lat.extent(2) < 1 || lat.extent(3) < 1 || lat.extent(4) < 1)
        fail("refine: empty latent ", lat.extents().str());
}

}  // namespace refine_detail

/// Checks the options alone (steps ≥ 1, ≥ 2 for dpms, sr_scale ≥ 1, scale_factor > 0).
inline void check_refine_options(const RefineOptions& opt) { refine_detail::check_options(opt); }

/// Steps 1-3: the reference latent x_ref [T, C, k·h, k·w] = frames-first(upsample(lat)) × scale_factor.
/// `lat`: any float32 host View or Tensor of rank 5.
template <HostReadable L>
Tensor<float, DExtents<4>> refine_reference(const L& lat_in, index_t sr_scale, float scale_factor) {
    const auto lat = refine_detail::latent_view(lat_in);
    refine_detail::check_latent(lat);
    if (sr_scale < 1) fail("refine: sr_scale must be >= 1, got ", sr_scale);
    Tensor<float, DExtents<5>> src = contiguous_copy(lat);
    const auto up = resize_bilinear_by(src.view(), sr_scale);  // [1, C, T, H, W]
    const index_t C = up.extent(1), T = up.extent(2), H = up.extent(3), W = up.extent(4), plane = H * W;
    Tensor<float, DExtents<4>> ref(T, C, H, W);
    parallel_for(T * C, plane, [&](index_t p) {
        const index_t t = p / C, c = p % C;
        const float* s = up.data() + (c * T + t) * plane;
        float* d = ref.data() + p * plane;
        for (index_t i = 0; i < plane; ++i) d[i] = s[i] * scale_factor;
    });
    return ref;
}

/// Step 6: [T, 4, H, W] → [1, 4, T, H, W] ÷ scale_factor.
inline RefinedLatent refine_unscale(const diffusion::Latent& x, float scale_factor) {
    const index_t T = x.extent(0), C = x.extent(1), H = x.extent(2), W = x.extent(3), plane = H * W;
    if (C != 4) fail("refine: the sampler returned ", x.extents().str(), ", expected [T, 4, H, W]");
    RefinedLatent y(T, H, W);
    parallel_for(C * T, plane, [&](index_t p) {
        const index_t c = p / T, t = p % T;
        const float* s = x.data() + (t * C + c) * plane;
        float* d = y.data() + p * plane;
        for (index_t i = 0; i < plane; ++i) d[i] = s[i] / scale_factor;
    });
    return y;
}

/// The refine stage with any eps model (eps = model(x, x_ref, t), x [T, 4, H, W],
/// x_ref [T, C, H, W]). Noise order: z, then the sampler's draws. progress(step, total)
/// (or (step, total, x)) after each sampler update.
template <diffusion::EpsModel M, HostReadable L, diffusion::NoiseSource S,
          diffusion::StepCallback P = diffusion::NoProgress>
RefinedLatent refine_with(M&& model, const L& lat, const RefineOptions& opt, S& noise, P&& progress = P{}) {
    refine_detail::check_options(opt);
    const auto x_ref = refine_reference(lat, opt.sr_scale, opt.scale_factor);
    const index_t T = x_ref.extent(0), H = x_ref.extent(2), W = x_ref.extent(3);
    const auto z = diffusion::draw_noise(noise, DExtents<4>(T, 4, H, W));
    const auto x = diffusion::sample(opt.sampler, std::forward<M>(model), diffusion::LatentView(z.view()),
                                     diffusion::LatentView(x_ref.view()), opt.steps, noise,
                                     std::forward<P>(progress));
    return refine_unscale(x, opt.scale_factor);
}

/// Checks that a latent [1, C, T, h, w] fits the DiT (C = C_in − 4, T ≥ lats_per_vid,
/// sr_scale·h and sr_scale·w ≥ input_size) before any work is done.
template <models::DitVariant V, HostReadable L>
void check_refine_input(const L& lat_in, const RefineOptions& opt) {
    const auto lat = refine_detail::latent_view(lat_in);
    refine_detail::check_latent(lat);
    refine_detail::check_options(opt);
    using D = models::Dit<V>;
    if (lat.extent(1) != D::Cin - 4)
        fail("refine: latent ", lat.extents().str(), " has ", lat.extent(1), " channels, the DiT (", V::name,
             ") takes ", D::Cin - 4, " reference channels");
    if (lat.extent(2) < D::L)
        fail("refine: latent ", lat.extents().str(), " has ", lat.extent(2), " frames, the DiT (", V::name,
             ") needs at least lats_per_vid = ", D::L);
    const index_t H = lat.extent(3) * opt.sr_scale, W = lat.extent(4) * opt.sr_scale;
    if (H < D::S || W < D::S)
        fail("refine: latent ", lat.extents().str(), " enlarged ", opt.sr_scale, "x is ", H, "x", W,
             ", smaller than the DiT's (", V::name, ") tile size input_size = ", D::S);
}

/// The refine stage with a loaded DiT and a noise source (RecordedNoise, TorchCpuGenerator,
/// PhiloxGenerator, AnyNoise ...).
template <models::DitVariant V, HostReadable L, diffusion::NoiseSource S,
          diffusion::StepCallback P = diffusion::NoProgress>
RefinedLatent refine(const models::Dit<V>& dit, const L& lat, const RefineOptions& opt, S& noise, P&& progress = P{}) {
    check_refine_input<V>(lat, opt);
    return refine_with(DitEpsModel<V>{dit}, lat, opt, noise, std::forward<P>(progress));
}

/// The same with PyTorch-CPU-compatible noise seeded with opt.seed
/// (torch.manual_seed(seed) immediately before step 4).
template <models::DitVariant V, HostReadable L, diffusion::StepCallback P = diffusion::NoProgress>
RefinedLatent refine(const models::Dit<V>& dit, const L& lat, const RefineOptions& opt, P&& progress = P{}) {
    diffusion::TorchCpuGenerator gen(opt.seed);
    return refine(dit, lat, opt, gen, std::forward<P>(progress));
}

}  // namespace cascadev::pipeline
