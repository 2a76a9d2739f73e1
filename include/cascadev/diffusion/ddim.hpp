#pragma once
// DDIM as diffusers' DDIMScheduler does it with its default arguments (eta = 0, x0
// clipped to [-1, 1], "leading" timesteps, set_alpha_to_one): docs/reference/samplers.md,
// section 4. Deterministic: draws no noise. The initial scale is 1 and the model input
// is not scaled.
#include <algorithm>
#include <cmath>

#include "cascadev/diffusion/model.hpp"
#include "cascadev/diffusion/noise.hpp"
#include "cascadev/diffusion/schedule.hpp"

namespace cascadev::diffusion {

/// The per-step scalars of a DDIM run (float32, as the reference computes them).
struct DDIMStep {
    int t;             ///< model time (an integer timestep)
    float alpha_bar;   ///< A_t
    float alpha_prev;  ///< A_{t - r}, or 1 after the last step
    float sqrt_one_minus_a;
    float sqrt_a;
    float sqrt_a_prev;
    float sqrt_one_minus_a_prev;
};

inline DDIMStep ddim_step(int steps, int i) {
    const auto& ac = discrete_schedule().alphas_cumprod;
    const int r = num_train_timesteps / steps;
    DDIMStep s{};
    s.t = (steps - 1 - i) * r;
    const int p = s.t - r;
    s.alpha_bar = ac[std::size_t(s.t)];
    s.alpha_prev = p >= 0 ? ac[std::size_t(p)] : 1.0f;
    s.sqrt_one_minus_a = std::sqrt(1.0f - s.alpha_bar);
    s.sqrt_a = std::sqrt(s.alpha_bar);
    s.sqrt_a_prev = std::sqrt(s.alpha_prev);
    s.sqrt_one_minus_a_prev = std::sqrt(1.0f - s.alpha_prev);
    return s;
}

/// Runs N >= 1 DDIM steps from z [N, 4, H, W] (used as is). Every result lies in
/// [-1, 1].
template <EpsModel M, StepCallback P = NoProgress>
Latent ddim(M&& model, const LatentView& z, const LatentView& x_ref, int steps, P&& progress = P{}) {
    constexpr const char* name = "DDIM";
    detail::check_inputs(name, z, x_ref);
    check_steps(steps, name);
    Latent x = detail::to_latent(z);
    const index_t n = x.size();
    float* xp = x.data();
    for (int i = 0; i < steps; ++i) {
        const DDIMStep s = ddim_step(steps, i);
        const Latent eps = detail::call_model(name, model, x, x_ref, float(s.t));
        const float* ep = eps.data();
        detail::for_each_element(n, [&](index_t k) {
            const float be = s.sqrt_one_minus_a * ep[k];
            float x0 = (xp[k] - be) / s.sqrt_a;
            x0 = std::clamp(x0, -1.0f, 1.0f);
            const float a = s.sqrt_a_prev * x0;
            const float b = s.sqrt_one_minus_a_prev * ep[k];
            xp[k] = a + b;
        });
        detail::report(progress, i + 1, steps, x);
    }
    return x;
}

/// The same with a noise source, for a uniform sampler interface: DDIM never draws.
template <EpsModel M, NoiseSource S, StepCallback P = NoProgress>
Latent ddim(M&& model, const LatentView& z, const LatentView& x_ref, int steps, S& /*noise*/,
            P&& progress = P{}) {
    return ddim(std::forward<M>(model), z, x_ref, steps, std::forward<P>(progress));
}

}  // namespace cascadev::diffusion
