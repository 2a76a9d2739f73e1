#pragma once
// StableCascade's previewer (docs/reference/effnet.md §7): a cheap decoder from the
// 16-channel semantic latent to a blurry RGB video, 8× up. Per frame, eight
// (conv | 2×2 stride-2 transposed conv) → GELU (erf) → BatchNorm stages, then a 1×1 conv;
// finally clamp(2·y − 1, −1, 1).
//
// A BatchNorm here follows a GELU, so it cannot fold into the conv before it; it is applied
// as an exact per-channel epilogue of the conv+GELU (y = s·GELU(conv(x)) + t), with s, t
// computed at load time.
//
//   Previewer<PreviewerReleased> p;  p.load(store);
//   auto video = p.preview(latent);   // [B, 16, T, h, w] -> [B, 3, T, 8h, 8w] in [-1, 1]
#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <string>

#include "cascadev/backend/cpu.hpp"
#include "cascadev/core.hpp"
#include "cascadev/io/weight_store.hpp"

namespace cascadev::models {

/// Released: c_hidden 512.
struct PreviewerReleased {
    static constexpr const char* name = "previewer.released";
    static constexpr index_t c_in = 16, c_hidden = 512, c_out = 3;
    static constexpr double bn_eps = 1e-5;
};

/// Test variant previewer.tiny (golden/variants.json).
struct PreviewerTiny {
    static constexpr const char* name = "previewer.tiny";
    static constexpr index_t c_in = 16, c_hidden = 32, c_out = 3;
    static constexpr double bn_eps = 1e-5;
};

template <class V>
concept PreviewerVariant = requires {
    { V::name } -> std::convertible_to<const char*>;
    { V::c_in } -> std::convertible_to<index_t>;
    { V::c_hidden } -> std::convertible_to<index_t>;
    { V::c_out } -> std::convertible_to<index_t>;
    { V::bn_eps } -> std::convertible_to<double>;
} && (V::c_hidden % 4 == 0);

namespace previewer_detail {

using T4 = Tensor<float, DExtents<4>>;
using T1 = Tensor<float, DExtents<1>>;
using CV4 = View<const float, DExtents<4>, cpu>;

enum class Kind { c1, c3, up };

/// One (conv | transposed conv) → GELU → BatchNorm stage: keys blocks.<i>.{weight,bias}
/// for the conv and blocks.<i+2>.* for the BatchNorm.
struct Stage {
    Kind kind = Kind::c1;
    T4 w;        // conv [co, ci, k, k]; transposed conv [ci, co, 2, 2]
    T1 b;        // conv bias
    T1 scale, shift;  // BatchNorm as s·z + t

    Stage() = default;
    Stage(Kind k, index_t ci, index_t co)
        : kind(k),
          w(k == Kind::up ? T4(ci, co, 2, 2) : T4(co, ci, k == Kind::c1 ? 1 : 3, k == Kind::c1 ? 1 : 3)),
          b(co), scale(co), shift(co) {}

    index_t out_channels() const { return kind == Kind::up ? w.extent(1) : w.extent(0); }

    void bind(io::Binder& blocks, index_t index, double eps) {
        io::Binder conv = blocks.child(std::to_string(index));
        conv.bind("weight", w);
        conv.bind("bias", b);
        io::Binder bn = blocks.child(std::to_string(index + 2));
        const index_t co = out_channels();
        T1 g(co), be(co), m(co), v(co);
        std::fill_n(v.data(), co, 1.f);
        bn.bind("weight", g);
        bn.bind("bias", be);
        bn.bind("running_mean", m);
        bn.bind("running_var", v);
        bn.ignore("num_batches_tracked");
        for (index_t c = 0; c < co; ++c) {
            const double s = double(g(c)) / std::sqrt(double(v(c)) + eps);
            scale(c) = float(s);
            shift(c) = float(double(be(c)) - s * double(m(c)));
        }
    }

