#include "../registry.hpp"
#include "cascadev/diffusion/noise.hpp"

namespace cascadev::golden {

/// rng.torch_cpu: torch.manual_seed(seed); torch.randn(shape), float32, bit for bit.
Outputs run_rng_torch_cpu(const GoldenCase& c, const std::string& device) {
    require_cpu(device, c.component());
    const auto shape = c.param<std::vector<index_t>>("shape");
    diffusion::TorchCpuGenerator gen(c.param<std::uint64_t>("seed"));
    NamedArray a{DType::F32, shape, {}};
    index_t n = 1;
    for (index_t d : shape) n *= d;
    std::vector<float> v(static_cast<std::size_t>(n));
    gen.randn(v.data(), v.size());
    const auto* p = reinterpret_cast<const std::byte*>(v.data());
    a.bytes.assign(p, p + v.size() * sizeof(float));
    return {{"x", std::move(a)}};
}

}  // namespace cascadev::golden
