#pragma once
// The DiT as the samplers' eps model (docs/reference/samplers.md §1):
//
//     eps = model(x, x_ref, t) = first 4 channels of
//           dit.forward_with_dpmsolver(cat([x, x_ref], dim=1), t repeated N times)
//
// x [N, 4, H, W], x_ref [N, C_in - 4, H, W]; forward_with_dpmsolver (the long/large video
// entry: temporal windows with blending, spatial tiles) already returns the first
// C_out / 2 channels, so N ≥ lats_per_vid and H, W ≥ input_size.
#include <algorithm>
#include <cstring>
#include <vector>

#include "cascadev/backend/cpu/parallel.hpp"
#include "cascadev/core/error.hpp"
#include "cascadev/core/tensor.hpp"
#include "cascadev/diffusion/model.hpp"
#include "cascadev/models/dit.hpp"

namespace cascadev::pipeline {

/// Concatenates x [N, Cx, H, W] and x_ref [N, Cr, H, W] along the channels into a new
/// contiguous [N, Cx + Cr, H, W] tensor (torch.cat([x, x_ref], 1)); the inputs may be strided.
inline Tensor<float, DExtents<4>> concat_channels(const diffusion::LatentView& x, const diffusion::LatentView& x_ref) {
    const index_t N = x.extent(0), Cx = x.extent(1), Cr = x_ref.extent(1), H = x.extent(2), W = x.extent(3);
    if (x_ref.extent(0) != N || x_ref.extent(2) != H || x_ref.extent(3) != W)
        fail("concat_channels: x ", x.extents().str(), " and x_ref ", x_ref.extents().str(),
             " differ in frames, height or width");
    Tensor<float, DExtents<4>> cat(N, Cx + Cr, H, W);
    const index_t C = Cx + Cr;
    // One plane per task; each output element is written by exactly one thread.
    parallel_for(N * C, H * W, [&](index_t p) {
        const index_t n = p / C, ch = p % C;
        float* dst = cat.data() + p * H * W;
        const bool from_x = ch < Cx;
        const auto& src = from_x ? x : x_ref;
        const index_t c = from_x ? ch : ch - Cx;
        const auto s = src.strides();
        const float* base = src.data() + n * s[0] + c * s[1];
        if (s[3] == 1 && s[2] == W) {
            std::memcpy(dst, base, std::size_t(H * W) * sizeof(float));
        } else {
            for (index_t h = 0; h < H; ++h)
                for (index_t w = 0; w < W; ++w) dst[h * W + w] = base[h * s[2] + w * s[3]];
        }
    });
    return cat;
}

/// The DiT as an EpsModel. Holds a reference to the (loaded) model; cheap to copy.
template <models::DitVariant V>
struct DitEpsModel {
    const models::Dit<V>& dit;

    /// eps [N, C_out/2, H, W] for x [N, 4, H, W], x_ref [N, C_in - 4, H, W] at time t.
    auto operator()(const diffusion::LatentView& x, const diffusion::LatentView& x_ref, float t) const {
        using D = models::Dit<V>;
        if (x.extent(1) + x_ref.extent(1) != D::Cin)
            fail("dit eps model: x ", x.extents().str(), " and x_ref ", x_ref.extents().str(), " give ",
                 x.extent(1) + x_ref.extent(1), " channels, the DiT (", V::name, ") takes ", D::Cin);
        const auto cat = concat_channels(x, x_ref);
        const std::vector<float> tau(std::size_t(x.extent(0)), t);
        return dit.forward_with_dpmsolver(View<const float, DExtents<4>, cpu>(cat.view()), tau);
    }
};

template <models::DitVariant V>
DitEpsModel(const models::Dit<V>&) -> DitEpsModel<V>;

static_assert(diffusion::EpsModel<DitEpsModel<models::DitTiny>>);

}  // namespace cascadev::pipeline
