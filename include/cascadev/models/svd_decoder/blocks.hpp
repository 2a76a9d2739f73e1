#pragma once
// Building blocks of SVD's temporal VAE decoder (docs/reference/svd.md §2): the spatial and
// temporal residual blocks, the spatio-temporal block with its time mixer, the mid block's
// single-head spatial attention and the upsampler.
//
// Activations: frames stacked in the batch, [N, C, H, W] contiguous, N = clips · F with
// frame n = v·F + f. The temporal parts address the same buffer as [clips, C, F, H, W]
// through strides (clip5), never a copy.
//
// Buffers: a block gets three equally sized scratch buffers (Bufs), its input in b[0];
// it leaves its output in b[0] (the pointers are permuted, no data is copied), so a whole
// decode runs in three buffers of the largest activation of the slice.
#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cascadev/attention.hpp"
#include "cascadev/backend/cpu.hpp"
#include "cascadev/backend/cpu/conv.hpp"
#include "cascadev/core.hpp"
#include "cascadev/io/weight_store.hpp"

namespace cascadev::models::svd {

using Vec = Tensor<float, DExtents<1>>;

/// Shape of an activation [N, C, H, W] (frames-major, contiguous).
struct Shape {
    index_t N = 0, C = 0, H = 0, W = 0;
    index_t plane() const { return H * W; }
    index_t size() const { return N * C * H * W; }
};

/// Three scratch buffers of equal capacity; the current activation lives in b[0].
struct Bufs {
    std::array<float*, 3> b{};
    float* operator[](std::size_t i) const { return b[i]; }
    void swap(std::size_t i, std::size_t j) { std::swap(b[i], b[j]); }
};

inline View<float, DExtents<4>, cpu> view4(float* p, const Shape& s) { return {p, DExtents<4>(s.N, s.C, s.H, s.W)}; }

/// The frames-major buffer [N, C, H, W] as clips [N/F, C, F, H, W]: element (v, c, f, y, x)
/// is frame v·F + f, channel c.
inline View<float, DExtents<5>, cpu> clip5(float* p, const Shape& s, index_t F) {
    const index_t P = s.plane();
    return {p, DExtents<5>(s.N / F, s.C, F, s.H, s.W), {F * s.C * P, P, s.C * P, s.W, 1}};
}

inline View<float, DExtents<1>, cpu> flat(float* p, index_t n) { return {p, DExtents<1>(n)}; }

/// y[i] += x[i].
inline void add_inplace(float* y, const float* x, index_t n) {
    constexpr index_t chunk = 1 << 14;
    parallel_for((n + chunk - 1) / chunk, chunk, [&](index_t c) {
        const index_t e = std::min(n, (c + 1) * chunk);
        for (index_t i = c * chunk; i < e; ++i) y[i] += x[i];
    });
}

struct GroupNormW {
    Vec weight, bias;
    GroupNormW() = default;
    explicit GroupNormW(index_t c) : weight(c), bias(c) {}
    void bind(io::Binder& b, const std::string& name) {
        auto c = b.child(name);
        c.bind("weight", weight);
        c.bind("bias", bias);
    }
};

struct Conv2dW {
    Tensor<float, DExtents<4>> weight;
    Vec bias;
    Conv2dW() = default;
    Conv2dW(index_t out, index_t in, index_t k) : weight(out, in, k, k), bias(out) {}
    void bind(io::Binder& b, const std::string& name) {
        auto c = b.child(name);
        c.bind("weight", weight);
        c.bind("bias", bias);
    }
    index_t out() const { return weight.extent(0); }
    /// y [N, out, H, W] = conv(x [N, in, H, W]), "same" padding (k = 1 or 3).
    void operator()(View<const float, DExtents<4>, cpu> x, float* y) const {
        const index_t k = weight.extent(2);
        Conv2dParams p;
        p.pad_h = p.pad_w = k / 2;
        const Shape ys{x.extent(0), out(), x.extent(2), x.extent(3)};
        conv2d(x, weight, bias.data(), view4(y, ys), p);
    }
};

struct Conv3dW {
    Tensor<float, DExtents<5>> weight;
    Vec bias;
    Conv3dW() = default;
    Conv3dW(index_t out, index_t in) : weight(out, in, 3, 1, 1), bias(out) {}
    void bind(io::Binder& b, const std::string& name) {
        auto c = b.child(name);
        c.bind("weight", weight);
        c.bind("bias", bias);
    }
    void operator()(View<const float, DExtents<5>, cpu> x, View<float, DExtents<5>, cpu> y) const {
        conv3d_temporal(x, weight, bias.data(), y);
    }
};

/// Hyper-parameters shared by every block of one decoder.
struct NormCfg {
    index_t groups = 32;
    double eps = 1e-6;           // spatial, attention, output GroupNorms
    double temporal_eps = 1e-5;  // temporal blocks' GroupNorms
};

/// y = SiLU(GroupNorm(x)) per frame ([N, C, H, W]).
inline void gn_silu_frames(float* x, float* y, const Shape& s, const GroupNormW& n, const NormCfg& cfg) {
    group_norm(view4(x, s), cfg.groups, n.weight, n.bias, view4(y, s), cfg.eps);
    silu_inplace(flat(y, s.size()));
}

/// y = SiLU(GroupNorm(x)) over clips of F frames (statistics over all F frames).
inline void gn_silu_clips(float* x, float* y, const Shape& s, index_t F, const GroupNormW& n, const NormCfg& cfg) {
    group_norm(clip5(x, s, F), cfg.groups, n.weight, n.bias, clip5(y, s, F), cfg.temporal_eps);
    silu_inplace(flat(y, s.size()));
}

/// §2.1, per frame: out = skip(x) + conv2(SiLU(norm2(conv1(SiLU(norm1(x)))))).
struct SpatialResBlock {
    index_t ci = 0, co = 0;
    GroupNormW norm1, norm2;
    Conv2dW conv1, conv2;
    std::optional<Conv2dW> conv_shortcut;

