#pragma once
// Deterministic random weights for any model that binds through io::Binder: for demos,
// smoke tests and benchmarks without the released checkpoints.
//
//   auto specs = pipeline::parameter_specs([](io::Binder& b) { models::Dit<DitTiny>().bind(b); }, "dit.");
//   io::WeightStore store = pipeline::random_weight_store(specs, seed, tmp_file);
//
// parameter_specs binds the model against an empty store and reads the Binder's list of
// requested keys and shapes: the keys the model binds.
// Values depend only on (seed, key): a weight of fan-in n is N(0, 1/n) (so activations keep
// their scale), a 1-D `weight` (norm scales) 1 + 0.1·N(0, 1), a bias 0.02·N(0, 1),
// `running_var` in [0.5, 1.5], `running_mean` 0.1·N(0, 1).
#include <cmath>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "cascadev/core/error.hpp"
#include "cascadev/core/tensor.hpp"
#include "cascadev/diffusion/noise.hpp"
#include "cascadev/io/safetensors.hpp"
#include "cascadev/io/weight_store.hpp"

namespace cascadev::pipeline {

struct ParamSpec {
    std::string key;
    std::vector<index_t> shape;
};

/// The keys (with `prefix`) and shapes a model binds; `bind(binder)` binds the model.
inline std::vector<ParamSpec> parameter_specs(const std::function<void(io::Binder&)>& bind, const std::string& prefix = "") {
    const io::WeightStore empty;
    io::Binder b(empty, prefix);
    bind(b);
    std::vector<ParamSpec> specs;
    for (const auto& r : b.requested()) specs.push_back({r.key, r.shape});
    return specs;
}

namespace random_weights_detail {
inline std::uint64_t fnv1a(const std::string& s) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}
inline bool ends_with(const std::string& s, const std::string& t) {
    return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}
}  // namespace random_weights_detail

/// One random tensor for `spec` (see the header comment for the distributions).
inline Tensor<float, DExtents<1>> random_parameter(const ParamSpec& spec, std::uint64_t seed) {
    using namespace random_weights_detail;
    index_t n = 1;
    for (index_t d : spec.shape) n *= d;
    Tensor<float, DExtents<1>> t(n);
    diffusion::PhiloxGenerator gen(seed, fnv1a(spec.key));
    const index_t one = n;
    gen.fill(t.data(), std::span<const index_t>(&one, 1));
    float* p = t.data();
    const std::string& k = spec.key;
    if (ends_with(k, "running_var")) {
        for (index_t i = 0; i < n; ++i) p[i] = 1.0f + 0.5f * std::tanh(p[i]);
    } else if (ends_with(k, "running_mean")) {
        for (index_t i = 0; i < n; ++i) p[i] *= 0.1f;
    } else if (ends_with(k, "bias")) {
        for (index_t i = 0; i < n; ++i) p[i] *= 0.02f;
    } else if (spec.shape.size() <= 1) {
        for (index_t i = 0; i < n; ++i) p[i] = 1.0f + 0.1f * p[i];
    } else {
        index_t fan_in = 1;
        for (std::size_t d = 1; d < spec.shape.size(); ++d) fan_in *= spec.shape[d];
        const float s = 1.0f / std::sqrt(float(std::max<index_t>(fan_in, 1)));
        for (index_t i = 0; i < n; ++i) p[i] *= s;
    }
    return t;
}

/// Writes random tensors for every spec to `file` (float32 safetensors, atomically).
inline void write_random_weights(const std::vector<ParamSpec>& specs, std::uint64_t seed, const std::filesystem::path& file) {
    io::SafetensorsWriter w;
    for (const auto& s : specs) {
        const auto t = random_parameter(s, seed);
        const auto* b = reinterpret_cast<const std::byte*>(t.data());
        w.add_raw(s.key, DType::F32, s.shape, std::span<const std::byte>(b, std::size_t(t.size()) * sizeof(float)));
    }
    w.set_metadata("cascadev", "random weights, seed " + std::to_string(seed));
    w.write(file);
}

/// A WeightStore of random weights for `specs`. The tensors go through a temporary
/// safetensors file in `tmp_dir` that is unlinked once mapped (nothing is left behind).
inline io::WeightStore random_weight_store(const std::vector<ParamSpec>& specs, std::uint64_t seed,
                                           const std::filesystem::path& tmp_dir = std::filesystem::temp_directory_path()) {
    const auto file = tmp_dir / ("cascadev-random-" + std::to_string(::getpid()) + "-" + std::to_string(seed) + ".safetensors");
    write_random_weights(specs, seed, file);
    struct Remove {
        std::filesystem::path f;
        ~Remove() {
            std::error_code ec;
            std::filesystem::remove(f, ec);
        }
    } remove{file};
    return io::WeightStore(file);
}

}  // namespace cascadev::pipeline
