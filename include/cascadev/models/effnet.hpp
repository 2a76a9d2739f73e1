#pragma once
// The semantic compressor (docs/reference/effnet.md §1–6): StableCascade's "EfficientNet
// encoder" = EfficientNetV2 features (torchvision layout, generic over a stage table of
// FusedMBConv / MBConv stages) + a 1×1 mapper conv and a non-affine BatchNorm.
//
// Every BatchNorm is folded into the bias-free conv before it at load time, so inference
// is convs with bias, SiLU, squeeze-excitation and residual adds. Stochastic depth is the
// identity at inference. Frames are independent: encode() runs them one at a time.
//
//   EffnetEncoder<EffnetV2S> enc;  enc.load(store);
//   auto latent = enc.encode(video);   // [B, 3, T, H, W] in [-1, 1] -> [B, 16, T, ⌈H/32⌉, ⌈W/32⌉]
#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <string>
#include <vector>

#include "cascadev/backend/cpu.hpp"
#include "cascadev/core.hpp"
#include "cascadev/io/weight_store.hpp"

namespace cascadev::models {

enum class EffBlockType { fused, mb };

/// One stage of the table (§6): `layers` blocks; block 0 maps c_in -> c_out with `stride`,
/// the others c_out -> c_out with stride 1.
struct EffStage {
    EffBlockType type;
    double expand;
    index_t kernel, stride, c_in, c_out, layers;
};

/// Released: torchvision efficientnet_v2_s features + the 1280 -> 16 mapper.
struct EffnetV2S {
    static constexpr const char* name = "effnet.v2s";
    static constexpr index_t stem = 24, head = 1280, c_latent = 16, se_divisor = 4;
    static constexpr double bn_eps = 1e-3, mapper_bn_eps = 1e-5;
    static constexpr std::array<EffStage, 6> stages{{
        {EffBlockType::fused, 1, 3, 1, 24, 24, 2},
        {EffBlockType::fused, 4, 3, 2, 24, 48, 4},
        {EffBlockType::fused, 4, 3, 2, 48, 64, 4},
        {EffBlockType::mb, 4, 3, 2, 64, 128, 6},
        {EffBlockType::mb, 6, 3, 1, 128, 160, 9},
        {EffBlockType::mb, 6, 3, 2, 160, 256, 15},
    }};
};

/// Test variant effnet.tiny (golden/variants.json): four stride-2 stages, 8 -> 32, head 64.
struct EffnetTiny {
    static constexpr const char* name = "effnet.tiny";
    static constexpr index_t stem = 8, head = 64, c_latent = 16, se_divisor = 4;
    static constexpr double bn_eps = 1e-3, mapper_bn_eps = 1e-5;
    static constexpr std::array<EffStage, 4> stages{{
        {EffBlockType::fused, 1, 3, 2, 8, 8, 2},
        {EffBlockType::fused, 4, 3, 2, 8, 16, 2},
        {EffBlockType::mb, 4, 3, 2, 16, 24, 2},
        {EffBlockType::mb, 6, 3, 2, 24, 32, 2},
    }};
};

template <class V>
concept EffnetVariant = requires {
    { V::name } -> std::convertible_to<const char*>;
    { V::stem } -> std::convertible_to<index_t>;
    { V::head } -> std::convertible_to<index_t>;
    { V::c_latent } -> std::convertible_to<index_t>;
    { V::se_divisor } -> std::convertible_to<index_t>;
    { V::bn_eps } -> std::convertible_to<double>;
    { V::mapper_bn_eps } -> std::convertible_to<double>;
    { V::stages[0] } -> std::convertible_to<EffStage>;
    { V::stages.size() } -> std::convertible_to<std::size_t>;
};

/// Expanded width (§6 rule 3): c·ratio rounded to a multiple of 8 (halves up), at least 8,
/// and 8 more when that fell below 0.9·c·ratio.
constexpr index_t eff_expanded_width(index_t c, double ratio) {
    const double v = double(c) * ratio;
    const index_t r = std::max<index_t>(8, index_t(v + 4) / 8 * 8);
    return double(r) < 0.9 * v ? r + 8 : r;
}

/// ImageNet mean / std (R, G, B), applied as the reference does: (0.5 (x + 1) − mean) / std
/// in float32.
inline constexpr std::array<float, 3> imagenet_mean{0.485f, 0.456f, 0.406f};
inline constexpr std::array<float, 3> imagenet_std{0.229f, 0.224f, 0.225f};

namespace effnet_detail {

using T4 = Tensor<float, DExtents<4>>;
using T1 = Tensor<float, DExtents<1>>;
using CV4 = View<const float, DExtents<4>, cpu>;

/// Conv2d (no bias) + BatchNorm folded into weight and bias, then SiLU when `act`.
struct ConvBn {
    T4 w;
    T1 b;
    Conv2dParams p;
    bool act = true;

    ConvBn() = default;
    ConvBn(index_t ci, index_t co, index_t k, index_t stride, index_t groups, bool act_)
        : w(co, ci / groups, k, k), b(co), p{stride, stride, (k - 1) / 2, (k - 1) / 2, groups}, act(act_) {}

