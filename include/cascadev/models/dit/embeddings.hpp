#pragma once
// What the DiT computes before its first block (docs/reference/dit.md §2–§4): patch
// embedding, the weightless 3-D sin-cos position table, the timestep embedder and t_block.
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "cascadev/backend/cpu.hpp"
#include "cascadev/core.hpp"
#include "cascadev/io/weight_store.hpp"
#include "cascadev/models/dit/config.hpp"

namespace cascadev::models {

/// 1-D sin-cos table row of even width D at position pos (double): [sin(pos·ω_k) | cos(pos·ω_k)],
/// ω_k = 10000^(−k/(D/2)); written to out[0..D).
inline void sincos_1d(index_t D, double pos, double* out) {
    const index_t half = D / 2;
    for (index_t k = 0; k < half; ++k) {
        const double w = std::pow(10000.0, -double(k) / double(half));
        const double a = pos * w;
        out[k] = std::sin(a);
        out[half + k] = std::cos(a);
    }
}

/// The 3-D position table [frames·grid², T + P] (§3): token (f, i, j), flat index
/// f·grid² + i·grid + j, gets [E_T(f) | E_{P/2}(j/pe) | E_{P/2}(i/pe)]. The divided
/// coordinates are float32 values; everything else in double, rounded to float once.
inline Tensor<float, DExtents<2>> pos_embed_3d(index_t frames, index_t grid, double pe, index_t T, index_t P) {
    if (T % 2 != 0 || P % 4 != 0) fail("pos_embed_3d: temporal width ", T, " must be even and spatial width ", P, " divisible by 4");
    const index_t Ps = P / 2, n = grid * grid, C = T + P;
    std::vector<double> et(std::size_t(frames * T)), es(std::size_t(grid * Ps));
    for (index_t f = 0; f < frames; ++f) sincos_1d(T, double(f), et.data() + f * T);
    for (index_t g = 0; g < grid; ++g) {
        const float coord = float(g) / float(pe);
        sincos_1d(Ps, double(coord), es.data() + g * Ps);
    }
    Tensor<float, DExtents<2>> table(frames * n, C);
    float* p = table.data();
    for (index_t f = 0; f < frames; ++f)
        for (index_t i = 0; i < grid; ++i)
            for (index_t j = 0; j < grid; ++j) {
                float* row = p + ((f * grid + i) * grid + j) * C;
                for (index_t k = 0; k < T; ++k) row[k] = float(et[std::size_t(f * T + k)]);
                for (index_t k = 0; k < Ps; ++k) row[T + k] = float(es[std::size_t(j * Ps + k)]);
                for (index_t k = 0; k < Ps; ++k) row[T + Ps + k] = float(es[std::size_t(i * Ps + k)]);
            }
    return table;
}

/// Timestep sinusoid [N, F] (§4): [cos(t·f_k) | sin(t·f_k)], f_k = expf(k·(−ln 10000)/(F/2))
/// in float32 as the reference orders it; cos/sin of the float32 argument in double.
inline Tensor<float, DExtents<2>> timestep_frequencies(std::span<const float> t, index_t F) {
    const index_t half = F / 2;
    std::vector<float> f(static_cast<std::size_t>(half));
    const float neg_log = float(-std::log(10000.0));
    for (index_t k = 0; k < half; ++k) f[std::size_t(k)] = std::exp(float(k) * neg_log / float(half));
    Tensor<float, DExtents<2>> out(index_t(t.size()), F);
    for (std::size_t r = 0; r < t.size(); ++r) {
        float* row = out.data() + index_t(r) * F;
        for (index_t k = 0; k < half; ++k) {
            const float a = t[r] * f[std::size_t(k)];
            row[k] = float(std::cos(double(a)));
            row[half + k] = float(std::sin(double(a)));
        }
        if (F % 2) row[F - 1] = 0.f;
    }
    return out;
}

/// x_embedder.proj: Conv2d C_in → C, kernel = stride = p, as im2col + GEMM.
template <DitVariant V>
struct PatchEmbed {
    static constexpr index_t C = V::hidden, Cin = V::in_channels, p = V::patch, K = Cin * p * p;
    Tensor<float, Extents<C, Cin, p, p>> weight;
    Tensor<float, Extents<C>> bias;

