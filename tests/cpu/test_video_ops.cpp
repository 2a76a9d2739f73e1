// Video preprocessing (box blur, OpenCV-exact bilinear resize, geometry, conversions) and
// the PSNR / SSIM metrics, against naive double-precision loops and explicit formulas.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "cascadev/video/metrics.hpp"
#include "cascadev/video/preprocess.hpp"

using namespace cascadev;
using namespace cascadev::video;

namespace {

Frame random_frame(std::mt19937& rng, index_t h, index_t w, index_t c = 3) {
    Frame f(h, w, c);
    std::uniform_int_distribution<int> d(0, 255);
    for (index_t i = 0; i < f.size(); ++i) f.data()[i] = u8(d(rng));
    return f;
}

Clip random_clip(std::mt19937& rng, index_t t, index_t h, index_t w) {
    Clip c(t, h, w, index_t(3));
    std::uniform_int_distribution<int> d(0, 255);
    for (index_t i = 0; i < c.size(); ++i) c.data()[i] = u8(d(rng));
    return c;
}

/// BORDER_REFLECT_101 written out for any offset (mirror without repeating the edge).
index_t mirror101(index_t i, index_t n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

/// Naive box blur: double mean of the 3x3 neighbourhood, rounded to nearest.
u8 naive_blur(const Frame& f, index_t y, index_t x, index_t c) {
    const index_t H = f.extent(0), W = f.extent(1);
    double s = 0;
    for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) s += double(f(mirror101(y + dy, H), mirror101(x + dx, W), c));
    return u8(std::lround(s / 9.0));
}

/// Exact (double) bilinear value with half-pixel centres and edge clamping (2.3 geometry).
double naive_bilinear(const Frame& f, index_t dh, index_t dw, index_t oy, index_t ox, index_t c) {
    const index_t h = f.extent(0), w = f.extent(1);
    auto axis = [](index_t d, index_t in, index_t out, index_t& i0, double& a) {
        const double s = (double(d) + 0.5) * (double(in) / double(out)) - 0.5;
        i0 = index_t(std::floor(s));
        a = s - double(i0);
        if (i0 < 0) i0 = 0, a = 0;
        if (i0 >= in - 1) i0 = in - 1, a = 0;
    };
    index_t y0, x0;
    double ay, ax;
    axis(oy, h, dh, y0, ay);
    axis(ox, w, dw, x0, ax);
    const index_t y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
    const double top = (1 - ax) * f(y0, x0, c) + ax * f(y0, x1, c);
    const double bot = (1 - ax) * f(y1, x0, c) + ax * f(y1, x1, c);
    return (1 - ay) * top + ay * bot;
}

/// OpenCV's INTER_LINEAR uint8 arithmetic for one output pixel, spelled out from
/// preprocess.md 2.3 steps 1-4 without any sharing between pixels.
u8 explicit_cv_pixel(const Frame& f, index_t dh, index_t dw, index_t oy, index_t ox, index_t c) {
    const index_t h = f.extent(0), w = f.extent(1);
    // step 1: horizontal weights (index and fraction clamped)
    const double scale_x = 1.0 / (double(dw) / double(w));
    float fx = float((double(ox) + 0.5) * scale_x - 0.5);
    index_t x0 = index_t(std::floor(fx));
    float a = fx - float(x0);
    if (x0 < 0) x0 = 0, a = 0.f;
    if (x0 >= w - 1) x0 = w - 1, a = 0.f;
    const long A0 = std::lrint(float(1.f - a) * 2048.f), A1 = std::lrint(a * 2048.f);
    const index_t x1 = std::min(x0 + 1, w - 1);
    // step 2: vertical weights (rows clamped, weights not)
    const double scale_y = 1.0 / (double(dh) / double(h));
    float fy = float((double(oy) + 0.5) * scale_y - 0.5);
    const index_t sy = index_t(std::floor(fy));
    const float b = fy - float(sy);
    const long B0 = std::lrint(float(1.f - b) * 2048.f), B1 = std::lrint(b * 2048.f);
    const index_t y0 = std::clamp<index_t>(sy, 0, h - 1), y1 = std::clamp<index_t>(sy + 1, 0, h - 1);
    // step 3: horizontal pass; step 4: SIMD vertical formula
    const long R0 = A0 * f(y0, x0, c) + A1 * f(y0, x1, c);
    const long R1 = A0 * f(y1, x0, c) + A1 * f(y1, x1, c);
    const long v = ((((R0 >> 4) * B0) >> 16) + (((R1 >> 4) * B1) >> 16) + 2) >> 2;
    return u8(std::clamp<long>(v, 0, 255));
}

/// Naive SSIM of one channel: direct 11 x 11 window of outer-product weights.
double naive_ssim_plane(const Clip& a, const Clip& b, index_t t, index_t c) {
    const index_t H = a.extent(1), W = a.extent(2);
    std::vector<double> g(11);
    double gs = 0;
    for (int k = 0; k < 11; ++k) gs += g[std::size_t(k)] = std::exp(-double((k - 5) * (k - 5)) / (2 * 1.5 * 1.5));
    for (auto& v : g) v /= gs;
    const double C1 = std::pow(0.01 * 255, 2), C2 = std::pow(0.03 * 255, 2);
    double total = 0;
    for (index_t y = 5; y <= H - 6; ++y)
        for (index_t x = 5; x <= W - 6; ++x) {
            double mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
            for (int i = -5; i <= 5; ++i)
                for (int j = -5; j <= 5; ++j) {
                    const double wgt = g[std::size_t(i + 5)] * g[std::size_t(j + 5)];
                    const double p = a(t, y + i, x + j, c), q = b(t, y + i, x + j, c);
                    mx += wgt * p, my += wgt * q, xx += wgt * p * p, yy += wgt * q * q, xy += wgt * p * q;
                }
            const double vx = xx - mx * mx, vy = yy - my * my, cxy = xy - mx * my;
            total += ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
        }
    return total / double((H - 10) * (W - 10));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(video_preprocess)

BOOST_AUTO_TEST_CASE(target_sizes_round_half_to_even) {
    BOOST_TEST((scaled_size(64, 81, 32) == Size2{32, 40}));    // 40.5 -> 40
    BOOST_TEST((scaled_size(64, 94, 16) == Size2{16, 24}));    // 23.5 -> 24
    BOOST_TEST((scaled_size(27, 48, 32) == Size2{32, 57}));
    BOOST_TEST((scaled_size(50, 37, 32) == Size2{43, 32}));
    BOOST_TEST((scaled_size(720, 1280, 1024) == Size2{1024, 1820}));
    BOOST_TEST((crop_box(1024, 1820, 32) == Box{0, 14, 1024, 1792}));
    BOOST_TEST((crop_box(32, 57, 16) == Box{0, 4, 32, 48}));   // odd remainder: extra column at the right
    BOOST_TEST((square_box(1024, 1792) == Box{0, 384, 1024, 1024}));
    BOOST_TEST((preprocessed_size(720, 1280, {1024, 32, true}) == Size2{1024, 1792}));
}

BOOST_AUTO_TEST_CASE(opencv_blur_division_is_rounding) {
    for (int s = 0; s <= 9 * 255; ++s) BOOST_TEST_REQUIRE(((s + 4) * 7282) >> 16 == int(std::lround(s / 9.0)));
}

BOOST_AUTO_TEST_CASE(box_blur_matches_naive) {
    std::mt19937 rng(11);
    const std::vector<std::pair<index_t, index_t>> sizes = {{1, 1}, {1, 7}, {9, 1}, {2, 2}, {3, 5}, {13, 17}, {31, 23}};
    for (auto [h, w] : sizes) {
        const Frame f = random_frame(rng, h, w);
        const Frame g = box_blur3(f.view());
        for (index_t y = 0; y < h; ++y)
            for (index_t x = 0; x < w; ++x)
                for (index_t c = 0; c < 3; ++c)
                    if (g(y, x, c) != naive_blur(f, y, x, c))
                        BOOST_FAIL("blur " << h << "x" << w << " at (" << y << ", " << x << ", " << c
                                           << "): got " << int(g(y, x, c)) << ", want " << int(naive_blur(f, y, x, c)));
    }
    BOOST_TEST(true);
}

BOOST_AUTO_TEST_CASE(resize_matches_explicit_opencv_formula_and_is_within_one_level) {
    std::mt19937 rng(12);
    std::uniform_int_distribution<int> side(1, 41);
    int off_by_one = 0;
    long pixels = 0;
    for (int iter = 0; iter < 60; ++iter) {
        const index_t h = side(rng), w = side(rng), dh = side(rng), dw = side(rng);
        const Frame f = random_frame(rng, h, w);
        const Frame g = resize_linear_u8(f.view(), dh, dw);
        for (index_t y = 0; y < dh; ++y)
            for (index_t x = 0; x < dw; ++x)
                for (index_t c = 0; c < 3; ++c) {
                    const u8 want = explicit_cv_pixel(f, dh, dw, y, x, c);
                    if (g(y, x, c) != want)
                        BOOST_FAIL("resize " << h << "x" << w << " -> " << dh << "x" << dw << " at (" << y << ", " << x
                                             << ", " << c << "): got " << int(g(y, x, c)) << ", want " << int(want));
                    const double exact = naive_bilinear(f, dh, dw, y, x, c);
                    const double rounded = std::clamp(std::floor(exact + 0.5), 0.0, 255.0);
                    const double d = std::abs(double(g(y, x, c)) - rounded);
                    // edges of an enlargement: OpenCV keeps unclamped row weights on a
                    // clamped row pair, which reads the same row twice: same value
                    if (d > 1.0)
                        BOOST_FAIL("resize " << h << "x" << w << " -> " << dh << "x" << dw << " at (" << y << ", " << x
                                             << ", " << c << "): " << int(g(y, x, c)) << " vs exact " << exact);
                    off_by_one += d > 0;
                    ++pixels;
                }
    }
    BOOST_TEST_MESSAGE("fixed point differs from exact rounding by one level on " << off_by_one << " of " << pixels);
    BOOST_TEST(off_by_one < pixels / 4);
}

BOOST_AUTO_TEST_CASE(resize_exact_half_is_block_average_and_same_size_is_identity) {
    std::mt19937 rng(13);
    const Frame f = random_frame(rng, 18, 26);
    const Frame g = resize_linear_u8(f.view(), 9, 13);
    for (index_t y = 0; y < 9; ++y)
        for (index_t x = 0; x < 13; ++x)
            for (index_t c = 0; c < 3; ++c) {
                const int s = f(2 * y, 2 * x, c) + f(2 * y, 2 * x + 1, c) + f(2 * y + 1, 2 * x, c) + f(2 * y + 1, 2 * x + 1, c);
                BOOST_TEST_REQUIRE(int(g(y, x, c)) == (s + 2) >> 2);
            }
    const Frame same = resize_linear_u8(f.view(), 18, 26);
    BOOST_TEST(std::equal(f.data(), f.data() + f.size(), same.data()));
}

BOOST_AUTO_TEST_CASE(preprocess_pipeline_layout_and_conversion) {
    std::mt19937 rng(14);
    const Clip bgr = random_clip(rng, 2, 27, 48);
    const PreprocessOptions o{32, 16, false};
    const Clip rgb = preprocess_frames_u8(bgr.view(), o);
    BOOST_TEST(rgb.extent(1) == 32);
    BOOST_TEST(rgb.extent(2) == 48);
    // frame 1 by hand: blur, resize to 32x57, crop columns 4..51, reverse channels
    Frame f1(index_t(27), index_t(48), index_t(3));
    std::copy_n(bgr.data() + 27 * 48 * 3, 27 * 48 * 3, f1.data());
    const Frame r = resize_linear_u8(box_blur3(f1.view()).view(), 32, 57);
    for (index_t y = 0; y < 32; ++y)
        for (index_t x = 0; x < 48; ++x)
            for (index_t c = 0; c < 3; ++c) BOOST_TEST_REQUIRE(rgb(1, y, x, c) == r(y, x + 4, 2 - c));
    const VideoTensor v = preprocess_frames(bgr.view(), o);
    BOOST_TEST(v.extent(0) == 1);
    BOOST_TEST(v.extent(1) == 3);
    BOOST_TEST(v.extent(2) == 2);
    for (index_t c = 0; c < 3; ++c)
        for (index_t y = 0; y < 32; y += 7)
            for (index_t x = 0; x < 48; x += 5)
                BOOST_TEST_REQUIRE(v(0, c, 1, y, x) == float(rgb(1, y, x, c)) / 127.5f - 1.0f);
    // square crop: 32x48 -> 32x32 starting at column 8
    const VideoTensor s = preprocess_frames(bgr.view(), {32, 16, true});
    BOOST_TEST(s.extent(3) == 32);
    BOOST_TEST(s.extent(4) == 32);
    BOOST_TEST(s(0, 2, 0, 5, 0) == v(0, 2, 0, 5, 8));
    // endpoints of the float mapping
    Clip ends(index_t(1), index_t(1), index_t(2), index_t(3));
    for (index_t c = 0; c < 3; ++c) ends(0, 0, 0, c) = 0, ends(0, 0, 1, c) = 255;
    const VideoTensor e = frames_to_video(ends.view(), false);
    BOOST_TEST(e(0, 1, 0, 0, 0) == -1.0f);
    BOOST_TEST(e(0, 1, 0, 0, 1) == 1.0f);
}

BOOST_AUTO_TEST_CASE(preprocess_errors) {
    std::mt19937 rng(15);
    const Clip bgr = random_clip(rng, 1, 20, 20);
    BOOST_CHECK_THROW(preprocess_frames(bgr.view(), {30, 16, false}), Error);  // not a multiple
    BOOST_CHECK_THROW(preprocess_frames(bgr.view(), {32, 0, false}), Error);
    BOOST_CHECK_THROW(preprocess_frames(bgr.view(), {0, 16, false}), Error);
    const Clip gray(index_t(1), index_t(20), index_t(20), index_t(1));
    BOOST_CHECK_THROW(preprocess_frames(gray.view(), {32, 16, false}), Error);
    const Clip none(index_t(0), index_t(20), index_t(20), index_t(3));
    BOOST_CHECK_THROW(preprocess_frames(none.view(), {32, 16, false}), Error);
    try {
        preprocess_frames(bgr.view(), {30, 16, false});
    } catch (const Error& e) {
        BOOST_TEST(std::string(e.what()).find("multiple of size_div") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(video_to_u8_truncates) {
    VideoTensor v(index_t(1), index_t(3), index_t(1), index_t(1), index_t(6));
    const float xs[6] = {-1.5f, -1.0f, (1.9f - 127.5f) / 127.5f, 0.0f, 1.0f, 3.0f};
    for (index_t c = 0; c < 3; ++c)
        for (index_t x = 0; x < 6; ++x) v(0, c, 0, 0, x) = xs[x];
    v(0, 2, 0, 0, 3) = std::numeric_limits<float>::quiet_NaN();
    const Clip u = video_to_u8(v.view());
    BOOST_TEST(u.extent(3) == 3);
    BOOST_TEST(int(u(0, 0, 0, 0)) == 0);
    BOOST_TEST(int(u(0, 0, 1, 0)) == 0);
    BOOST_TEST(int(u(0, 0, 2, 0)) == 1);   // 1.9 truncates
    BOOST_TEST(int(u(0, 0, 3, 0)) == 127); // 127.5 truncates
    BOOST_TEST(int(u(0, 0, 4, 0)) == 255);
    BOOST_TEST(int(u(0, 0, 5, 1)) == 255);
    BOOST_TEST(int(u(0, 0, 3, 2)) == 0);   // NaN
    // float32 semantics over a sweep: 127.5f * x rounded, then + 127.5f rounded
    std::mt19937 rng(16);
    std::uniform_real_distribution<float> d(-1.1f, 1.1f);
    for (int i = 0; i < 100000; ++i) {
        const float x = d(rng);
        volatile float m = 127.5f * x;
        volatile float p = m + 127.5f;
        const float q = std::clamp(float(p), 0.f, 255.f);
        BOOST_TEST_REQUIRE(int(to_u8(x)) == int(q));
    }
}

BOOST_AUTO_TEST_CASE(side_by_side_views) {
    // a: T=1, H=2, W=3 (upsampled x2, repeated twice); b: T=2, H=4, W=1
    VideoTensor a(index_t(1), index_t(3), index_t(1), index_t(2), index_t(3));
    VideoTensor b(index_t(1), index_t(3), index_t(2), index_t(4), index_t(1));
    for (index_t i = 0; i < a.size(); ++i) a.data()[i] = float(i % 7) / 7.f - 0.5f;
    for (index_t i = 0; i < b.size(); ++i) b.data()[i] = float(i % 5) / 5.f - 0.4f;
    const Clip s = side_by_side({a.view(), b.view()});
    BOOST_TEST(s.extent(0) == 2);
    BOOST_TEST(s.extent(1) == 4);
    BOOST_TEST(s.extent(2) == 6 + 1);
    const VideoTensor up = view_upsample(a.view(), 2, 4);
    const Clip ua = video_to_u8(up.view()), ub = video_to_u8(b.view());
    for (index_t t = 0; t < 2; ++t)
        for (index_t y = 0; y < 4; ++y)
            for (index_t c = 0; c < 3; ++c) {
                for (index_t x = 0; x < 6; ++x) BOOST_TEST_REQUIRE(s(t, y, x, c) == ua(t, y, x, c));
                BOOST_TEST_REQUIRE(s(t, y, 6, c) == ub(t, y, 0, c));
                for (index_t x = 0; x < 6; ++x) BOOST_TEST_REQUIRE(ua(1, y, x, c) == ua(0, y, x, c));
            }
    BOOST_CHECK_THROW(view_upsample(b.view(), 3, 4), Error);  // 3 frames from 2
    BOOST_CHECK_THROW(view_upsample(a.view(), 2, 5), Error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(video_metrics)

BOOST_AUTO_TEST_CASE(psnr_ssim_match_naive_double) {
    std::mt19937 rng(21);
    const std::vector<std::array<index_t, 3>> shapes = {{3, 11, 11}, {2, 11, 13}, {2, 17, 12}, {1, 23, 29}};
    for (const auto& [T, H, W] : shapes) {
        const Clip a = random_clip(rng, T, H, W);
        Clip b = a.clone();
        std::normal_distribution<double> n(0.0, 12.0);
        for (index_t i = 0; i < b.size(); ++i)
            b.data()[i] = u8(std::clamp(double(b.data()[i]) + std::round(n(rng)), 0.0, 255.0));
        const MetricsResult r = compute_metrics(a.view(), b.view());
        BOOST_TEST_REQUIRE(r.psnr.size() == std::size_t(T));
        double pm = 0, sm = 0;
        for (index_t t = 0; t < T; ++t) {
            double se = 0;
            for (index_t y = 0; y < H; ++y)
                for (index_t x = 0; x < W; ++x)
                    for (index_t c = 0; c < 3; ++c) se += std::pow(double(a(t, y, x, c)) - double(b(t, y, x, c)), 2);
            const double p = 10 * std::log10(255.0 * 255.0 / (se / double(H * W * 3)));
            const double s = (naive_ssim_plane(a, b, t, 0) + naive_ssim_plane(a, b, t, 1) + naive_ssim_plane(a, b, t, 2)) / 3;
            BOOST_TEST(r.psnr[std::size_t(t)] == p, boost::test_tools::tolerance(1e-12));
            BOOST_TEST(r.ssim[std::size_t(t)] == s, boost::test_tools::tolerance(1e-10));
            pm += p / double(T);
            sm += s / double(T);
        }
        BOOST_TEST(r.psnr_mean == pm, boost::test_tools::tolerance(1e-12));
        BOOST_TEST(r.ssim_mean == sm, boost::test_tools::tolerance(1e-10));
    }
}

BOOST_AUTO_TEST_CASE(identical_frames_and_errors) {
    std::mt19937 rng(22);
    const Clip a = random_clip(rng, 2, 12, 14);
    const MetricsResult r = compute_metrics(a.view(), a.view());
    BOOST_TEST(std::isinf(r.psnr[0]));
    BOOST_TEST(r.psnr[0] > 0);
    BOOST_TEST(std::isinf(r.psnr_mean));
    BOOST_TEST(r.ssim[1] == 1.0, boost::test_tools::tolerance(1e-12));
    const Clip small = random_clip(rng, 1, 10, 20);
    BOOST_CHECK_THROW(ssim(small.view(), small.view()), Error);
    BOOST_CHECK_NO_THROW(psnr(small.view(), small.view()));
    const Clip other = random_clip(rng, 2, 12, 15);
    BOOST_CHECK_THROW(compute_metrics(a.view(), other.view()), Error);
}

BOOST_AUTO_TEST_SUITE_END()