    index_t out_channels() const { return w.extent(0); }

    /// Keys `<name>.0.weight` (conv) and `<name>.1.{weight,bias,running_mean,running_var}`
    /// (+ optional `num_batches_tracked`); folds the BatchNorm with eps.
    void bind(io::Binder& parent, const std::string& name, double eps) {
        io::Binder c = parent.child(name);
        const index_t co = out_channels();
        T1 g(co), be(co), m(co), v(co);
        std::fill_n(v.data(), co, 1.f);
        c.bind("0.weight", w);
        c.bind("1.weight", g);
        c.bind("1.bias", be);
        c.bind("1.running_mean", m);
        c.bind("1.running_var", v);
        c.ignore("1.num_batches_tracked");
        std::fill_n(b.data(), co, 0.f);
        fold_batchnorm(w.view(), b.view(), g, be, m, v, eps);
    }

    T4 operator()(CV4 x) const {
        const index_t Ho = conv_out_size(x.extent(2), w.extent(2), p.stride_h, p.pad_h);
        const index_t Wo = conv_out_size(x.extent(3), w.extent(3), p.stride_w, p.pad_w);
        T4 y(x.extent(0), out_channels(), Ho, Wo);
        conv2d(x, w, b.data(), y, p);
        if (act) silu_inplace(y);
        return y;
    }
};

/// Squeeze-and-excitation: fc1 [S, C, 1, 1] + bias, fc2 [C, S, 1, 1] + bias.
struct SqueezeExcite {
    T4 w1, w2;
    T1 b1, b2;
    SqueezeExcite() = default;
    SqueezeExcite(index_t c, index_t s) : w1(s, c, 1, 1), w2(c, s, 1, 1), b1(s), b2(c) {}
    void bind(io::Binder& parent, const std::string& name) {
        io::Binder c = parent.child(name);
        c.bind("fc1.weight", w1);
        c.bind("fc1.bias", b1);
        c.bind("fc2.weight", w2);
        c.bind("fc2.bias", b2);
    }
    void operator()(T4& x) const { squeeze_excitation(x, w1.data(), b1.data(), w2.data(), b2.data(), w1.extent(0)); }
};

/// FusedMBConv or MBConv (§2): keys `block.<i>.*`.
struct Block {
    EffBlockType type = EffBlockType::fused;
    bool residual = false;
    std::vector<ConvBn> convs;  // fused: 1 or 2; mb: [expand], depthwise, projection
    SqueezeExcite se;
    index_t se_index = -1;      // key index of the SE in block.N (mb only)

    Block(EffBlockType t, index_t ci, index_t co, double expand, index_t k, index_t stride, index_t se_divisor)
        : type(t), residual(stride == 1 && ci == co) {
        const index_t mid = eff_expanded_width(ci, expand);
        if (t == EffBlockType::fused) {
            if (mid != ci) {
                convs.emplace_back(ci, mid, k, stride, 1, true);
                convs.emplace_back(mid, co, 1, 1, 1, false);
            } else {
                convs.emplace_back(ci, co, k, stride, 1, true);
            }
        } else {
            if (mid != ci) convs.emplace_back(ci, mid, 1, 1, 1, true);
            convs.emplace_back(mid, mid, k, stride, mid, true);
            se = SqueezeExcite(mid, std::max<index_t>(1, ci / se_divisor));
            se_index = index_t(convs.size());
            convs.emplace_back(mid, co, 1, 1, 1, false);
        }
    }

    void bind(io::Binder& parent, const std::string& name, double eps) {
        io::Binder b = parent.child(name);
        io::Binder blk = b.child("block");
        index_t key = 0;
        for (std::size_t i = 0; i < convs.size(); ++i) {
            if (type == EffBlockType::mb && key == se_index) se.bind(blk, std::to_string(key++));
            convs[i].bind(blk, std::to_string(key++), eps);
        }
    }

    T4 operator()(CV4 x) const {
        T4 h;
        for (std::size_t i = 0; i < convs.size(); ++i) {
            if (type == EffBlockType::mb && index_t(i) + 1 == index_t(convs.size())) se(h);
            h = convs[i](i == 0 ? x : CV4(h.view()));
        }
        if (residual) {
            if (!x.is_contiguous() || x.dims() != h.dims())
                fail("effnet block: residual input ", x.extents().str(), " must be contiguous and shaped like ",
                     h.extents().str());
            float* hd = h.data();
            const float* xd = x.data();
            // x is contiguous (an activation of this model) and has h's shape.
            const index_t planes = h.extent(0) * h.extent(1), P = h.extent(2) * h.extent(3);
            parallel_for(planes, P, [&](index_t i) {
                for (index_t j = i * P; j < (i + 1) * P; ++j) hd[j] += xd[j];
            });
        }
        return h;
    }
};

}  // namespace effnet_detail

template <EffnetVariant V>
struct EffnetEncoder {
    using variant = V;
    using T4 = effnet_detail::T4;
    using CV4 = effnet_detail::CV4;