    void bind(io::Binder& b) {
        auto c = b.child("x_embedder.proj");
        c.bind("weight", weight);
        c.bind("bias", bias);
    }

    /// x [N, C_in, H, W] (any strides, H and W multiples of p) → tokens [N·(H/p)·(W/p), C],
    /// token (i, j) of frame k at row k·gh·gw + i·gw + j.
    template <class E>
    Tensor<float, Extents<dyn, C>> operator()(const View<const float, E, cpu>& x) const {
        static_assert(E::rank == 4, "PatchEmbed: x must be [N, C_in, H, W]");
        const index_t N = x.extent(0), H = x.extent(2), W = x.extent(3);
        if (x.extent(1) != Cin || H % p || W % p)
            fail("x_embedder: input ", x.extents().str(), " needs ", Cin, " channels and sides divisible by ", p);
        const index_t gh = H / p, gw = W / p, n = gh * gw;
        Tensor<float, Extents<dyn, K>> cols(N * n);
        parallel_for(N * n, K, [&](index_t r) {
            const index_t k = r / n, i = (r % n) / gw, j = r % gw;
            float* o = cols.data() + r * K;
            for (index_t c = 0; c < Cin; ++c)
                for (index_t u = 0; u < p; ++u)
                    for (index_t v = 0; v < p; ++v) *o++ = x(k, c, i * p + u, j * p + v);
        });
        Tensor<float, Extents<dyn, C>> out(N * n);
        const View<const float, Extents<C, K>, cpu> w2(weight.data(), Extents<C, K>());
        linear(cols, w2, bias, out);
        return out;
    }
};

/// t_embedder: sinusoid (F) → Linear F→C → SiLU → Linear C→C.
template <DitVariant V>
struct TimestepEmbedder {
    static constexpr index_t C = V::hidden, F = V::freq_dim;
    Tensor<float, Extents<C, F>> w0;
    Tensor<float, Extents<C>> b0;
    Tensor<float, Extents<C, C>> w2;
    Tensor<float, Extents<C>> b2;

    void bind(io::Binder& b) {
        auto c = b.child("t_embedder.mlp");
        c.bind("0.weight", w0);
        c.bind("0.bias", b0);
        c.bind("2.weight", w2);
        c.bind("2.bias", b2);
    }

    /// t [N] → [N, C].
    Tensor<float, Extents<dyn, C>> operator()(std::span<const float> t) const {
        const index_t N = index_t(t.size());
        const auto fr = timestep_frequencies(t, F);
        const View<const float, Extents<dyn, F>, cpu> frv(fr.data(), Extents<dyn, F>(N));
        Tensor<float, Extents<dyn, C>> h(N), out(N);
        linear(frv, w0, b0, h);
        silu_inplace(h);
        linear(h, w2, b2, out);
        return out;
    }
};

/// t_block: SiLU → Linear C→6C.
template <DitVariant V>
struct TBlock {
    static constexpr index_t C = V::hidden;
    Tensor<float, Extents<6 * C, C>> weight;
    Tensor<float, Extents<6 * C>> bias;

    void bind(io::Binder& b) {
        auto c = b.child("t_block.1");
        c.bind("weight", weight);
        c.bind("bias", bias);
    }

    /// temb [N, C] → [N, 6C].
    Tensor<float, Extents<dyn, 6 * C>> operator()(const View<const float, Extents<dyn, C>, cpu>& temb) const {
        Tensor<float, Extents<dyn, C>> s(temb.extent(0));
        silu(temb, s);
        Tensor<float, Extents<dyn, 6 * C>> out(temb.extent(0));
        linear(s, weight, bias, out);
        return out;
    }
};

}  // namespace cascadev::models
