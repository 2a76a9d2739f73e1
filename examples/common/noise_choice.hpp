#pragma once
// --rng / --noise of the example programs: which noise source the refine stage draws from.
#include <string>

#include "cascadev/core/error.hpp"
#include "cascadev/diffusion.hpp"
#include "cli.hpp"

namespace cascadev::examples {

inline constexpr const char* rng_help =
    "noise generator: torch (PyTorch's CPU randn, bit-exact) or philox (counter-based, thread-count independent)";

/// Recorded tensors noise_0, noise_1, ... when `recorded` names a file, else the generator
/// `rng` seeded with `seed`.
inline diffusion::AnyNoise make_noise(const std::string& rng, std::uint64_t seed, const std::string& recorded = {}) {
    if (!recorded.empty()) return diffusion::RecordedNoise(recorded);
    if (rng == "torch") return diffusion::TorchCpuGenerator(seed);
    if (rng == "philox") return diffusion::PhiloxGenerator(seed);
    throw UsageError("--rng: expected torch or philox, got \"" + rng + "\"");
}

}  // namespace cascadev::examples