    effnet_detail::ConvBn stem;
    std::vector<std::vector<effnet_detail::Block>> stages;
    effnet_detail::ConvBn head;
    effnet_detail::ConvBn mapper;  // 1×1 conv without bias + non-affine BatchNorm, no activation

    EffnetEncoder()
        : stem(3, V::stem, 3, 2, 1, true),
          head(V::stages[V::stages.size() - 1].c_out, V::head, 1, 1, 1, true),
          mapper(V::head, V::c_latent, 1, 1, 1, false) {
        static_assert(V::stages.size() > 0, "effnet: at least one stage");
        for (const EffStage& s : V::stages) {
            std::vector<effnet_detail::Block> blocks;
            for (index_t i = 0; i < s.layers; ++i)
                blocks.emplace_back(s.type, i == 0 ? s.c_in : s.c_out, s.c_out, s.expand, s.kernel,
                                    i == 0 ? s.stride : 1, V::se_divisor);
            stages.push_back(std::move(blocks));
        }
    }

    /// Binds `backbone.*` and `mapper.*` by the released key names and folds every
    /// BatchNorm. `num_batches_tracked` is accepted and ignored.
    void bind(io::Binder& b) {
        io::Binder bb = b.child("backbone");
        stem.bind(bb, "0", V::bn_eps);
        for (std::size_t s = 0; s < stages.size(); ++s) {
            io::Binder sb = bb.child(std::to_string(s + 1));
            for (std::size_t j = 0; j < stages[s].size(); ++j) stages[s][j].bind(sb, std::to_string(j), V::bn_eps);
        }
        head.bind(bb, std::to_string(stages.size() + 1), V::bn_eps);
        // mapper: conv weight at mapper.0, non-affine BatchNorm at mapper.1
        io::Binder mb = b.child("mapper");
        const index_t co = V::c_latent;
        effnet_detail::T1 m(co), v(co);
        std::fill_n(v.data(), co, 1.f);
        mb.bind("0.weight", mapper.w);
        mb.bind("1.running_mean", m);
        mb.bind("1.running_var", v);
        mb.ignore("1.num_batches_tracked");
        std::fill_n(mapper.b.data(), co, 0.f);
        const View<const float, DExtents<1>, cpu> none;
        fold_batchnorm(mapper.w.view(), mapper.b.view(), none, none, m, v, V::mapper_bn_eps);
    }
    void load(const io::WeightStore& store) {
        io::Binder b(store);
        bind(b);
        b.finish();
    }

    /// Normalised frames [N, 3, H, W] -> latents [N, c_latent, ⌈H/32⌉, ⌈W/32⌉].
    T4 forward_frames(CV4 x) const {
        T4 h = stem(x);
        for (const auto& st : stages)
            for (const auto& blk : st) h = blk(h);
        h = head(h);
        return mapper(h);
    }

    /// video [B, 3, T, H, W] in [-1, 1] -> latent [B, c_latent, T, ⌈H/32⌉, ⌈W/32⌉]
    /// (frames one at a time; eval-mode BatchNorm makes batching irrelevant).
    Tensor<float, DExtents<5>> encode(View<const float, DExtents<5>, cpu> video) const {
        const index_t B = video.extent(0), T = video.extent(2), H = video.extent(3), W = video.extent(4);
        if (video.extent(1) != 3) fail("effnet.encode: video ", video.extents().str(), " must be [B, 3, T, H, W]");
        if (H < 1 || W < 1) fail("effnet.encode: empty frames in video ", video.extents().str());
        index_t ho = H, wo = W;
        auto down = [](index_t n) { return conv_out_size(n, 3, 2, 1); };
        ho = down(ho), wo = down(wo);
        for (const EffStage& s : V::stages)
            if (s.stride == 2) ho = down(ho), wo = down(wo);
        Tensor<float, DExtents<5>> out(B, V::c_latent, T, ho, wo);
        T4 frame(1, 3, H, W);
        for (index_t b = 0; b < B; ++b)
            for (index_t t = 0; t < T; ++t) {
                for (index_t c = 0; c < 3; ++c) {
                    const float mean = imagenet_mean[std::size_t(c)], sd = imagenet_std[std::size_t(c)];
                    for (index_t i = 0; i < H; ++i)
                        for (index_t j = 0; j < W; ++j) {
                            const float u = 0.5f * (video(b, c, t, i, j) + 1.0f);
                            frame(0, c, i, j) = (u - mean) / sd;
                        }
                }
                const T4 lat = forward_frames(frame);
                if (lat.extent(2) != ho || lat.extent(3) != wo)
                    fail("effnet.encode: internal size mismatch ", lat.extents().str());
                for (index_t c = 0; c < V::c_latent; ++c)
                    for (index_t i = 0; i < ho; ++i)
                        for (index_t j = 0; j < wo; ++j) out(b, c, t, i, j) = lat(0, c, i, j);
            }
        return out;
    }
};

}  // namespace cascadev::models
