#pragma once
// Noise schedules of the three samplers (docs/reference/samplers.md, sections 2 and 5).
//
//  - DiscreteSchedule: the 1000-step linear-beta schedule of diffusers' Euler-ancestral
//    and DDIM schedulers. Tables are computed in double and rounded to float32 where the
//    reference keeps float32: A_n = float32(prod (1 - beta_k)), sigma_n = float32(
//    sqrt((1 - A_n) / A_n)) from the *rounded* A_n (section 2).
//  - euler_a_timesteps / euler_a_sigmas, ddim_timesteps: the per-run grids.
//  - VPSchedule: PixArt's continuous-time schedule for DPM-Solver (section 5.1): a float32
//    table of log(alpha) on the grid tau_n = (n + 1) / 1000, interpolated piecewise
//    linearly in float32; alpha, sigma, lambda in float32 as the reference evaluates them.
//  - dpms_times / dpms_model_time: the time-uniform grid and the model's time value.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <vector>

#include "cascadev/core/error.hpp"

namespace cascadev::diffusion {

inline constexpr int num_train_timesteps = 1000;
inline constexpr double beta_start = 0.0001;
inline constexpr double beta_end = 0.02;

/// The discrete training schedule (1000 steps, linear betas).
struct DiscreteSchedule {
    std::array<double, num_train_timesteps> betas{};           ///< beta_n, double
    std::array<double, num_train_timesteps> alphas_cumprod_d{};  ///< prod (1 - beta_k), double
    std::array<float, num_train_timesteps> alphas_cumprod{};   ///< A_n = float32(alpha_bar_n)
    std::array<float, num_train_timesteps> sigmas{};           ///< float32(sqrt((1 - A_n) / A_n))

    DiscreteSchedule() {
        double prod = 1.0;
        for (int n = 0; n < num_train_timesteps; ++n) {
            const double b = beta_start + (beta_end - beta_start) * double(n) / double(num_train_timesteps - 1);
            betas[std::size_t(n)] = b;
            prod *= 1.0 - b;
            alphas_cumprod_d[std::size_t(n)] = prod;
            const float a = float(prod);
            alphas_cumprod[std::size_t(n)] = a;
            const double ad = double(a);
            sigmas[std::size_t(n)] = float(std::sqrt((1.0 - ad) / ad));
        }
    }
};

/// The schedule, computed once.
inline const DiscreteSchedule& discrete_schedule() {
    static const DiscreteSchedule s;
    return s;
}

inline void check_steps(int steps, const char* sampler) {
    if (steps < 1 || steps > num_train_timesteps)
        fail(sampler, ": steps must be in 1..", num_train_timesteps, ", got ", steps);
}

// ---------------------------------------------------------------------------------
// Euler ancestral (section 3)
// ---------------------------------------------------------------------------------

/// N timesteps evenly spaced from 999 down to 0 (numpy's float64 linspace rounded to
/// float32); N = 1 gives the single timestep 0.
inline std::vector<float> euler_a_timesteps(int steps) {
    check_steps(steps, "Euler ancestral");
    std::vector<float> ts(static_cast<std::size_t>(steps));
    const double last = double(num_train_timesteps - 1);
    if (steps == 1) {
        ts[0] = 0.0f;
        return ts;
    }
    const double step = last / double(steps - 1);
    for (int i = 0; i < steps; ++i) {
        const int j = steps - 1 - i;  // position in the ascending linspace
        ts[std::size_t(i)] = j == steps - 1 ? float(last) : float(double(j) * step);
    }
    return ts;
}

/// sigma at a fractional timestep: linear interpolation of the float32 training sigmas,
/// evaluated in double (numpy.interp's formula), rounded to float32.
inline float interp_sigma(float t) {
    const auto& s = discrete_schedule().sigmas;
    const double x = double(t);
    const int last = num_train_timesteps - 1;
    if (x <= 0.0) return s[0];
    if (x >= double(last)) return s[std::size_t(last)];
    const int k = int(std::floor(x));
    const double ya = double(s[std::size_t(k)]), yb = double(s[std::size_t(k + 1)]);
    const double slope = (yb - ya) / 1.0;
    return float(slope * (x - double(k)) + ya);
}

/// N + 1 sigmas: sigma(t_i) for the N timesteps, then 0.
inline std::vector<float> euler_a_sigmas(int steps) {
    const auto ts = euler_a_timesteps(steps);
    std::vector<float> sig(ts.size() + 1, 0.0f);
    for (std::size_t i = 0; i < ts.size(); ++i) sig[i] = interp_sigma(ts[i]);
    return sig;
}

// ---------------------------------------------------------------------------------
// DDIM (section 4)
// ---------------------------------------------------------------------------------

/// "leading" spacing, no offset: t_i = (N - 1 - i) * (1000 div N).
inline std::vector<int> ddim_timesteps(int steps) {
    check_steps(steps, "DDIM");
    const int r = num_train_timesteps / steps;
    std::vector<int> ts(static_cast<std::size_t>(steps));
    for (int i = 0; i < steps; ++i) ts[std::size_t(i)] = (steps - 1 - i) * r;
    return ts;
}

// ---------------------------------------------------------------------------------
// DPM-Solver (section 5)
// ---------------------------------------------------------------------------------

/// PixArt's continuous-time VP schedule built from the discrete linear betas.
class VPSchedule {
public:
    static constexpr int total_n = num_train_timesteps;