    SpatialResBlock() = default;
    SpatialResBlock(index_t in, index_t out)
        : ci(in), co(out), norm1(in), norm2(out), conv1(out, in, 3), conv2(out, out, 3) {
        if (in != out) conv_shortcut.emplace(out, in, 1);
    }
    void bind(io::Binder& b) {
        norm1.bind(b, "norm1");
        conv1.bind(b, "conv1");
        norm2.bind(b, "norm2");
        conv2.bind(b, "conv2");
        if (conv_shortcut) conv_shortcut->bind(b, "conv_shortcut");
    }
    /// b[0]: x [N, ci, H, W] in, out [N, co, H, W] out; s.C becomes co.
    void operator()(Bufs& b, Shape& s, const NormCfg& cfg) const {
        const Shape si = s, so{s.N, co, s.H, s.W};
        if (conv_shortcut) {
            (*conv_shortcut)(view4(b[0], si), b[1]);  // skip
            gn_silu_frames(b[0], b[2], si, norm1, cfg);
            conv1(view4(b[2], si), b[0]);
            gn_silu_frames(b[0], b[0], so, norm2, cfg);
            conv2(view4(b[0], so), b[2]);
            add_inplace(b[1], b[2], so.size());
        } else {
            gn_silu_frames(b[0], b[1], si, norm1, cfg);
            conv1(view4(b[1], si), b[2]);
            gn_silu_frames(b[2], b[2], so, norm2, cfg);
            conv2(view4(b[2], so), b[1]);
            add_inplace(b[1], b[0], so.size());
        }
        b.swap(0, 1);
        s = so;
    }
};

/// §2.2 on clips of F frames: h = conv2(SiLU(norm2(conv1(SiLU(norm1(x)))))), Conv3d (3,1,1).
/// Computes h only (the residual is folded into the time mixer): b[0] x (kept),
/// h goes to b[1]; b[2] is scratch.
struct TemporalResBlock {
    GroupNormW norm1, norm2;
    Conv3dW conv1, conv2;

    TemporalResBlock() = default;
    explicit TemporalResBlock(index_t c) : norm1(c), norm2(c), conv1(c, c), conv2(c, c) {}
    void bind(io::Binder& b) {
        norm1.bind(b, "norm1");
        conv1.bind(b, "conv1");
        norm2.bind(b, "norm2");
        conv2.bind(b, "conv2");
    }
    void residual(Bufs& b, const Shape& s, index_t F, const NormCfg& cfg) const {
        gn_silu_clips(b[0], b[1], s, F, norm1, cfg);
        conv1(clip5(b[1], s, F), clip5(b[2], s, F));
        gn_silu_clips(b[2], b[2], s, F, norm2, cfg);
        conv2(clip5(b[2], s, F), clip5(b[1], s, F));
    }
};

/// §2.3: s = spatial(x); t = s + temporal_residual(s); out = (1 − α)·s + α·t with
/// α = sigmoid(mix_factor), evaluated as the reference does (a = 1 − α; a·s + (1 − a)·t).
struct SpatioTemporalResBlock {
    SpatialResBlock spatial_res_block;
    TemporalResBlock temporal_res_block;
    Vec mix_factor;

