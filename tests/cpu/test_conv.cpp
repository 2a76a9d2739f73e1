// Convolutions against naive double-precision loops: odd sizes, strides, padding, groups,
// depthwise, transposed k2s2, temporal Conv3d, nearest upsampling, BatchNorm folding, SE.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "cascadev/backend/cpu/conv.hpp"

using namespace cascadev;

namespace {

using T1 = Tensor<float, DExtents<1>>;
using T4 = Tensor<float, DExtents<4>>;
using T5 = Tensor<float, DExtents<5>>;

template <class TT>
void randomize(TT& t, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
    std::uniform_real_distribution<float> d(lo, hi);
    for (index_t i = 0; i < t.size(); ++i) t.data()[i] = d(rng);
}

template <class A>
void check_close(const A& got, const std::vector<double>& want, double scale, const std::string& what) {
    BOOST_REQUIRE_EQUAL(std::size_t(got.size()), want.size());
    double max_err = 0;
    for (std::size_t i = 0; i < want.size(); ++i)
        max_err = std::max(max_err, std::abs(double(got.data()[i]) - want[i]));
    BOOST_TEST(max_err <= 1e-5 * scale, what << ": max abs error " << max_err << " (scale " << scale << ")");
}

std::vector<double> naive_conv2d(const T4& x, const T4& w, const T1* b, const Conv2dParams& p, index_t Ho,
                                 index_t Wo) {
    const index_t N = x.extent(0), C = x.extent(1), H = x.extent(2), W = x.extent(3);
    const index_t O = w.extent(0), Cg = w.extent(1), kh = w.extent(2), kw = w.extent(3), Og = O / p.groups;
    std::vector<double> y(std::size_t(N * O * Ho * Wo));
    for (index_t n = 0; n < N; ++n)
        for (index_t o = 0; o < O; ++o) {
            const index_t g = o / Og;
            for (index_t oy = 0; oy < Ho; ++oy)
                for (index_t ox = 0; ox < Wo; ++ox) {
                    double s = b ? double((*b)(o)) : 0.0;
                    for (index_t c = 0; c < Cg; ++c)
                        for (index_t i = 0; i < kh; ++i)
                            for (index_t j = 0; j < kw; ++j) {
                                const index_t iy = oy * p.stride_h - p.pad_h + i, ix = ox * p.stride_w - p.pad_w + j;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                s += double(w(o, c, i, j)) * double(x(n, g * Cg + c, iy, ix));
                            }
                    y[std::size_t(((n * O + o) * Ho + oy) * Wo + ox)] = s;
                }
        }
    (void)C;
    return y;
}

struct ConvCase {
    index_t N, C, H, W, O, kh, kw;
    Conv2dParams p;
    bool bias;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(conv)

BOOST_AUTO_TEST_CASE(conv2d_matches_naive_loop) {
    std::mt19937 rng(7);
    const std::vector<ConvCase> cases = {
        {2, 3, 7, 9, 5, 3, 3, {1, 1, 1, 1, 1}, true},     // 3x3 pad 1
        {1, 3, 11, 8, 4, 3, 3, {2, 2, 1, 1, 1}, true},    // stride 2, odd H
        {2, 6, 5, 7, 4, 3, 3, {1, 1, 1, 1, 2}, true},     // groups 2
        {1, 8, 9, 6, 8, 3, 3, {1, 1, 1, 1, 8}, true},     // depthwise
        {2, 5, 9, 11, 5, 3, 3, {2, 2, 1, 1, 5}, false},   // depthwise stride 2
        {1, 4, 6, 5, 4, 5, 5, {1, 1, 2, 2, 4}, true},     // depthwise 5x5
        {2, 7, 5, 6, 9, 1, 1, {1, 1, 0, 0, 1}, true},     // 1x1 (direct GEMM)
        {1, 6, 5, 6, 3, 1, 1, {1, 1, 0, 0, 3}, false},    // 1x1 groups 3
        {1, 3, 4, 13, 2, 2, 3, {1, 2, 0, 1, 1}, true},    // rectangular kernel, mixed stride
        {1, 2, 3, 3, 3, 3, 3, {1, 1, 2, 2, 1}, true},     // padding > 1
        {1, 4, 6, 6, 8, 3, 3, {2, 1, 1, 0, 2}, true},     // groups with stride
        {1, 1, 1, 1, 1, 3, 3, {1, 1, 1, 1, 1}, true},     // 1x1 image with pad
        {2, 16, 41, 37, 12, 3, 3, {1, 1, 1, 1, 1}, true}, // large enough for the threaded paths
        {1, 32, 43, 39, 32, 3, 3, {2, 2, 1, 1, 32}, true},
        {1, 3, 4, 7, 3, 3, 3, {2, 1, 0, 3, 3}, true},     // depthwise: uneven stride, pad 3 > k/2
        {2, 2, 1, 1, 2, 3, 3, {1, 1, 2, 2, 2}, false},    // depthwise: 1x1 image, pad 2
        {1, 3, 8, 8, 3, 3, 3, {2, 2, 0, 0, 3}, true},     // depthwise: stride 2, last row unused
    };
    for (const auto& c : cases) {
        const Conv2dParams& p = c.p;
        T4 x(c.N, c.C, c.H, c.W), w(c.O, c.C / p.groups, c.kh, c.kw);
        T1 b(c.O);
        randomize(x, rng);
        randomize(w, rng);
        randomize(b, rng);
        const index_t Ho = conv_out_size(c.H, c.kh, p.stride_h, p.pad_h), Wo = conv_out_size(c.W, c.kw, p.stride_w, p.pad_w);
        T4 y(c.N, c.O, Ho, Wo);
        conv2d(x, w, c.bias ? b.data() : nullptr, y, p);
        const auto want = naive_conv2d(x, w, c.bias ? &b : nullptr, p, Ho, Wo);
        check_close(y, want, double(c.C / p.groups * c.kh * c.kw),
                    concat("conv2d x ", x.extents().str(), " w ", w.extents().str(), " stride ", p.stride_h, "x",
                           p.stride_w, " pad ", p.pad_h, "x", p.pad_w, " groups ", p.groups));
    }
}

BOOST_AUTO_TEST_CASE(conv2d_strided_views) {
    // x is a channel slice of a bigger tensor; y a channel slice of a bigger output.
    std::mt19937 rng(8);
    T4 big(2, 9, 6, 7);
    randomize(big, rng);
    T4 xc(2, 5, 6, 7);
    for (index_t n = 0; n < 2; ++n)
        for (index_t c = 0; c < 5; ++c)
            for (index_t i = 0; i < 6; ++i)
                for (index_t j = 0; j < 7; ++j) xc(n, c, i, j) = big(n, c + 2, i, j);
    View<const float, DExtents<4>, cpu> xs = View<const float, DExtents<4>, cpu>(big.view()).slice<1>(2, 7);
    for (index_t k : {1, 3}) {
        T4 w(4, 5, k, k);
        randomize(w, rng);
        const Conv2dParams p{1, 1, k / 2, k / 2, 1};
        T4 ybig(2, 6, 6, 7);
        conv2d(xs, w, nullptr, ybig.view().slice<1>(1, 5), p);
        T4 y(2, 4, 6, 7);
        for (index_t n = 0; n < 2; ++n)
            for (index_t o = 0; o < 4; ++o)
                for (index_t i = 0; i < 6; ++i)
                    for (index_t j = 0; j < 7; ++j) y(n, o, i, j) = ybig(n, o + 1, i, j);
        check_close(y, naive_conv2d(xc, w, nullptr, p, 6, 7), 5.0 * k * k, concat("strided views k ", k));
    }
}

BOOST_AUTO_TEST_CASE(depthwise_conv2d_strided_views) {
    // Depthwise (groups == C) from a transposed x (last-dim stride != 1) into a channel
    // slice of a bigger output, stride 1 and 2.
    std::mt19937 rng(9);
    T4 store(2, 4, 7, 6);  // holds x transposed: x(n, c, i, j) = store(n, c, j, i)
    randomize(store, rng);
    const auto xs = View<const float, DExtents<4>, cpu>(store.view()).permute<0, 1, 3, 2>();  // [2, 4, 6, 7]
    T4 xc(2, 4, 6, 7);
    for (index_t n = 0; n < 2; ++n)
        for (index_t c = 0; c < 4; ++c)
            for (index_t i = 0; i < 6; ++i)
                for (index_t j = 0; j < 7; ++j) xc(n, c, i, j) = store(n, c, j, i);
    for (index_t s : {1, 2}) {
        T4 w(4, 1, 3, 3);
        T1 b(4);
        randomize(w, rng);
        randomize(b, rng);
        const Conv2dParams p{s, s, 1, 1, 4};
        const index_t Ho = (6 + 2 - 3) / s + 1, Wo = (7 + 2 - 3) / s + 1;
        T4 ybig(2, 6, Ho, Wo);
        conv2d(xs, w, b.data(), ybig.view().slice<1>(1, 5), p);
        T4 y(2, 4, Ho, Wo);
        for (index_t n = 0; n < 2; ++n)
            for (index_t o = 0; o < 4; ++o)
                for (index_t i = 0; i < Ho; ++i)
                    for (index_t j = 0; j < Wo; ++j) y(n, o, i, j) = ybig(n, o + 1, i, j);
        check_close(y, naive_conv2d(xc, w, &b, p, Ho, Wo), 9.0, concat("depthwise strided views, stride ", s));
        BOOST_TEST(ybig(0, 0, 0, 0) == 0.f);  // outside the slice: untouched
    }
}

BOOST_AUTO_TEST_CASE(conv2d_shape_errors_name_shapes) {
    T4 x(1, 4, 5, 5), w(3, 4, 3, 3), y(1, 3, 4, 4);
    try {
        conv2d(x, w, nullptr, y, {1, 1, 1, 1, 1});
        BOOST_FAIL("expected an error");
    } catch (const Error& e) {
        const std::string m = e.what();
        BOOST_TEST(m.find("[1, 3, 4, 4]") != std::string::npos, m);
        BOOST_TEST(m.find("[1, 3, 5, 5]") != std::string::npos, m);
    }
    T4 w2(3, 3, 3, 3), y2(1, 3, 5, 5);
    BOOST_CHECK_THROW(conv2d(x, w2, nullptr, y2, {1, 1, 1, 1, 1}), Error);
}

BOOST_AUTO_TEST_CASE(conv_transpose_k2s2_matches_naive_loop) {
    std::mt19937 rng(9);
    for (auto [N, C, O, H, W] : std::vector<std::array<index_t, 5>>{{2, 5, 3, 3, 4}, {1, 8, 4, 1, 1}, {1, 3, 6, 5, 7}}) {
        T4 x(N, C, H, W), w(C, O, 2, 2), y(N, O, 2 * H, 2 * W);
        T1 b(O);
        randomize(x, rng);
        randomize(w, rng);
        randomize(b, rng);
        conv_transpose2d_k2s2(x, w, b.data(), y);
        std::vector<double> want(std::size_t(y.size()));
        for (index_t n = 0; n < N; ++n)
            for (index_t o = 0; o < O; ++o)
                for (index_t i = 0; i < 2 * H; ++i)
                    for (index_t j = 0; j < 2 * W; ++j) {
                        double s = b(o);
                        for (index_t c = 0; c < C; ++c) s += double(x(n, c, i / 2, j / 2)) * double(w(c, o, i % 2, j % 2));
                        want[std::size_t(((n * O + o) * 2 * H + i) * 2 * W + j)] = s;
                    }
        check_close(y, want, double(C), concat("conv_transpose2d_k2s2 x ", x.extents().str()));
    }
    T4 x(1, 3, 2, 2), w(4, 2, 2, 2), y(1, 2, 4, 4);
    BOOST_CHECK_THROW(conv_transpose2d_k2s2(x, w, nullptr, y), Error);
}

BOOST_AUTO_TEST_CASE(conv3d_temporal_matches_naive_loop) {
    std::mt19937 rng(10);
    const index_t B = 2, C = 3, O = 4, T = 5, H = 3, W = 7;
    T5 x(B, C, T, H, W), w(O, C, 3, 1, 1), y(B, O, T, H, W);
    T1 b(O);
    randomize(x, rng);
    randomize(w, rng);
    randomize(b, rng);
    conv3d_temporal(x, w, b.data(), y);
    std::vector<double> want(std::size_t(y.size()));
    for (index_t bb = 0; bb < B; ++bb)
        for (index_t o = 0; o < O; ++o)
            for (index_t t = 0; t < T; ++t)
                for (index_t i = 0; i < H; ++i)
                    for (index_t j = 0; j < W; ++j) {
                        double s = b(o);
                        for (index_t c = 0; c < C; ++c)
                            for (index_t d = 0; d < 3; ++d) {
                                const index_t ts = t + d - 1;
                                if (ts >= 0 && ts < T) s += double(w(o, c, d, 0, 0)) * double(x(bb, c, ts, i, j));
                            }
                        want[std::size_t((((bb * O + o) * T + t) * H + i) * W + j)] = s;
                    }
    check_close(y, want, double(3 * C), "conv3d_temporal");

    // frames-major buffers [B, T, C, H, W] passed as permuted views
    T5 xf(B, T, C, H, W), yf(B, T, O, H, W);
    for (index_t bb = 0; bb < B; ++bb)
        for (index_t c = 0; c < C; ++c)
            for (index_t t = 0; t < T; ++t)
                for (index_t i = 0; i < H; ++i)
                    for (index_t j = 0; j < W; ++j) xf(bb, t, c, i, j) = x(bb, c, t, i, j);
    conv3d_temporal(View<const float, DExtents<5>, cpu>(xf.view()).permute<0, 2, 1, 3, 4>(), w, b.data(),
                    yf.view().permute<0, 2, 1, 3, 4>());
    T5 yb(B, O, T, H, W);
    for (index_t bb = 0; bb < B; ++bb)
        for (index_t o = 0; o < O; ++o)
            for (index_t t = 0; t < T; ++t)
                for (index_t i = 0; i < H; ++i)
                    for (index_t j = 0; j < W; ++j) yb(bb, o, t, i, j) = yf(bb, t, o, i, j);
    check_close(yb, want, double(3 * C), "conv3d_temporal frames-major");
}

BOOST_AUTO_TEST_CASE(upsample_nearest) {
    std::mt19937 rng(11);
    T4 x(2, 3, 3, 5), y(2, 3, 6, 10);
    randomize(x, rng);
    upsample_nearest2x(x, y);
    for (index_t n = 0; n < 2; ++n)
        for (index_t c = 0; c < 3; ++c)
            for (index_t i = 0; i < 6; ++i)
                for (index_t j = 0; j < 10; ++j) BOOST_REQUIRE_EQUAL(y(n, c, i, j), x(n, c, i / 2, j / 2));
    T4 bad(2, 3, 6, 9);
    BOOST_CHECK_THROW(upsample_nearest2x(x, bad), Error);
}

BOOST_AUTO_TEST_CASE(fold_batchnorm_equals_conv_then_bn) {
    std::mt19937 rng(12);
    const index_t C = 4, O = 6;
    T4 x(1, C, 5, 6), w(O, C, 3, 3);
    T1 g(O), be(O), mean(O), var(O), bias(O);
    randomize(x, rng);
    randomize(w, rng);
    randomize(g, rng, 0.5f, 1.5f);
    randomize(be, rng);
    randomize(mean, rng);
    randomize(var, rng, 0.2f, 2.f);
    randomize(bias, rng);
    const Conv2dParams p{1, 1, 1, 1, 1};
    for (bool affine : {true, false}) {
        const double eps = affine ? 1e-3 : 1e-5;
        auto want = naive_conv2d(x, w, &bias, p, 5, 6);
        for (index_t o = 0; o < O; ++o)
            for (index_t i = 0; i < 30; ++i) {
                double& v = want[std::size_t(o * 30 + i)];
                v = (v - mean(o)) / std::sqrt(double(var(o)) + eps);
                if (affine) v = v * g(o) + be(o);
            }
        T4 wf = w.clone();
        T1 bf = bias.clone();
        const View<const float, DExtents<1>, cpu> none;
        fold_batchnorm(wf.view(), bf.view(), affine ? View<const float, DExtents<1>, cpu>(g.view()) : none,
                       affine ? View<const float, DExtents<1>, cpu>(be.view()) : none, mean, var, eps);
        T4 y(1, O, 5, 6);
        conv2d(x, wf, bf.data(), y, p);
        check_close(y, want, 40.0, affine ? "fold affine" : "fold non-affine");
    }
}

BOOST_AUTO_TEST_CASE(squeeze_excitation_matches_naive) {
    std::mt19937 rng(13);
    const index_t N = 2, C = 6, S = 3, H = 3, W = 5;
    T4 x(N, C, H, W);
    Tensor<float, DExtents<2>> f1(S, C), f2(C, S);
    T1 b1(S), b2(C);
    for (auto* t : {&b1, &b2}) randomize(*t, rng);
    randomize(x, rng);
    randomize(f1, rng);
    randomize(f2, rng);
    T4 y = x.clone();
    squeeze_excitation(y, f1.data(), b1.data(), f2.data(), b2.data(), S);
    std::vector<double> want(std::size_t(x.size()));
    for (index_t n = 0; n < N; ++n) {
        std::vector<double> m(C), h(S);
        for (index_t c = 0; c < C; ++c) {
            for (index_t i = 0; i < H; ++i)
                for (index_t j = 0; j < W; ++j) m[c] += x(n, c, i, j);
            m[c] /= double(H * W);
        }
        for (index_t s = 0; s < S; ++s) {
            double a = b1(s);
            for (index_t c = 0; c < C; ++c) a += f1(s, c) * m[c];
            h[s] = a / (1 + std::exp(-a));
        }
        for (index_t c = 0; c < C; ++c) {
            double a = b2(c);
            for (index_t s = 0; s < S; ++s) a += f2(c, s) * h[s];
            const double gt = 1 / (1 + std::exp(-a));
            for (index_t i = 0; i < H; ++i)
                for (index_t j = 0; j < W; ++j) want[std::size_t(((n * C + c) * H + i) * W + j)] = x(n, c, i, j) * gt;
        }
    }
    check_close(y, want, 1.0, "squeeze_excitation");
}

BOOST_AUTO_TEST_SUITE_END()
