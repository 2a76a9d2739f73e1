#pragma once
// --rng / --noise of the example programs: which noise source the refine stage draws from.
#include <string>

#include "cascadev/core/error.hpp"
#include "cascadev/diffusion.hpp"
#include "cli.hpp"

namespace cascadev::examples {

inline constexpr const char* rng_help =
    "noise generator: torch (PyTorch's CPU randn, bit-exact), torch-cuda[:GPU] (PyTorch's CUDA randn as drawn "
    "on GPU, default a100; the reference's recon.sh noise; docs/noise.md) or philox (counter-based)";

/// Recorded tensors noise_0, noise_1, ... when `recorded` names a file, else the generator
/// `rng` seeded with `seed`: "torch", "philox", or "torch-cuda" / "torch-cuda:GPU" (the
/// launch shape of that GPU, e.g. torch-cuda:h100).
inline diffusion::AnyNoise make_noise(const std::string& rng, std::uint64_t seed, const std::string& recorded = {}) {
    if (!recorded.empty()) return diffusion::RecordedNoise(recorded);
    if (rng == "torch") return diffusion::TorchCpuGenerator(seed);
    if (rng == "philox") return diffusion::PhiloxGenerator(seed);
    if (rng == "torch-cuda") return diffusion::TorchCudaGenerator(seed);
    if (rng.rfind("torch-cuda:", 0) == 0) {
        try {
            return diffusion::TorchCudaGenerator(seed, diffusion::cuda_gpu_preset(rng.substr(11)));
        } catch (const std::exception& e) {
            throw UsageError(std::string("--rng: ") + e.what());
        }
    }
    throw UsageError("--rng: expected torch, torch-cuda[:GPU] or philox, got \"" + rng + "\"");
}

}  // namespace cascadev::examples
