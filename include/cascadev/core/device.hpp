#pragma once
// Device tags. A module or tensor is instantiated per device; the CUDA storage is
// defined in backend/cuda/storage.cuh so a CPU-only user never needs nvcc.
#include <cstddef>

namespace cascadev {

struct cpu { static constexpr const char* name = "cpu"; };
struct cuda { static constexpr const char* name = "cuda"; };

/// Owning buffer of `n` elements on a device; specialised per device tag.
template <class T, class Device>
class Storage;

}  // namespace cascadev