    T4 operator()(CV4 x) const {
        const index_t N = x.extent(0), H = x.extent(2), W = x.extent(3), co = out_channels();
        T4 y = kind == Kind::up ? T4(N, co, 2 * H, 2 * W) : T4(N, co, H, W);
        if (kind == Kind::up) {
            conv_transpose2d_k2s2(x, w, b.data(), y);
        } else {
            const index_t pad = kind == Kind::c3 ? 1 : 0;
            conv2d(x, w, b.data(), y, Conv2dParams{1, 1, pad, pad, 1});
        }
        const index_t P = y.extent(2) * y.extent(3);
        float* yd = y.data();
        parallel_for(N * co, P, [&](index_t nc) {
            const index_t c = nc % co;
            const float s = scale.data()[c], t = shift.data()[c];
            float* p = yd + nc * P;
            for (index_t i = 0; i < P; ++i) p[i] = s * gelu_erf_scalar(p[i]) + t;
        });
        return y;
    }
};

}  // namespace previewer_detail

template <PreviewerVariant V>
struct Previewer {
    using variant = V;
    using T4 = previewer_detail::T4;
    using Kind = previewer_detail::Kind;
    static constexpr index_t h = V::c_hidden;

    std::array<previewer_detail::Stage, 8> stages{
        previewer_detail::Stage(Kind::c1, V::c_in, h),       previewer_detail::Stage(Kind::c3, h, h),
        previewer_detail::Stage(Kind::up, h, h / 2),         previewer_detail::Stage(Kind::c3, h / 2, h / 2),
        previewer_detail::Stage(Kind::up, h / 2, h / 4),     previewer_detail::Stage(Kind::c3, h / 4, h / 4),
        previewer_detail::Stage(Kind::up, h / 4, h / 4),     previewer_detail::Stage(Kind::c3, h / 4, h / 4)};
    T4 out_w{V::c_out, h / 4, 1, 1};
    previewer_detail::T1 out_b{V::c_out};

    /// Binds `blocks.N.*` by the released key names (N = 0, 3, …, 21 conv + 2, 5, …, 23
    /// BatchNorm; 24 the output conv). `num_batches_tracked` is accepted and ignored.
    void bind(io::Binder& b) {
        io::Binder blocks = b.child("blocks");
        for (std::size_t i = 0; i < stages.size(); ++i) stages[i].bind(blocks, index_t(3 * i), V::bn_eps);
        io::Binder last = blocks.child("24");
        last.bind("weight", out_w);
        last.bind("bias", out_b);
    }
    void load(const io::WeightStore& store) {
        io::Binder b(store);
        bind(b);
        b.finish();
    }

    /// Frames [N, c_in, h, w] -> y [N, c_out, 8h, 8w] (before the final 2y − 1 and clamp).
    T4 forward_frames(previewer_detail::CV4 x) const {
        T4 a = stages[0](x);
        for (std::size_t i = 1; i < stages.size(); ++i) a = stages[i](a);
        T4 y(a.extent(0), V::c_out, a.extent(2), a.extent(3));
        conv2d(a, out_w, out_b.data(), y);
        return y;
    }

    /// latent [B, c_in, T, h, w] -> video [B, c_out, T, 8h, 8w] = clamp(2·y − 1, −1, 1),
    /// frame by frame.
    Tensor<float, DExtents<5>> preview(View<const float, DExtents<5>, cpu> latent) const {
        const index_t B = latent.extent(0), T = latent.extent(2), H = latent.extent(3), W = latent.extent(4);
        if (latent.extent(1) != V::c_in)
            fail("previewer: latent ", latent.extents().str(), " must be [B, ", V::c_in, ", T, h, w]");
        Tensor<float, DExtents<5>> out(B, V::c_out, T, 8 * H, 8 * W);
        T4 frame(1, V::c_in, H, W);
        for (index_t b = 0; b < B; ++b)
            for (index_t t = 0; t < T; ++t) {
                for (index_t c = 0; c < V::c_in; ++c)
                    for (index_t i = 0; i < H; ++i)
                        for (index_t j = 0; j < W; ++j) frame(0, c, i, j) = latent(b, c, t, i, j);
                const T4 y = forward_frames(frame);
                for (index_t c = 0; c < V::c_out; ++c)
                    for (index_t i = 0; i < 8 * H; ++i)
                        for (index_t j = 0; j < 8 * W; ++j)
                            out(b, c, t, i, j) = std::clamp(2.0f * y(0, c, i, j) - 1.0f, -1.0f, 1.0f);
            }
        return out;
    }
};

}  // namespace cascadev::models
