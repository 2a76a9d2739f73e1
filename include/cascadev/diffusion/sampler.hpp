#pragma once
// Choosing a sampler at run time: the three samplers behind one call.
#include <string>
#include <string_view>
#include <utility>

#include "cascadev/diffusion/ddim.hpp"
#include "cascadev/diffusion/dpm_solver.hpp"
#include "cascadev/diffusion/euler_ancestral.hpp"

namespace cascadev::diffusion {

enum class Sampler { euler_a, ddim, dpms };

/// "euler_a" / "EulerA", "ddim" / "DDIM", "dpms" / "DPMS" (the reference script's names).
inline Sampler parse_sampler(std::string_view s) {
    if (s == "euler_a" || s == "EulerA") return Sampler::euler_a;
    if (s == "ddim" || s == "DDIM") return Sampler::ddim;
    if (s == "dpms" || s == "DPMS") return Sampler::dpms;
    fail("unknown sampler \"", std::string(s), "\" (expected euler_a, ddim or dpms)");
}

inline const char* sampler_name(Sampler s) {
    switch (s) {
        case Sampler::euler_a: return "euler_a";
        case Sampler::ddim: return "ddim";
        case Sampler::dpms: return "dpms";
    }
    return "?";
}

/// Runs the chosen sampler from z (the starting standard-normal tensor, unscaled).
/// Only Euler ancestral draws from `noise` (one tensor per step).
template <EpsModel M, NoiseSource S, StepCallback P = NoProgress>
Latent sample(Sampler kind, M&& model, const LatentView& z, const LatentView& x_ref, int steps, S& noise,
              P&& progress = P{}) {
    switch (kind) {
        case Sampler::euler_a:
            return euler_ancestral(std::forward<M>(model), z, x_ref, steps, noise, std::forward<P>(progress));
        case Sampler::ddim: return ddim(std::forward<M>(model), z, x_ref, steps, std::forward<P>(progress));
        case Sampler::dpms: return dpm_solver(std::forward<M>(model), z, x_ref, steps, std::forward<P>(progress));
    }
    fail("sample: invalid sampler");
}

}  // namespace cascadev::diffusion
