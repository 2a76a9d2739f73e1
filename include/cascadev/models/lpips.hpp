#pragma once
// LPIPS v0.1 with the AlexNet trunk (docs/lpips.md): the perceptual distance the CascadeV
// paper reports next to PSNR and SSIM, as the `lpips` package computes
// lpips.LPIPS(net='alex')(x0, x1) (normalize=False, spatial=False) on frames in [-1, 1]:
//
//   x -> (x - shift) / scale                        shift (-.030, -.088, -.188), scale (.458, .448, .450)
//   torchvision AlexNet features, taps after the five ReLUs:
//     conv0 3->64 k11 s4 p2, ReLU | maxpool 3/2, conv3 64->192 k5 p2, ReLU | maxpool 3/2,
//     conv6 192->384 k3 p1, ReLU | conv8 384->256 k3 p1, ReLU | conv10 256->256 k3 p1, ReLU
//   per tap k: f / (sqrt(sum_c f^2) + 1e-10) for both images, squared difference,
//   1x1 conv C_k -> 1 without bias (lin_k), mean over H x W; the sum over the five taps.
//
// The trunk runs in float32 (conv2d: im2col + GEMM); the normalisation, the lin layers and
// the means run in double on the float32 features (the reference is float32 throughout;
// the golden cases bound the difference). Frames run one at a time, each through the same
// code path for both images, so identical frames give exactly 0 and d(a, b) == d(b, a).
//
//   models::Lpips lpips;  lpips.load_published("weights/");  // alexnet-owt-7be5be79.pth + alex.pth
//   std::vector<double> d = lpips.distance(x0, x1);           // [N, 3, H, W] in [-1, 1] -> N values
//   std::vector<double> e = lpips.distance(clip_a, clip_b);   // uint8 [T, H, W, 3] -> T values
#include <array>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cascadev/backend/cpu/activation.hpp"
#include "cascadev/backend/cpu/conv.hpp"
#include "cascadev/backend/cpu/parallel.hpp"
#include "cascadev/backend/cpu/pool.hpp"
#include "cascadev/core.hpp"
#include "cascadev/io/weight_store.hpp"

namespace cascadev::models {

/// Published: torchvision AlexNet widths.
struct LpipsAlex {
    static constexpr const char* name = "lpips.alex";
    static constexpr std::array<index_t, 5> channels{64, 192, 384, 256, 256};
};

/// Test variant (golden cases, fixtures): the same layers, narrow.
struct LpipsAlexTiny {
    static constexpr const char* name = "lpips.alex_tiny";
    static constexpr std::array<index_t, 5> channels{4, 8, 12, 8, 8};
};

template <class V>
concept LpipsVariant = requires {
    { V::name } -> std::convertible_to<const char*>;
    { V::channels } -> std::convertible_to<std::array<index_t, 5>>;
};

/// Where the published weights are (load_published looks for these names in a folder).
struct LpipsPublished {
    static constexpr const char* trunk_file = "alexnet-owt-7be5be79.pth";
    static constexpr const char* trunk_url = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth";
    static constexpr const char* lin_file = "alex.pth";
    static constexpr const char* lin_url =
        "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth";
};

/// Per-frame results: the distance and its five per-tap terms (distance = their sum).
struct LpipsResult {
    std::vector<double> distance;              ///< [N]
    std::vector<std::array<double, 5>> layers; ///< [N][5]
    double mean() const {
        double s = 0;
        for (double d : distance) s += d;
        return distance.empty() ? 0.0 : s / double(distance.size());
    }
};

namespace lpips_detail {

using T4 = Tensor<float, DExtents<4>>;
using T1 = Tensor<float, DExtents<1>>;
using CV4 = View<const float, DExtents<4>, cpu>;

struct Conv {
    T4 w;
    T1 b;
    Conv2dParams p;
    Conv() = default;
    Conv(index_t ci, index_t co, index_t k, index_t stride, index_t pad) : w(co, ci, k, k), b(co), p{stride, stride, pad, pad, 1} {}

