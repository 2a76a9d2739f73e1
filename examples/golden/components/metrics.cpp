#include "../registry.hpp"
#include "cascadev/video/metrics.hpp"

namespace cascadev::golden {

namespace {
Tensor<float, DExtents<1>> to_f32(const std::vector<double>& v) {
    Tensor<float, DExtents<1>> t(index_t(v.size()));
    for (std::size_t i = 0; i < v.size(); ++i) t.data()[i] = float(v[i]);
    return t;
}
}  // namespace

/// metrics: per-frame PSNR and SSIM of two uint8 clips [T, H, W, 3] and their means
/// (metrics.md); computed in double, returned as float32 like the recorded values.
Outputs run_metrics(const GoldenCase& c, const std::string& device) {
    require_cpu(device, c.component());
    const auto a = c.io().load<std::uint8_t, 4>("a");
    const auto b = c.io().load<std::uint8_t, 4>("b");
    const auto r = video::compute_metrics(a.view(), b.view());
    Outputs out;
    out["psnr"] = NamedArray::from(to_f32(r.psnr));
    out["ssim"] = NamedArray::from(to_f32(r.ssim));
    out["psnr_mean"] = NamedArray::from(to_f32({r.psnr_mean}));
    out["ssim_mean"] = NamedArray::from(to_f32({r.ssim_mean}));
    return out;
}

}  // namespace cascadev::golden
