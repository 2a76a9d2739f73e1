#pragma once
// Multistep DPM-Solver++ of order 2 ("2M") as CascadeV calls PixArt-Sigma's DPMS:
// data prediction, time-uniform steps from t = 1 to 1/1000, first order on the first
// and the last step, the model called as model(x, x_ref, (T - 1/1000) * 1000)
// (docs/reference/samplers.md, section 5). Deterministic: draws no noise; z is the
// starting point as is.
//
// The scalars (alpha, sigma, lambda, expm1) are float32 as the reference evaluates them;
// the tensor updates are float32 in the reference's order of operations.
#include <algorithm>
#include <cmath>
#include <utility>

#include "cascadev/diffusion/model.hpp"
#include "cascadev/diffusion/noise.hpp"
#include "cascadev/diffusion/schedule.hpp"

namespace cascadev::diffusion {

/// Runs N >= 2 steps (N model calls). N = 1 is rejected, as the reference does
/// (multistep order 2 needs steps >= order).
template <EpsModel M, StepCallback P = NoProgress>
Latent dpm_solver(M&& model, const LatentView& z, const LatentView& x_ref, int steps, P&& progress = P{}) {
    constexpr const char* name = "DPM-Solver++";
    constexpr int order = 2;
    if (steps < order)
        fail(name, ": multistep order ", order, " needs at least ", order, " steps, got ", steps);
    if (steps > num_train_timesteps) fail(name, ": steps must be at most ", num_train_timesteps, ", got ", steps);
    detail::check_inputs(name, z, x_ref);
    const VPSchedule& ns = vp_schedule();
    const std::vector<float> T = dpms_times(steps);

    Latent x = detail::to_latent(z);
    const index_t n = x.size();

    // D(x, T) = (x - sigma(T) * eps) / alpha(T)
    auto data_pred = [&](const Latent& xs, float t) {
        const Latent eps = detail::call_model(name, model, xs, x_ref, dpms_model_time(t));
        const float sig = ns.sigma(t), alp = ns.alpha(t);
        Latent m(xs.extents());
        const float* xp = xs.data();
        const float* ep = eps.data();
        float* mp = m.data();
        detail::for_each_element(n, [&](index_t k) {
            const float se = sig * ep[k];
            mp[k] = (xp[k] - se) / alp;
        });
        return m;
    };

    // x_t = (sigma_t / sigma_s) x - (alpha_t expm1(-h)) m_s
    auto first_order = [&](float s, float t, const Latent& m_s) {
        const float h = ns.lambda(t) - ns.lambda(s);
        const float phi1 = std::expm1(-h);
        const float a = ns.sigma(t) / ns.sigma(s);
        const float b = ns.alpha(t) * phi1;
        float* xp = x.data();
        const float* mp = m_s.data();
        detail::for_each_element(n, [&](index_t k) {
            const float ax = a * xp[k];
            const float bm = b * mp[k];
            xp[k] = ax - bm;
        });
    };

    // second-order multistep update to t from (t1, m1) (older) and (t0, m0) (newer)
    auto second_order = [&](float t1, const Latent& m1, float t0, const Latent& m0, float t) {
        const float l1 = ns.lambda(t1), l0 = ns.lambda(t0), lt = ns.lambda(t);
        const float h0 = l0 - l1;
        const float h = lt - l0;
        const float r0 = h0 / h;
        const float c = 1.0f / r0;
        const float phi1 = std::expm1(-h);
        const float b = ns.alpha(t) * phi1;
        const float a = ns.sigma(t) / ns.sigma(t0);
        const float half_b = 0.5f * b;
        float* xp = x.data();
        const float* p0 = m0.data();
        const float* p1 = m1.data();
        detail::for_each_element(n, [&](index_t k) {
            const float diff = p0[k] - p1[k];
            const float d1 = c * diff;
            const float ax = a * xp[k];
            const float bm = b * p0[k];
            const float hd = half_b * d1;
            xp[k] = (ax - bm) - hd;
        });
    };

    Latent m_old = data_pred(x, T[0]);
    first_order(T[0], T[1], m_old);
    detail::report(progress, 1, steps, x);
    Latent m_new = data_pred(x, T[1]);
    for (int k = 2; k <= steps; ++k) {
        const int o = std::min(order, steps + 1 - k);  // lower order on the final step
        const float tk = T[std::size_t(k)];
        if (o == 2) second_order(T[std::size_t(k - 2)], m_old, T[std::size_t(k - 1)], m_new, tk);
        else first_order(T[std::size_t(k - 1)], tk, m_new);
        detail::report(progress, k, steps, x);
        if (k < steps) {
            m_old = std::move(m_new);
            m_new = data_pred(x, tk);
        }
    }
    return x;
}

/// The same with a noise source, for a uniform sampler interface: DPM-Solver never draws.
template <EpsModel M, NoiseSource S, StepCallback P = NoProgress>
Latent dpm_solver(M&& model, const LatentView& z, const LatentView& x_ref, int steps, S& /*noise*/,
                  P&& progress = P{}) {
    return dpm_solver(std::forward<M>(model), z, x_ref, steps, std::forward<P>(progress));
}

}  // namespace cascadev::diffusion