    /// conv + ReLU.
    T4 operator()(CV4 x) const {
        const index_t Ho = conv_out_size(x.extent(2), w.extent(2), p.stride_h, p.pad_h);
        const index_t Wo = conv_out_size(x.extent(3), w.extent(3), p.stride_w, p.pad_w);
        T4 y(x.extent(0), w.extent(0), Ho, Wo);
        conv2d(x, w, b.data(), y, p);
        relu_inplace(y);
        return y;
    }
};

inline T4 maxpool_3s2(CV4 x) {
    const auto p = Pool2dParams::square(3, 2);
    T4 y(x.extent(0), x.extent(1), pool_out_size(x.extent(2), 3, 2, 0, false), pool_out_size(x.extent(3), 3, 2, 0, false));
    maxpool2d(x, y, p);
    return y;
}

}  // namespace lpips_detail

template <LpipsVariant V = LpipsAlex>
class Lpips {
public:
    using variant = V;
    using T4 = lpips_detail::T4;
    using CV4 = lpips_detail::CV4;
    using ClipView = View<const std::uint8_t, DExtents<4>, cpu>;  ///< [T, H, W, 3] (video::MetricClipView)

    static constexpr std::array<index_t, 5> channels = V::channels;
    /// torchvision feature indices of the five convs (keys features.<i>.weight/bias).
    static constexpr std::array<int, 5> conv_index{0, 3, 6, 8, 10};
    /// The ScalingLayer constants, float32 as torch.Tensor([...]) holds them.
    static constexpr std::array<float, 3> shift{float(-.030), float(-.088), float(-.188)};
    static constexpr std::array<float, 3> scale{float(.458), float(.448), float(.450)};
    static constexpr double eps = 1e-10;
    /// Smallest frame side AlexNet's two 3x3 max pools still see (31 -> 7 -> 3 -> 1).
    static constexpr index_t min_side = 31;

    Lpips() {
        const auto& c = V::channels;
        convs_[0] = lpips_detail::Conv(3, c[0], 11, 4, 2);
        convs_[1] = lpips_detail::Conv(c[0], c[1], 5, 1, 2);
        convs_[2] = lpips_detail::Conv(c[1], c[2], 3, 1, 1);
        convs_[3] = lpips_detail::Conv(c[2], c[3], 3, 1, 1);
        convs_[4] = lpips_detail::Conv(c[3], c[4], 3, 1, 1);
        for (std::size_t k = 0; k < 5; ++k) lin_[k] = T4(1, c[k], 1, 1);
    }

    /// The trunk under torchvision's names: features.{0,3,6,8,10}.{weight,bias}. The
    /// classifier (classifier.{1,4,6}.{weight,bias}) of the published file is ignored.
    void bind_trunk(io::Binder& b) {
        io::Binder f = b.child("features");
        for (std::size_t k = 0; k < 5; ++k) {
            io::Binder c = f.child(std::to_string(conv_index[k]));
            c.bind("weight", convs_[k].w);
            c.bind("bias", convs_[k].b);
        }
        for (const char* i : {"1", "4", "6"}) {
            b.ignore(std::string("classifier.") + i + ".weight");
            b.ignore(std::string("classifier.") + i + ".bias");
        }
    }
    /// The linear layers under lpips' names: lin{k}.model.1.weight, [1, C_k, 1, 1].
    void bind_lin(io::Binder& b) {
        for (std::size_t k = 0; k < 5; ++k) b.bind("lin" + std::to_string(k) + ".model.1.weight", lin_[k]);
    }
    /// Both from one store, as the golden cases hold them: alexnet.features.* and lin.lin{k}.*.
    void bind(io::Binder& b) {
        io::Binder t = b.child("alexnet");
        bind_trunk(t);
        io::Binder l = b.child("lin");
        bind_lin(l);
    }

