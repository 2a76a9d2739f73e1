#pragma once
// Final layer and unpatchify (docs/reference/dit.md §7).
#include <string>
#include <vector>

#include "cascadev/backend/cpu.hpp"
#include "cascadev/core.hpp"
#include "cascadev/io/weight_store.hpp"
#include "cascadev/models/dit/block.hpp"
#include "cascadev/models/dit/config.hpp"

namespace cascadev::models {

template <DitVariant V>
struct FinalLayer {
    static constexpr index_t C = V::hidden, p = V::patch, Cout = V::out_channels, Po = p * p * Cout;
    Tensor<float, Extents<2, C>> scale_shift_table;
    Tensor<float, Extents<Po, C>> weight;
    Tensor<float, Extents<Po>> bias;

    void bind(io::Binder& b) {
        auto c = b.child("final_layer");
        c.bind("scale_shift_table", scale_shift_table);
        c.bind("linear.weight", weight);
        c.bind("linear.bias", bias);
    }

    /// x [N·gh·gw, C] (frame-major tokens), t [N, C] (per frame) → y [N, C_out, gh·p, gw·p].
    Tensor<float, Extents<dyn, Cout, dyn, dyn>> operator()(const View<const float, Extents<dyn, C>, cpu>& x,
                                                          const View<const float, Extents<dyn, C>, cpu>& t, index_t gh,
                                                          index_t gw) const {
        const index_t N = t.extent(0), n = gh * gw;
        if (x.extent(0) != N * n) fail("final_layer: ", x.extent(0), " tokens for ", N, " frames of ", gh, "x", gw);
        Tensor<float, Extents<dyn, C>> h(N * n);
        std::vector<float> shift(static_cast<std::size_t>(C)), scale(static_cast<std::size_t>(C));
        for (index_t k = 0; k < N; ++k) {
            for (index_t c = 0; c < C; ++c) {
                shift[std::size_t(c)] = scale_shift_table.data()[c] + t(k, c);
                scale[std::size_t(c)] = scale_shift_table.data()[C + c] + t(k, c);
            }
            const View<const float, Extents<dyn, C>, cpu> xk(x.data() + k * n * C, Extents<dyn, C>(n));
            const View<float, Extents<dyn, C>, cpu> hk(h.data() + k * n * C, Extents<dyn, C>(n));
            detail::ln_modulate<C>(xk, shift.data(), scale.data(), hk);
        }
        Tensor<float, Extents<dyn, Po>> o(N * n);
        linear(h, weight, bias, o);
        Tensor<float, Extents<dyn, Cout, dyn, dyn>> y(N, gh * p, gw * p);
        const index_t Hh = gh * p, Ww = gw * p;
        parallel_for(N * Cout, Hh * Ww, [&](index_t kc) {
            const index_t k = kc / Cout, c = kc % Cout;
            float* yp = y.data() + kc * Hh * Ww;
            for (index_t i = 0; i < gh; ++i)
                for (index_t u = 0; u < p; ++u)
                    for (index_t j = 0; j < gw; ++j)
                        for (index_t v = 0; v < p; ++v)
                            yp[(i * p + u) * Ww + j * p + v] = o.data()[(k * n + i * gw + j) * Po + (u * p + v) * Cout + c];
        });
        return y;
    }
};

}  // namespace cascadev::models
