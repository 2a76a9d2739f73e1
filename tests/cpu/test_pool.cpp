// Max pooling against a naive double loop: AlexNet's k3 s2, odd sizes, padding, ceil_mode,
// rectangular kernels, strided views, NaN propagation; ReLU in place.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cascadev/backend/cpu/activation.hpp"
#include "cascadev/backend/cpu/pool.hpp"

using namespace cascadev;

namespace {

using T4 = Tensor<float, DExtents<4>>;

/// The definition: each output is the max of the in-range window elements (padding -inf),
/// positions from PyTorch's output size formula; NaN wins.
std::vector<double> naive_maxpool(const T4& x, const Pool2dParams& p, index_t Ho, index_t Wo) {
    const index_t N = x.extent(0), C = x.extent(1), H = x.extent(2), W = x.extent(3);
    std::vector<double> y;
    for (index_t n = 0; n < N; ++n)
        for (index_t c = 0; c < C; ++c)
            for (index_t oy = 0; oy < Ho; ++oy)
                for (index_t ox = 0; ox < Wo; ++ox) {
                    double m = -std::numeric_limits<double>::infinity();
                    bool nan = false;
                    for (index_t i = 0; i < p.kernel_h; ++i)
                        for (index_t j = 0; j < p.kernel_w; ++j) {
                            const index_t iy = oy * p.stride_h - p.pad_h + i, ix = ox * p.stride_w - p.pad_w + j;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            const double v = x(n, c, iy, ix);
                            nan |= std::isnan(v);
                            m = std::max(m, v);
                        }
                    y.push_back(nan ? std::numeric_limits<double>::quiet_NaN() : m);
                }
    return y;
}

void expect_equal(const T4& y, const std::vector<double>& want, const std::string& what) {
    BOOST_REQUIRE_EQUAL(std::size_t(y.size()), want.size());
    std::size_t bad = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        const double g = y.data()[i];
        if (std::isnan(want[i]) ? !std::isnan(g) : g != want[i]) ++bad;
    }
    BOOST_TEST(bad == 0u, what << ": " << bad << " of " << want.size() << " outputs differ");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pool)

BOOST_AUTO_TEST_CASE(output_sizes_follow_pytorch) {
    // Each value checked against torch 1.13's F.max_pool2d output size.
    BOOST_TEST(pool_out_size(15, 3, 2, 0, false) == 7);  // AlexNet at 64x64: 15 -> 7 -> 3
    BOOST_TEST(pool_out_size(7, 3, 2, 0, false) == 3);
    BOOST_TEST(pool_out_size(16, 3, 2, 0, false) == 7);
    BOOST_TEST(pool_out_size(16, 3, 2, 0, true) == 8);
    BOOST_TEST(pool_out_size(5, 2, 2, 1, true) == 3);
    BOOST_TEST(pool_out_size(4, 2, 2, 1, true) == 3);
    BOOST_TEST(pool_out_size(3, 3, 3, 1, true) == 2);
    BOOST_TEST(pool_out_size(6, 3, 3, 0, true) == 2);
    BOOST_TEST(pool_out_size(7, 3, 3, 0, true) == 3);
}

BOOST_AUTO_TEST_CASE(maxpool2d_matches_naive_loop) {
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> d(-3.f, 3.f);
    struct Case {
        index_t N, C, H, W;
        Pool2dParams p;
    };
    const std::vector<Case> cases = {
        {2, 3, 15, 15, Pool2dParams::square(3, 2)},     // AlexNet pool at 64x64
        {1, 5, 16, 21, Pool2dParams::square(3, 2)},     // AlexNet pool at 70x90
        {1, 2, 7, 10, Pool2dParams::square(3, 2)},
        {2, 3, 9, 8, Pool2dParams::square(2, 2)},
        {1, 4, 10, 11, Pool2dParams::square(3, 2, 1)},  // padding
        {1, 3, 16, 13, {3, 3, 2, 2, 0, 0, true}},       // ceil_mode
        {1, 2, 5, 7, {2, 2, 2, 2, 1, 1, true}},         // ceil_mode + padding
        {2, 3, 8, 9, {2, 3, 1, 2, 1, 1, false}},        // rectangular, mixed stride
        {1, 1, 3, 3, Pool2dParams::square(3, 1)},       // one window
        {1, 64, 57, 61, Pool2dParams::square(3, 2)},    // large enough for the threaded path
    };
    for (const auto& c : cases) {
        T4 x(c.N, c.C, c.H, c.W);
        for (index_t i = 0; i < x.size(); ++i) x.data()[i] = d(rng);
        const index_t Ho = pool_out_size(c.H, c.p.kernel_h, c.p.stride_h, c.p.pad_h, c.p.ceil_mode);
        const index_t Wo = pool_out_size(c.W, c.p.kernel_w, c.p.stride_w, c.p.pad_w, c.p.ceil_mode);
        T4 y(c.N, c.C, Ho, Wo);
        maxpool2d(x, y, c.p);
        expect_equal(y, naive_maxpool(x, c.p, Ho, Wo),
                     concat("maxpool2d x ", x.extents().str(), " kernel ", c.p.kernel_h, "x", c.p.kernel_w, " stride ",
                            c.p.stride_h, "x", c.p.stride_w, " pad ", c.p.pad_h, "x", c.p.pad_w, " ceil ", c.p.ceil_mode));
    }
}