    SpatioTemporalResBlock() = default;
    SpatioTemporalResBlock(index_t in, index_t out) : spatial_res_block(in, out), temporal_res_block(out), mix_factor(1) {}
    void bind(io::Binder& b) {
        auto s = b.child("spatial_res_block");
        spatial_res_block.bind(s);
        auto t = b.child("temporal_res_block");
        temporal_res_block.bind(t);
        b.bind("time_mixer.mix_factor", mix_factor);
    }
    void operator()(Bufs& b, Shape& s, index_t F, const NormCfg& cfg) const {
        spatial_res_block(b, s, cfg);
        temporal_res_block.residual(b, s, F, cfg);
        const float m = mix_factor.data()[0];
        const float alpha = 1.f / (1.f + std::exp(-m));
        const float a = 1.f - alpha, ca = 1.f - a;
        const float* x = b[0];
        const float* h = b[1];
        float* y = b[2];
        const index_t n = s.size();
        constexpr index_t chunk = 1 << 14;
        parallel_for((n + chunk - 1) / chunk, chunk, [&](index_t c) {
            const index_t e = std::min(n, (c + 1) * chunk);
            for (index_t i = c * chunk; i < e; ++i) {
                const float t = x[i] + h[i];
                y[i] = a * x[i] + ca * t;
            }
        });
        b.swap(0, 2);
    }
};

/// §2.5: single-head (Heads = C / HeadDim) self-attention over the H·W positions of each
/// frame, with GroupNorm in front and the input added back. Per frame, q/k/v are computed
/// token-major by one GEMM ([H·W, 3C]) and attended with the blocked online-softmax kernel
/// (no H·W × H·W score matrix); to_out writes channel-major straight into the output frame.
template <int Heads, int HeadDim>
struct SpatialAttention {
    static constexpr index_t C = index_t(Heads) * HeadDim;
    GroupNormW group_norm_w;
    Tensor<float, DExtents<2>> w_qkv;  // to_q, to_k, to_v weights stacked [3C, C]
    Vec b_qkv;                          // [3C]
    Tensor<float, DExtents<2>> w_out;   // to_out.0 [C, C]
    Vec b_out;

    SpatialAttention() : group_norm_w(C), w_qkv(3 * C, C), b_qkv(3 * C), w_out(C, C), b_out(C) {}

    void bind(io::Binder& b) {
        group_norm_w.bind(b, "group_norm");
        const char* names[3] = {"to_q", "to_k", "to_v"};
        for (index_t i = 0; i < 3; ++i) {
            b.bind(std::string(names[i]) + ".weight", w_qkv.view().template slice<0>(i * C, (i + 1) * C));
            b.bind(std::string(names[i]) + ".bias", b_qkv.view().template slice<0>(i * C, (i + 1) * C));
        }
        b.bind("to_out.0.weight", w_out);
        b.bind("to_out.0.bias", b_out);
    }

    /// b[0]: x [N, C, H, W] in and out.
    void operator()(Bufs& b, const Shape& s, const NormCfg& cfg) const {
        if (s.C != C) fail("svd attention: activation has ", s.C, " channels, expected ", C);
        const index_t P = s.plane();
        group_norm(view4(b[0], s), cfg.groups, group_norm_w.weight, group_norm_w.bias, view4(b[1], s), cfg.eps);
        Tensor<float, DExtents<2>> qkv(P, 3 * C), o(P, C);
        const auto layout = AttentionLayout::full(TokenGrid{1, s.H, s.W}, 1);
        for (index_t n = 0; n < s.N; ++n) {
            const View<const float, DExtents<2>, cpu> u(b[1] + n * C * P, DExtents<2>(C, P));
            linear(u.template permute<1, 0>(), w_qkv, b_qkv, qkv);
            const auto qv = qkv.view();
            multi_head_attention<Heads, HeadDim>(qv.template slice<1>(0, C), qv.template slice<1>(C, 2 * C),
                                                 qv.template slice<1>(2 * C, 3 * C), o, layout);
            const View<float, DExtents<2>, cpu> y(b[2] + n * C * P, DExtents<2>(C, P));
            linear(o, w_out, b_out, y.template permute<1, 0>());
        }
        add_inplace(b[2], b[0], s.size());
        b.swap(0, 2);
    }
};

/// §2.6: nearest ×2, then Conv2d 3×3 pad 1. b[0] in and out; s doubles.
struct Upsampler {
    Conv2dW conv;
    Upsampler() = default;
    explicit Upsampler(index_t c) : conv(c, c, 3) {}
    void bind(io::Binder& b) { conv.bind(b, "conv"); }
    void operator()(Bufs& b, Shape& s) const {
        const Shape up{s.N, s.C, 2 * s.H, 2 * s.W};
        upsample_nearest2x(view4(b[0], s), view4(b[1], up));
        conv(view4(b[1], up), b[0]);
        s = up;
    }
};

}  // namespace cascadev::models::svd