    VPSchedule() {
        // betas = linspace(0.0001, 0.02, 1000) in double (numpy's linspace: start + i * step,
        // the last one exactly the end), log(alpha) = 0.5 * cumsum(log(1 - beta)) in double.
        const double start = beta_start * 1000.0 / double(total_n);
        const double end = beta_end * 1000.0 / double(total_n);
        const double step = (end - start) / double(total_n - 1);
        double acc = 0.0;
        for (int n = 0; n < total_n; ++n) {
            const double b = n == total_n - 1 ? end : double(n) * step + start;
            acc += std::log(1.0 - b);
            log_alpha_d_[std::size_t(n)] = 0.5 * acc;
            log_alpha_[std::size_t(n)] = float(0.5 * acc);
            t_grid_[std::size_t(n)] = float(double(n + 1) / double(total_n));
        }
        // The reference drops trailing entries with lambda < -5.1; for this schedule the
        // smallest lambda is -5.0588, so nothing is dropped (checked here).
        const double la = log_alpha_d_[std::size_t(total_n - 1)];
        const double lam = la - 0.5 * std::log(1.0 - std::exp(2.0 * la));
        if (lam < -5.1) fail("VPSchedule: unexpected lambda ", lam, " < -5.1 at the end of the schedule");
    }

    const std::array<float, total_n>& log_alpha_table() const { return log_alpha_; }
    const std::array<double, total_n>& log_alpha_table_double() const { return log_alpha_d_; }
    const std::array<float, total_n>& t_grid() const { return t_grid_; }

    /// Piecewise-linear log(alpha_t), float32 (outside the grid: the outermost segments).
    float log_alpha(float t) const {
        // the last keypoint <= t, clamped to [0, total_n - 2]
        const auto it = std::upper_bound(t_grid_.begin(), t_grid_.end(), t);
        int j = int(it - t_grid_.begin()) - 1;
        j = std::clamp(j, 0, total_n - 2);
        const float xa = t_grid_[std::size_t(j)], xb = t_grid_[std::size_t(j + 1)];
        const float ya = log_alpha_[std::size_t(j)], yb = log_alpha_[std::size_t(j + 1)];
        const float num = (t - xa) * (yb - ya);
        return ya + num / (xb - xa);
    }
    float alpha(float t) const { return std::exp(log_alpha(t)); }
    float sigma(float t) const {
        const float la = log_alpha(t);
        return std::sqrt(1.0f - std::exp(2.0f * la));
    }
    float lambda(float t) const {
        const float la = log_alpha(t);
        return la - 0.5f * std::log(1.0f - std::exp(2.0f * la));
    }

private:
    std::array<double, total_n> log_alpha_d_{};
    std::array<float, total_n> log_alpha_{};
    std::array<float, total_n> t_grid_{};
};

inline const VPSchedule& vp_schedule() {
    static const VPSchedule s;
    return s;
}

/// Time-uniform grid: N + 1 float32 times from 1 down to 1/1000 (computed in double and
/// rounded once; the reference's float32 linspace may differ from it by one ulp).
inline std::vector<float> dpms_times(int steps) {
    if (steps < 1) fail("DPM-Solver: steps must be >= 1, got ", steps);
    const double t0 = 1.0, t1 = 1.0 / double(VPSchedule::total_n);
    std::vector<float> ts(static_cast<std::size_t>(steps) + 1);
    for (int k = 0; k <= steps; ++k)
        ts[std::size_t(k)] = k == steps ? float(t1) : float(t0 + double(k) * (t1 - t0) / double(steps));
    return ts;
}

/// The time value the model receives at continuous time T: (T - 1/1000) * 1000 in float32.
inline float dpms_model_time(float T) {
    const float d = T - float(1.0 / double(VPSchedule::total_n));
    return d * 1000.0f;
}

}  // namespace cascadev::diffusion