BOOST_AUTO_TEST_CASE(maxpool2d_strided_views_and_nan) {
    std::mt19937 rng(12);
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    T4 big(2, 6, 9, 11);
    for (index_t i = 0; i < big.size(); ++i) big.data()[i] = d(rng);
    big(1, 3, 4, 5) = std::numeric_limits<float>::quiet_NaN();
    // x: channels 2..5 of big; y: written into channels 1..4 of a bigger output.
    const View<const float, DExtents<4>, cpu> xs = View<const float, DExtents<4>, cpu>(big.view()).slice<1>(2, 6);
    T4 xc(2, 4, 9, 11);
    for (index_t n = 0; n < 2; ++n)
        for (index_t c = 0; c < 4; ++c)
            for (index_t i = 0; i < 9; ++i)
                for (index_t j = 0; j < 11; ++j) xc(n, c, i, j) = big(n, c + 2, i, j);
    const auto p = Pool2dParams::square(3, 2);
    T4 ybig(2, 6, 4, 5);
    maxpool2d(xs, ybig.view().slice<1>(1, 5), p);
    T4 y(2, 4, 4, 5);
    for (index_t n = 0; n < 2; ++n)
        for (index_t c = 0; c < 4; ++c)
            for (index_t i = 0; i < 4; ++i)
                for (index_t j = 0; j < 5; ++j) y(n, c, i, j) = ybig(n, c + 1, i, j);
    const auto want = naive_maxpool(xc, p, 4, 5);
    expect_equal(y, want, "strided views");
    BOOST_TEST(std::isnan(y(1, 1, 1, 2)));  // the NaN at (4, 5) is in windows (1..2, 1..2)
    BOOST_TEST(std::isnan(y(1, 1, 2, 2)));
    BOOST_TEST(!std::isnan(y(1, 1, 0, 0)));
}

BOOST_AUTO_TEST_CASE(maxpool2d_rejects_bad_shapes) {
    T4 x(1, 2, 5, 5), y(1, 2, 2, 2), wrong(1, 2, 3, 2);
    BOOST_CHECK_NO_THROW(maxpool2d(x, y, Pool2dParams::square(3, 2)));
    BOOST_CHECK_THROW(maxpool2d(x, wrong, Pool2dParams::square(3, 2)), Error);
    BOOST_CHECK_THROW(maxpool2d(x, y, Pool2dParams::square(3, 0)), Error);
    BOOST_CHECK_THROW(maxpool2d(x, y, Pool2dParams::square(2, 2, 2)), Error);  // pad > kernel / 2
    T4 tiny(1, 2, 2, 2), one(1, 2, 1, 1);
    BOOST_CHECK_THROW(maxpool2d(tiny, one, Pool2dParams::square(3, 2)), Error);
}

BOOST_AUTO_TEST_CASE(relu_in_place) {
    T4 x(1, 2, 3, 4);
    for (index_t i = 0; i < x.size(); ++i) x.data()[i] = float(i) - 11.5f;
    x.data()[3] = std::numeric_limits<float>::quiet_NaN();
    relu_inplace(x);
    for (index_t i = 0; i < x.size(); ++i) {
        if (i == 3) {
            BOOST_TEST(std::isnan(x.data()[i]));
        } else {
            BOOST_TEST(x.data()[i] == std::max(0.f, float(i) - 11.5f));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