    /// One store with the keys of bind(); every missing, mis-shaped or unexpected key at once.
    void load(const io::WeightStore& store) {
        io::Binder b(store);
        bind(b);
        b.finish();
    }
    /// The published layout: the trunk file (torchvision's state dict) and the lin file.
    void load(const io::WeightStore& trunk, const io::WeightStore& lin) {
        io::Binder bt(trunk);
        bind_trunk(bt);
        bt.finish();
        io::Binder bl(lin);
        bind_lin(bl);
        bl.finish();
    }
    /// Finds the published files in `dir` (LpipsPublished; legacy or zip .pth, or the same
    /// names with .safetensors) and loads them. A missing file is one error naming it (and
    /// the other one, when both are missing) with the URL it is published at.
    void load_published(const std::filesystem::path& dir) {
        const auto trunk = find_published(dir, LpipsPublished::trunk_file);
        const auto lin = find_published(dir, LpipsPublished::lin_file);
        std::string missing;
        auto note = [&](const std::filesystem::path& found, const char* file, const char* url) {
            if (!found.empty()) return;
            missing += concat("\n  ", (dir / file).string(), " (or ",
                              (dir / std::filesystem::path(file).replace_extension(".safetensors")).string(),
                              "): download ", url);
        };
        note(trunk, LpipsPublished::trunk_file, LpipsPublished::trunk_url);
        note(lin, LpipsPublished::lin_file, LpipsPublished::lin_url);
        if (!missing.empty()) fail("lpips: missing weight file", missing);
        load(io::WeightStore(trunk), io::WeightStore(lin));
    }

    /// Per-frame distances of two batches of frames [N, 3, H, W] in [-1, 1], H, W >= 31.
    std::vector<double> distance(CV4 x0, CV4 x1) const { return evaluate(x0, x1).distance; }
    /// Per-frame distances of two 8-bit clips [T, H, W, 3], converted as lpips.im2tensor
    /// does: x / 127.5 - 1 in double, rounded to float32.
    std::vector<double> distance(ClipView a, ClipView b) const { return evaluate(a, b).distance; }

    /// Distances with their per-tap terms.
    LpipsResult evaluate(CV4 x0, CV4 x1) const {
        check_frames(x0, x1);
        const index_t N = x0.extent(0), H = x0.extent(2), W = x0.extent(3);
        LpipsResult r;
        T4 f0(1, 3, H, W), f1(1, 3, H, W);
        for (index_t n = 0; n < N; ++n) {
            for (index_t c = 0; c < 3; ++c)
                for (index_t i = 0; i < H; ++i)
                    for (index_t j = 0; j < W; ++j) {
                        f0(0, c, i, j) = x0(n, c, i, j);
                        f1(0, c, i, j) = x1(n, c, i, j);
                    }
            push_frame(r, f0, f1);
        }
        return r;
    }
    LpipsResult evaluate(ClipView a, ClipView b) const {
        check_same_shape(a, b, "lpips: clips");
        if (a.extent(3) != 3) fail("lpips: clip ", a.extents().str(), " must be [T, H, W, 3] (RGB)");
        const index_t T = a.extent(0), H = a.extent(1), W = a.extent(2);
        check_side(H, W, a.extents().str());
        LpipsResult r;
        T4 f0(1, 3, H, W), f1(1, 3, H, W);
        for (index_t t = 0; t < T; ++t) {
            for (index_t c = 0; c < 3; ++c)
                for (index_t i = 0; i < H; ++i)
                    for (index_t j = 0; j < W; ++j) {
                        f0(0, c, i, j) = float(double(a(t, i, j, c)) / 127.5 - 1.0);
                        f1(0, c, i, j) = float(double(b(t, i, j, c)) / 127.5 - 1.0);
                    }
            push_frame(r, f0, f1);
        }
        return r;
    }

