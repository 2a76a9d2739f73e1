#pragma once
// Reconstruction metrics of 8-bit clips (docs/reference/metrics.md): per-frame PSNR (peak
// 255) and SSIM (Wang et al. 2004: 11-tap Gaussian window, sigma 1.5, K1 = 0.01,
// K2 = 0.03, L = 255, population covariances, averaged over the positions whose whole
// window lies inside the frame, then over the channels), and their means over frames.
// All arithmetic in double on the integer pixel values. OpenMP over frames; each frame's
// value is computed by one thread in a fixed order, so results do not depend on the
// thread count.
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "cascadev/core/tensor.hpp"

namespace cascadev::video {

/// Clip [T, H, W, C] of 8-bit values (C = 3 in the pipeline; any C >= 1 is accepted).
using MetricClipView = View<const std::uint8_t, DExtents<4>, cpu>;

struct SsimConstants {
    static constexpr double sigma = 1.5;
    static constexpr int radius = 5;  // int(3.5 * sigma + 0.5)
    static constexpr int taps = 2 * radius + 1;
    static constexpr double data_range = 255.0;
    static constexpr double k1 = 0.01, k2 = 0.03;
    static constexpr double c1 = (k1 * data_range) * (k1 * data_range);  // 6.5025
    static constexpr double c2 = (k2 * data_range) * (k2 * data_range);  // 58.5225
};

/// The normalised 1-D Gaussian window: exp(-k^2 / (2 sigma^2)), k = -5..5, over its sum.
inline std::array<double, SsimConstants::taps> ssim_window() {
    std::array<double, SsimConstants::taps> g{};
    double sum = 0;
    for (int k = -SsimConstants::radius; k <= SsimConstants::radius; ++k) {
        const double x = double(k);
        g[std::size_t(k + SsimConstants::radius)] = std::exp(-0.5 * x * x / (SsimConstants::sigma * SsimConstants::sigma));
    }
    for (double v : g) sum += v;
    for (double& v : g) v /= sum;
    return g;
}

struct MetricsResult {
    std::vector<double> psnr;  ///< [T] dB; +inf where the frames are identical
    std::vector<double> ssim;  ///< [T]
    double psnr_mean = 0;      ///< plain mean of psnr (+inf if any frame is +inf)
    double ssim_mean = 0;      ///< plain mean of ssim
};

namespace detail {

inline void check_metric_clips(const MetricClipView& a, const MetricClipView& b, const char* what) {
    check_same_shape(a, b, what);
    if (a.extent(0) == 0) fail(what, ": clips have no frames ", a.extents().str());
    if (a.extent(1) == 0 || a.extent(2) == 0 || a.extent(3) == 0) fail(what, ": empty frames ", a.extents().str());
    if (!a.is_contiguous() || !b.is_contiguous()) fail(what, ": clips must be contiguous");
}

inline double mean_of(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / double(v.size());
}

/// PSNR of one frame of n interleaved values.
inline double psnr_frame(const std::uint8_t* a, const std::uint8_t* b, index_t n) {
    // integer sum of squared differences: exact (n * 255^2 fits easily in 64 bits)
    std::uint64_t sse = 0;
    for (index_t i = 0; i < n; ++i) {
        const int d = int(a[i]) - int(b[i]);
        sse += std::uint64_t(d * d);
    }
    const double mse = double(sse) / double(n);
    if (mse == 0.0) return std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(255.0 * 255.0 / mse);
}

/// Mean SSIM of channel c of one [H, W, C] frame pair (H, W >= 11).
inline double ssim_plane(const std::uint8_t* a, const std::uint8_t* b, index_t H, index_t W, index_t C, index_t c,
                         const std::array<double, SsimConstants::taps>& g) {
    constexpr int K = SsimConstants::taps;
    const index_t oh = H - (K - 1), ow = W - (K - 1);
    // vertical pass of one output row into five row buffers (x, y, xx, yy, xy), then the
    // horizontal pass of each valid position
    std::vector<double> vx(static_cast<std::size_t>(W)), vy(vx), vxx(vx), vyy(vx), vxy(vx);
    double total = 0;
    for (index_t r = 0; r < oh; ++r) {
        for (index_t x = 0; x < W; ++x) {
            double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
            for (int k = 0; k < K; ++k) {
                const index_t o = ((r + k) * W + x) * C + c;
                const double p = double(a[o]), q = double(b[o]), w = g[std::size_t(k)];
                sx += w * p;
                sy += w * q;
                sxx += w * (p * p);
                syy += w * (q * q);
                sxy += w * (p * q);
            }
            vx[std::size_t(x)] = sx;
            vy[std::size_t(x)] = sy;
            vxx[std::size_t(x)] = sxx;
            vyy[std::size_t(x)] = syy;
            vxy[std::size_t(x)] = sxy;
        }
        double row_total = 0;
        for (index_t x = 0; x < ow; ++x) {
            double mx = 0, my = 0, fxx = 0, fyy = 0, fxy = 0;
            for (int k = 0; k < K; ++k) {
                const std::size_t i = std::size_t(x + k);
                const double w = g[std::size_t(k)];
                mx += w * vx[i];
                my += w * vy[i];
                fxx += w * vxx[i];
                fyy += w * vyy[i];
                fxy += w * vxy[i];
            }
            const double sxx = fxx - mx * mx, syy = fyy - my * my, sxy = fxy - mx * my;
            const double num = (2 * mx * my + SsimConstants::c1) * (2 * sxy + SsimConstants::c2);
            const double den = (mx * mx + my * my + SsimConstants::c1) * (sxx + syy + SsimConstants::c2);
            row_total += num / den;
        }
        total += row_total;
    }
    return total / (double(oh) * double(ow));
}

}  // namespace detail

/// Per-frame PSNR [T] in dB between clips a and b ([T, H, W, C] uint8, same shape).
inline std::vector<double> psnr(const MetricClipView& a, const MetricClipView& b) {
    detail::check_metric_clips(a, b, "psnr");
    const index_t T = a.extent(0), n = a.extent(1) * a.extent(2) * a.extent(3);
    std::vector<double> out(static_cast<std::size_t>(T));
#pragma omp parallel for schedule(dynamic, 1)
    for (index_t t = 0; t < T; ++t) out[std::size_t(t)] = detail::psnr_frame(a.data() + t * n, b.data() + t * n, n);
    return out;
}

/// Per-frame SSIM [T] (mean over channels of each channel's mean SSIM).
inline std::vector<double> ssim(const MetricClipView& a, const MetricClipView& b) {
    detail::check_metric_clips(a, b, "ssim");
    const index_t T = a.extent(0), H = a.extent(1), W = a.extent(2), C = a.extent(3);
    if (H < SsimConstants::taps || W < SsimConstants::taps)
        fail("ssim: frames must be at least 11 x 11, got ", H, " x ", W);
    const auto g = ssim_window();
    const index_t n = H * W * C;
    std::vector<double> out(static_cast<std::size_t>(T));
#pragma omp parallel for schedule(dynamic, 1)
    for (index_t t = 0; t < T; ++t) {
        double s = 0;
        for (index_t c = 0; c < C; ++c) s += detail::ssim_plane(a.data() + t * n, b.data() + t * n, H, W, C, c, g);
        out[std::size_t(t)] = s / double(C);
    }
    return out;
}

/// PSNR and SSIM per frame and their means.
inline MetricsResult compute_metrics(const MetricClipView& a, const MetricClipView& b) {
    MetricsResult r;
    r.psnr = psnr(a, b);
    r.ssim = ssim(a, b);
    r.psnr_mean = detail::mean_of(r.psnr);
    r.ssim_mean = detail::mean_of(r.ssim);
    return r;
}

}  // namespace cascadev::video
