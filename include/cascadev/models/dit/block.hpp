#pragma once
// One DiT transformer block (docs/reference/dit.md §5) on whole videos with one attention
// layout (§6). Every per-token part (LayerNorm, modulation, qkv, proj, MLP) runs on the
// video's tokens in place; only the attention core sees the layout, as a window → token
// index map, so no activation is permuted into a copy.
#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "cascadev/backend/cpu.hpp"
#include "cascadev/core.hpp"
#include "cascadev/io/weight_store.hpp"
#include "cascadev/attention.hpp"
#include "cascadev/models/dit/config.hpp"

namespace cascadev::models {

namespace detail {

/// out[r] = LN(x[r]) ⊙ (1 + scale) + shift for rows r of x [rows, C] (LN over C, ε = 1e-6,
/// no affine), in float32 as the reference orders it.
template <index_t C>
void ln_modulate(const View<const float, Extents<dyn, C>, cpu>& x, const float* shift, const float* scale,
                 const View<float, Extents<dyn, C>, cpu>& out) {
    layer_norm(x, out, 1e-6);
    const index_t rows = x.extent(0);
    parallel_for(rows, C, [&](index_t r) {
        float* o = out.data() + r * C;
        for (index_t c = 0; c < C; ++c) o[c] = o[c] * (1.0f + scale[c]) + shift[c];
    });
}

}  // namespace detail

template <DitVariant V>
struct DitBlock {
    static constexpr index_t C = V::hidden, H = V::heads, D = V::head_dim, Cm = V::mlp_hidden;
    /// MLP rows per chunk (bounds the [rows, 4C] intermediate).
    static constexpr index_t mlp_chunk = 8192;

    Tensor<float, Extents<6, C>> scale_shift_table;
    Tensor<float, Extents<3 * C, C>> qkv_w;
    Tensor<float, Extents<3 * C>> qkv_b;
    Tensor<float, Extents<C, C>> proj_w;
    Tensor<float, Extents<C>> proj_b;
    Tensor<float, Extents<Cm, C>> fc1_w;
    Tensor<float, Extents<Cm>> fc1_b;
    Tensor<float, Extents<C, Cm>> fc2_w;
    Tensor<float, Extents<C>> fc2_b;

    /// Binds blocks.{i}.* (b is the model-level binder).
    void bind(io::Binder& b, index_t i) {
        auto c = b.child("blocks." + std::to_string(i));
        c.bind("scale_shift_table", scale_shift_table);
        c.bind("attn.qkv.weight", qkv_w);
        c.bind("attn.qkv.bias", qkv_b);
        c.bind("attn.proj.weight", proj_w);
        c.bind("attn.proj.bias", proj_b);
        c.bind("mlp.fc1.weight", fc1_w);
        c.bind("mlp.fc1.bias", fc1_b);
        c.bind("mlp.fc2.weight", fc2_w);
        c.bind("mlp.fc2.bias", fc2_b);
    }

    /// x [B, frames·gh·gw, C] (contiguous, updated in place), t6 [B, 6C]: the block on each
    /// video with layout `strides` (nullopt: full 3-D attention; else [ts, xs] windows).
    void operator()(const View<float, Extents<dyn, dyn, C>, cpu>& x, const View<const float, Extents<dyn, 6 * C>, cpu>& t6,
                    const StridesEntry& strides, index_t frames, index_t gh, index_t gw) const {
        const index_t B = x.extent(0), M = x.extent(1), R = B * M;
        if (!x.is_contiguous()) fail("dit block: x ", x.extents().str(), " must be contiguous");
        if (t6.extent(0) != B) fail("dit block: t6 ", t6.extents().str(), " does not match x ", x.extents().str());
        if (frames * gh * gw != M)
            fail("dit block: ", M, " tokens per video is not frames ", frames, " x grid ", gh, "x", gw);
        if (R == 0) return;
        const auto layout = AttentionLayout::from_strides(TokenGrid{frames, gh, gw}, strides, B);

        // m[v] = scale_shift_table + t6[v]: (shift_a, scale_a, gate_a, shift_m, scale_m, gate_m).
        std::vector<float> m(static_cast<std::size_t>(B * 6 * C));
        for (index_t v = 0; v < B; ++v)
            for (index_t k = 0; k < 6 * C; ++k)
                m[std::size_t(v * 6 * C + k)] = scale_shift_table.data()[k] + t6(v, k);
        auto mod = [&](index_t v, index_t r) { return m.data() + (v * 6 + r) * C; };
        const View<float, Extents<dyn, C>, cpu> xr(x.data(), Extents<dyn, C>(R));
        Tensor<float, Extents<dyn, C>> h(R), a(R);

        auto modulate_all = [&](index_t shift_r, index_t scale_r) {
            for (index_t v = 0; v < B; ++v) {
                const View<const float, Extents<dyn, C>, cpu> xv(x.data() + v * M * C, Extents<dyn, C>(M));
                const View<float, Extents<dyn, C>, cpu> hv(h.data() + v * M * C, Extents<dyn, C>(M));
                detail::ln_modulate<C>(xv, mod(v, shift_r), mod(v, scale_r), hv);
            }
        };
        auto gated_residual = [&](index_t gate_r) {
            parallel_for(R, C, [&](index_t r) {
                float* xp = xr.data() + r * C;
                const float* ap = a.data() + r * C;
                const float* g = mod(r / M, gate_r);
                for (index_t c = 0; c < C; ++c) xp[c] = xp[c] + g[c] * ap[c];
            });
        };

        // Attention branch: q, k, v are column slices of one [R, 3C] buffer.
        modulate_all(0, 1);
        {
            Tensor<float, Extents<dyn, 3 * C>> qkv(R);
            linear(h, qkv_w, qkv_b, qkv);
            using QV = View<const float, Extents<dyn, C>, cpu>;
            const std::array<index_t, 2> st{3 * C, 1};
            const QV q(qkv.data(), Extents<dyn, C>(R), st), k(qkv.data() + C, Extents<dyn, C>(R), st),
                vv(qkv.data() + 2 * C, Extents<dyn, C>(R), st);
            multi_head_attention<int(H), int(D)>(q, k, vv, h, layout);  // h is free again: attention output
        }
        linear(h, proj_w, proj_b, a);
        gated_residual(2);

        // MLP branch, in row chunks (bounds the [rows, 4C] intermediate).
        modulate_all(3, 4);
        const index_t chunk = std::min<index_t>(R, mlp_chunk);
        Tensor<float, Extents<dyn, Cm>> f(chunk);
        for (index_t r0 = 0; r0 < R; r0 += chunk) {
            const index_t rows = std::min(chunk, R - r0);
            const View<const float, Extents<dyn, C>, cpu> hin(h.data() + r0 * C, Extents<dyn, C>(rows));
            const View<float, Extents<dyn, Cm>, cpu> fv(f.data(), Extents<dyn, Cm>(rows));
            const View<float, Extents<dyn, C>, cpu> av(a.data() + r0 * C, Extents<dyn, C>(rows));
            linear(hin, fc1_w, fc1_b, fv);
            gelu_tanh_inplace(fv);
            linear(fv, fc2_w, fc2_b, av);
        }
        gated_residual(5);
    }
};

}  // namespace cascadev::models