    /// The five ReLU outputs of the trunk for frames [N, 3, H, W] in [-1, 1] (scaling included).
    std::array<T4, 5> features(CV4 x) const {
        if (x.extent(1) != 3) fail("lpips: frames ", x.extents().str(), " must be [N, 3, H, W]");
        check_side(x.extent(2), x.extent(3), x.extents().str());
        T4 s(x.extent(0), 3, x.extent(2), x.extent(3));
        for (index_t n = 0; n < x.extent(0); ++n)
            for (index_t c = 0; c < 3; ++c) {
                const float sh = shift[std::size_t(c)], sc = scale[std::size_t(c)];
                for (index_t i = 0; i < x.extent(2); ++i)
                    for (index_t j = 0; j < x.extent(3); ++j) s(n, c, i, j) = (x(n, c, i, j) - sh) / sc;
            }
        std::array<T4, 5> taps;
        taps[0] = convs_[0](s);
        taps[1] = convs_[1](lpips_detail::maxpool_3s2(taps[0]));
        taps[2] = convs_[2](lpips_detail::maxpool_3s2(taps[1]));
        taps[3] = convs_[3](taps[2]);
        taps[4] = convs_[4](taps[3]);
        return taps;
    }

    const T4& lin_weight(std::size_t k) const { return lin_[k]; }

private:
    static std::filesystem::path find_published(const std::filesystem::path& dir, const char* file) {
        const auto pth = dir / file;
        if (std::filesystem::is_regular_file(pth)) return pth;
        const auto st = dir / std::filesystem::path(file).replace_extension(".safetensors");
        if (std::filesystem::is_regular_file(st)) return st;
        return {};
    }

    static void check_side(index_t H, index_t W, const std::string& shape) {
        if (H < min_side || W < min_side)
            fail("lpips: frames of ", H, " x ", W, " (", shape, ") are smaller than AlexNet's minimum of ", min_side,
                 " x ", min_side);
    }
    static void check_frames(const CV4& x0, const CV4& x1) {
        check_same_shape(x0, x1, "lpips: frames");
        if (x0.extent(1) != 3) fail("lpips: frames ", x0.extents().str(), " must be [N, 3, H, W]");
        check_side(x0.extent(2), x0.extent(3), x0.extents().str());
    }

    /// One frame pair [1, 3, H, W] each: the five tap terms and their sum.
    void push_frame(LpipsResult& r, const T4& x0, const T4& x1) const {
        const auto a = features(x0);
        const auto b = features(x1);
        std::array<double, 5> layers{};
        double total = 0;
        for (std::size_t k = 0; k < 5; ++k) {
            layers[k] = tap_term(a[k], b[k], lin_[k]);
            total += layers[k];
        }
        r.distance.push_back(total);
        r.layers.push_back(layers);
    }

    /// mean over positions of sum_c w_c (a_c / (|a| + eps) - b_c / (|b| + eps))^2, in double.
    static double tap_term(const T4& a, const T4& b, const T4& w) {
        const index_t C = a.extent(1), P = a.extent(2) * a.extent(3);
        const float* ad = a.data();
        const float* bd = b.data();
        const float* wd = w.data();
        std::vector<double> per(static_cast<std::size_t>(P));
        parallel_for(P, 4 * C, [&](index_t p) {
            double na = 0, nb = 0;
            for (index_t c = 0; c < C; ++c) {
                const double u = ad[c * P + p], v = bd[c * P + p];
                na += u * u;
                nb += v * v;
            }
            const double ia = 1.0 / (std::sqrt(na) + eps), ib = 1.0 / (std::sqrt(nb) + eps);
            double s = 0;
            for (index_t c = 0; c < C; ++c) {
                const double d = double(ad[c * P + p]) * ia - double(bd[c * P + p]) * ib;
                s += double(wd[c]) * d * d;
            }
            per[std::size_t(p)] = s;
        });
        double sum = 0;
        for (double s : per) sum += s;
        return sum / double(P);
    }

    std::array<lpips_detail::Conv, 5> convs_;
    std::array<T4, 5> lin_;
};

}  // namespace cascadev::models
