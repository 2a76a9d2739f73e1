#pragma once
// The CascadeV DiT (docs/reference/dit.md): forward on clips of lats_per_vid frames of
// side input_size (§8, §9), spatial tiling (§10) and temporal windows (§11) for any
// frame count ≥ lats_per_vid and any H, W ≥ input_size.
#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cascadev/backend/cpu.hpp"
#include "cascadev/core.hpp"
#include "cascadev/io/weight_store.hpp"
#include "cascadev/models/dit/block.hpp"
#include "cascadev/models/dit/config.hpp"
#include "cascadev/models/dit/embeddings.hpp"
#include "cascadev/models/dit/final_layer.hpp"

namespace cascadev::models {

/// Tile origins along an axis of `size` for tiles of S (§10): 0, step, 2·step, … while the
/// tile ends strictly inside, then one flush with the end; step = round(0.75·S), halves to even.
inline std::vector<index_t> dit_tile_starts(index_t size, index_t S) {
    if (size < S) fail("dit: size ", size, " is smaller than input_size ", S);
    const auto step = index_t(std::nearbyint(0.75 * double(S)));
    std::vector<index_t> out;
    for (index_t b = 0; b + S < size; b += step) out.push_back(b);
    out.push_back(size - S);
    return out;
}

/// Temporal window starts for n frames and windows of L (§11): every L/2, the last flush.
inline std::vector<index_t> dit_window_starts(index_t n, index_t L) {
    if (n < L) fail("dit: ", n, " frames, need at least lats_per_vid = ", L);
    const index_t h = std::max<index_t>(L / 2, 1);
    std::vector<index_t> out;
    for (index_t b = 0; b < n; b += h) {
        if (b + L >= n) {
            out.push_back(n - L);
            break;
        }
        out.push_back(b);
    }
    return out;
}

/// Blend weights of a window overlapping `ov` already written frames (§11): 1 everywhere,
/// except w[m] = linspace(0, 1, ov)[m] (float32) for m < ov when ov ≥ 2.
inline std::vector<float> dit_blend_weights(index_t L, index_t ov) {
    std::vector<float> w(std::size_t(L), 1.0f);
    if (ov >= 2) {
        const double step = 1.0 / double(ov - 1);
        for (index_t m = 0; m < ov && m < L; ++m) w[std::size_t(m)] = float(double(m) * step);
        if (ov - 1 < L) w[std::size_t(ov - 1)] = 1.0f;
    }
    return w;
}

template <DitVariant V>
struct Dit {
    using variant = V;
    static constexpr index_t C = V::hidden, Cin = V::in_channels, Cout = V::out_channels, p = V::patch;
    static constexpr index_t S = V::input_size, L = V::lats_per_vid;

    PatchEmbed<V> x_embedder;
    TimestepEmbedder<V> t_embedder;
    TBlock<V> t_block;
    std::vector<DitBlock<V>> blocks;
    FinalLayer<V> final_layer;

    Dit() : blocks(std::size_t(V::depth)) {}
    /// Allocates only the first `allocated_blocks` blocks (e.g. 0 to run embed() alone).
    explicit Dit(index_t allocated_blocks) : blocks(std::size_t(allocated_blocks)) {}

    /// Binds every parameter by its released key name. A `pos_embed` buffer (PixArt
    /// checkpoints carry one; the reference deletes it before loading) is ignored: the
    /// table is recomputed for every call.
    void bind(io::Binder& b) {
        b.ignore("pos_embed");
        x_embedder.bind(b);
        t_embedder.bind(b);
        t_block.bind(b);
        for (index_t i = 0; i < V::depth; ++i) blocks[std::size_t(i)].bind(b, i);
        final_layer.bind(b);
    }
    /// Loads all 8 + 9·depth + 3 tensors; one error lists every missing or mis-shaped key
    /// (and unexpected ones unless allowed).
    void load(const io::WeightStore& store, bool allow_unexpected = false) {
        io::Binder b(store);
        bind(b);
        b.finish(allow_unexpected);
    }

