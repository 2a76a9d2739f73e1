#pragma once
// Euler-ancestral sampling as diffusers' EulerAncestralDiscreteScheduler does it with its
// default arguments (docs/reference/samplers.md, section 3).
//
//   x = z * sigma_0;  for i in 0 … N-1:
//     eps = model(x / sqrt(sigma_i^2 + 1), x_ref, t_i)
//     x   = x + ((x - (x - sigma_i eps)) / sigma_i) * (sigma_down - sigma_i) + n_i * sigma_up
//
// One noise draw of shape [N, 4, H, W] per step, the last one included (multiplied by
// sigma_up = 0 but part of the stream). The tensor arithmetic is float32 with float32
// scalars in the reference's order of operations.
#include <algorithm>
#include <cmath>

#include "cascadev/diffusion/model.hpp"
#include "cascadev/diffusion/noise.hpp"
#include "cascadev/diffusion/schedule.hpp"

namespace cascadev::diffusion {

/// The per-step scalars of an Euler-ancestral run (float32, as the reference computes them).
struct EulerAStep {
    float t;        ///< model time t_i
    float sigma;    ///< sigma_i
    float sigma_next;
    float in_scale; ///< sqrt(sigma_i^2 + 1) (the model input is x divided by it)
    float sigma_up;
    float sigma_down;
};

inline EulerAStep euler_a_step(const std::vector<float>& ts, const std::vector<float>& sig, std::size_t i) {
    EulerAStep s{};
    s.t = ts[i];
    s.sigma = sig[i];
    s.sigma_next = sig[i + 1];
    s.in_scale = std::sqrt(s.sigma * s.sigma + 1.0f);
    const float from2 = s.sigma * s.sigma, to2 = s.sigma_next * s.sigma_next;
    const float num = to2 * (from2 - to2);
    s.sigma_up = std::sqrt(num / from2);
    s.sigma_down = std::sqrt(to2 - s.sigma_up * s.sigma_up);
    return s;
}

/// Runs N >= 1 Euler-ancestral steps from the standard-normal tensor z [N, 4, H, W]
/// (not yet scaled: the sampler multiplies it by sigma_0). Draws N noise tensors from
/// `noise`. Returns the final latent.
template <EpsModel M, NoiseSource S, StepCallback P = NoProgress>
Latent euler_ancestral(M&& model, const LatentView& z, const LatentView& x_ref, int steps, S& noise,
                       P&& progress = P{}) {
    constexpr const char* name = "Euler ancestral";
    detail::check_inputs(name, z, x_ref);
    const auto ts = euler_a_timesteps(steps);
    const auto sig = euler_a_sigmas(steps);
    float sig_max = sig[0];
    for (float v : sig) sig_max = std::max(sig_max, v);

    Latent x = detail::to_latent(z);
    const index_t n = x.size();
    float* xp = x.data();
    detail::for_each_element(n, [&](index_t k) { xp[k] = xp[k] * sig_max; });

    Latent x_in(x.extents());
    Latent draw(x.extents());
    for (int i = 0; i < steps; ++i) {
        const EulerAStep s = euler_a_step(ts, sig, std::size_t(i));
        float* ip = x_in.data();
        detail::for_each_element(n, [&](index_t k) { ip[k] = xp[k] / s.in_scale; });
        const Latent eps = detail::call_model(name, model, x_in, x_ref, s.t);
        const float* ep = eps.data();
        const float dscale = s.sigma_down - s.sigma;
        detail::for_each_element(n, [&](index_t k) {
            const float se = s.sigma * ep[k];
            const float x0 = xp[k] - se;
            const float d = (xp[k] - x0) / s.sigma;
            const float dd = d * dscale;
            xp[k] = xp[k] + dd;
        });
        fill_noise(noise, draw.view());
        const float* np_ = draw.data();
        detail::for_each_element(n, [&](index_t k) {
            const float nu = np_[k] * s.sigma_up;
            xp[k] = xp[k] + nu;
        });
        detail::report(progress, i + 1, steps, x);
    }
    return x;
}

}  // namespace cascadev::diffusion