    /// Frames per video and pe_interpolation for square frames of side s (§9).
    static std::pair<index_t, double> layout_of(index_t s) {
        if (s == S) return {L, V::pe_interpolation};
        if (s == 2 * S && L % 4 == 0) return {L / 4, V::pe_interpolation * 2};
        fail("dit forward: frame side ", s, " must be input_size (", S, ")", L % 4 == 0 ? " or twice it" : "");
    }

    struct Embedded {
        Tensor<float, Extents<dyn, C>> tokens;  // [V·L·n, C] = [V, L·n, C] with the table added
        Tensor<float, DExtents<2>> pos;         // [L·n, C]
        Tensor<float, Extents<dyn, C>> t;       // [N, C]
        Tensor<float, Extents<dyn, 6 * C>> t3d; // [V, 6C]
        index_t videos = 0, frames = 0, grid = 0;
        View<float, Extents<dyn, dyn, C>, cpu> tokens3d() {
            return View<float, Extents<dyn, dyn, C>, cpu>(tokens.data(), Extents<dyn, dyn, C>(videos, frames * grid * grid));
        }
    };

    /// §2–§4 on x [N, C_in, s, s] (any strides), per-frame τ [N].
    template <class E>
    Embedded embed(const View<const float, E, cpu>& x, std::span<const float> tau) const {
        static_assert(E::rank == 4, "dit: x must be [N, C_in, H, W]");
        const index_t N = x.extent(0), Hs = x.extent(2), Ws = x.extent(3);
        if (x.extent(1) != Cin) fail("dit forward: x ", x.extents().str(), " needs ", Cin, " channels");
        if (Hs != Ws) fail("dit forward: needs square frames, got ", Hs, "x", Ws, " (use forward_with_dpmsolver)");
        if (index_t(tau.size()) != N) fail("dit forward: ", tau.size(), " timesteps for ", N, " frames");
        const auto [Lv, pe] = layout_of(Hs);
        if (N % Lv) fail("dit forward: ", N, " frames is not a multiple of ", Lv, " frames per video");
        Embedded e;
        e.videos = N / Lv;
        e.frames = Lv;
        e.grid = Hs / p;
        const index_t n = e.grid * e.grid, Mv = Lv * n;
        e.t = t_embedder(tau);
        e.tokens = x_embedder(x);
        e.pos = pos_embed_3d(Lv, e.grid, pe, V::pe_temporal, V::pe_spatial);
        const float* pp = e.pos.data();
        float* tp = e.tokens.data();
        parallel_for(e.videos * Mv, C, [&](index_t r) {
            const float* pr = pp + (r % Mv) * C;
            float* o = tp + r * C;
            for (index_t c = 0; c < C; ++c) o[c] = o[c] + pr[c];
        });
        std::vector<float> first(std::size_t(e.videos));
        for (index_t v = 0; v < e.videos; ++v) first[std::size_t(v)] = tau[std::size_t(v * Lv)];
        const auto tf = t_embedder(first);
        e.t3d = t_block(tf);
        return e;
    }

    /// Block i with the variant's layout for it.
    static StridesEntry strides_of(index_t i) { return V::attn_strides[std::size_t(i) % V::attn_strides.size()]; }

    /// §8: x [N, C_in, s, s] (s = input_size, or 2·input_size), τ [N] → [N, C_out, s, s].
    template <class E>
    Tensor<float, Extents<dyn, Cout, dyn, dyn>> forward(const View<const float, E, cpu>& x, std::span<const float> tau) const {
        Embedded e = embed(x, tau);
        const auto x3d = e.tokens3d();
        for (index_t i = 0; i < V::depth; ++i)
            blocks[std::size_t(i)](x3d, e.t3d, strides_of(i), e.frames, e.grid, e.grid);
        return final_layer(e.tokens, e.t, e.grid, e.grid);
    }

    /// §10: x [N, C_in, H, W] with H, W ≥ input_size → [N, C_out, H, W]; S×S tiles
    /// overwrite each other in row-major tile order.
    template <class E>
    Tensor<float, Extents<dyn, Cout, dyn, dyn>> forward_by_slice(const View<const float, E, cpu>& x,
                                                                std::span<const float> tau) const {
        static_assert(E::rank == 4, "dit: x must be [N, C_in, H, W]");
        const index_t N = x.extent(0), Hs = x.extent(2), Ws = x.extent(3);
        if (Hs == S && Ws == S) return forward(x, tau);
        const auto rows = dit_tile_starts(Hs, S), cols = dit_tile_starts(Ws, S);
        Tensor<float, Extents<dyn, Cout, dyn, dyn>> y(N, Hs, Ws);
        for (index_t r : rows)
            for (index_t c : cols) {
                const auto crop = x.template slice<2>(r, r + S).template slice<3>(c, c + S);
                const auto t = forward(crop, tau);
                for (index_t k = 0; k < N; ++k)
                    for (index_t ch = 0; ch < Cout; ++ch)
                        for (index_t i = 0; i < S; ++i)
                            std::copy_n(t.data() + ((k * Cout + ch) * S + i) * S, S,
                                        y.data() + ((k * Cout + ch) * Hs + r + i) * Ws + c);
            }
        return y;
    }

    /// §11: x [n, C_in, H, W] (n ≥ lats_per_vid, H, W ≥ input_size), per-frame τ [n] →
    /// ε [n, C_out/2, H, W]: temporal windows of lats_per_vid frames, blended on overlaps.
    template <class E>
    Tensor<float, Extents<dyn, Cout / 2, dyn, dyn>> forward_with_dpmsolver(const View<const float, E, cpu>& x,
                                                                          std::span<const float> tau) const {
        static_assert(E::rank == 4, "dit: x must be [n, C_in, H, W]");
        const index_t n = x.extent(0), Hs = x.extent(2), Ws = x.extent(3);
        if (x.extent(1) != Cin) fail("dit forward_with_dpmsolver: x ", x.extents().str(), " needs ", Cin, " channels");
        if (index_t(tau.size()) != n) fail("dit forward_with_dpmsolver: ", tau.size(), " timesteps for ", n, " frames");
        if (Hs < S || Ws < S) fail("dit forward_with_dpmsolver: frames ", Hs, "x", Ws, " smaller than input_size ", S);
        const index_t plane = Hs * Ws, fsz = Cout * plane;
        Tensor<float, Extents<dyn, Cout, dyn, dyn>> z(n, Hs, Ws);
        index_t done = 0;
        for (index_t b : dit_window_starts(n, L)) {
            const auto zs = forward_by_slice(x.template slice<0>(b, b + L), tau.subspan(std::size_t(b), std::size_t(L)));
            const index_t ov = done - b;
            if (ov < 2) {
                std::copy_n(zs.data(), L * fsz, z.data() + b * fsz);
            } else {
                const auto w = dit_blend_weights(L, ov);
                for (index_t m = 0; m < L; ++m) {
                    const float wm = w[std::size_t(m)], om = 1.0f - wm;
                    float* zp = z.data() + (b + m) * fsz;
                    const float* sp = zs.data() + m * fsz;
                    parallel_for(fsz, 1, [&](index_t q) { zp[q] = zp[q] * om + sp[q] * wm; });
                }
            }
            done = b + L;
        }
        Tensor<float, Extents<dyn, Cout / 2, dyn, dyn>> eps(n, Hs, Ws);
        for (index_t k = 0; k < n; ++k)
            std::copy_n(z.data() + k * fsz, (Cout / 2) * plane, eps.data() + k * (Cout / 2) * plane);
        return eps;
    }
};

}  // namespace cascadev::models
