#pragma once
// Video preprocessing (docs/reference/preprocess.md, sections 2, 3 and 5):
//   decoded BGR uint8 frames -> 3x3 box blur -> bilinear resize (OpenCV INTER_LINEAR,
//   bit-exact fixed point) -> centre crop to multiples of size_div -> RGB -> float
//   video [1, 3, T, H, W] in [-1, 1] (optionally square-cropped);
// and back: model video -> uint8 frames, side-by-side comparison views.
// Frames are [H, W, C] interleaved uint8 (C = 3 for clips); clips are [T, H, W, 3].
// Work is split over frames (OpenMP); every output value is computed by one thread in a
// fixed order, so results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "cascadev/backend/cpu/resize.hpp"
#include "cascadev/core/tensor.hpp"

namespace cascadev::video {

using u8 = std::uint8_t;
using FrameView = View<const u8, DExtents<3>, cpu>;      // [H, W, C]
using MutFrameView = View<u8, DExtents<3>, cpu>;         // [H, W, C]
using ClipView = View<const u8, DExtents<4>, cpu>;       // [T, H, W, C]
using Frame = Tensor<u8, DExtents<3>>;
using Clip = Tensor<u8, DExtents<4>>;
using VideoTensor = Tensor<float, DExtents<5>>;           // [1, 3, T, H, W]
using VideoView = View<const float, DExtents<5>, cpu>;

struct Size2 {
    index_t h = 0, w = 0;
    bool operator==(const Size2&) const = default;
};

/// A rectangle of rows [top, top + h) and columns [left, left + w).
struct Box {
    index_t top = 0, left = 0, h = 0, w = 0;
    bool operator==(const Box&) const = default;
};

struct PreprocessOptions {
    index_t short_edge = 1024;  ///< target length of the shorter side (multiple of size_div)
    index_t size_div = 32;      ///< crop granularity
    bool square = false;        ///< final centre square crop of the float video
};

// ------------------------------------------------------------------------------------
// Geometry (2.1, 2.4, 3)
// ------------------------------------------------------------------------------------

/// 2.1: each side times short_edge / min(h, w) in double, rounded half to even.
inline Size2 scaled_size(index_t h, index_t w, index_t short_edge) {
    if (h <= 0 || w <= 0) fail("scaled_size: empty frame ", h, "x", w);
    if (short_edge <= 0) fail("scaled_size: short_edge must be positive, got ", short_edge);
    const double s = double(short_edge) / double(std::min(h, w));
    return {index_t(std::nearbyint(double(h) * s)), index_t(std::nearbyint(double(w) * s))};
}

/// 2.4: centre crop of an h x w image to multiples of size_div (extra row/column dropped at
/// the bottom/right).
inline Box crop_box(index_t h, index_t w, index_t size_div) {
    if (size_div <= 0) fail("crop_box: size_div must be positive, got ", size_div);
    const index_t ch = size_div * (h / size_div), cw = size_div * (w / size_div);
    return {(h - ch) / 2, (w - cw) / 2, ch, cw};
}

/// 3: centre square crop.
inline Box square_box(index_t h, index_t w) {
    const index_t s = std::min(h, w);
    return {(h - s) / 2, (w - s) / 2, s, s};
}

// ------------------------------------------------------------------------------------
// 2.2: 3x3 box blur, BORDER_REFLECT_101, round(sum / 9)
// ------------------------------------------------------------------------------------

/// OpenCV's BORDER_REFLECT_101 for an index at most one step outside [0, n).
inline index_t reflect101(index_t i, index_t n) {
    if (n == 1) return 0;
    if (i < 0) return -i;
    if (i >= n) return 2 * n - 2 - i;
    return i;
}

/// dst = cv2.blur(src, (3, 3)) for one [H, W, C] uint8 image (dst same shape, distinct).
inline void box_blur3(const FrameView& src, const MutFrameView& dst) {
    check_same_shape(src, dst, "box_blur3");
    const index_t H = src.extent(0), W = src.extent(1), C = src.extent(2);
    if (H == 0 || W == 0) return;
    if (!src.is_contiguous() || !dst.is_contiguous()) fail("box_blur3: views must be contiguous");
    const u8* s = src.data();
    u8* d = dst.data();
    // column sums of three rows per output row, then three columns of those
    std::vector<int> colsum(std::size_t(W * C));
    for (index_t y = 0; y < H; ++y) {
        const u8* r0 = s + reflect101(y - 1, H) * W * C;
        const u8* r1 = s + y * W * C;
        const u8* r2 = s + reflect101(y + 1, H) * W * C;
        for (index_t i = 0; i < W * C; ++i) colsum[std::size_t(i)] = int(r0[i]) + int(r1[i]) + int(r2[i]);
        u8* out = d + y * W * C;
        for (index_t x = 0; x < W; ++x) {
            const index_t xl = reflect101(x - 1, W), xr = reflect101(x + 1, W);
            for (index_t c = 0; c < C; ++c) {
                const int sum = colsum[std::size_t(xl * C + c)] + colsum[std::size_t(x * C + c)] +
                                colsum[std::size_t(xr * C + c)];
                out[x * C + c] = u8((2 * sum + 9) / 18);  // round(sum / 9); no ties exist
            }
        }
    }
}

inline Frame box_blur3(const FrameView& src) {
    Frame out(src.extent(0), src.extent(1), src.extent(2));
    box_blur3(src, out.view());
    return out;
}

// ------------------------------------------------------------------------------------
// 2.3: bilinear resize, OpenCV INTER_LINEAR uint8 fixed-point path (bit-exact)
// ------------------------------------------------------------------------------------

/// One output index of OpenCV's linear resize: index of the first tap, 11-bit weights.
struct CvLinearTap {
    index_t i0 = 0;       ///< floor of the source position (clamped when `clamp`)
    std::int32_t w0 = 0;  ///< weight of i0, scale 2048
    std::int32_t w1 = 0;  ///< weight of i0 + 1, scale 2048
};

/// Taps as OpenCV computes them: float positions, weights rint(float * 2048). With
/// `clamp` (horizontal) both the index and the fraction are clamped at the edges; without
/// (vertical) only the caller clamps the row indices.
inline std::vector<CvLinearTap> cv_linear_taps(index_t dst, index_t src, bool clamp) {
    std::vector<CvLinearTap> taps(static_cast<std::size_t>(dst));
    const double scale = 1.0 / (double(dst) / double(src));
    for (index_t d = 0; d < dst; ++d) {
        float f = static_cast<float>((double(d) + 0.5) * scale - 0.5);
        index_t s = index_t(std::floor(f));
        f = f - static_cast<float>(s);
        if (clamp && s < 0) {
            s = 0;
            f = 0.f;
        }
        if (clamp && s >= src - 1) {
            s = src - 1;
            f = 0.f;
        }
        const float a0 = (1.0f - f) * 2048.0f, a1 = f * 2048.0f;  // float products
        taps[std::size_t(d)] = {s, std::int32_t(std::nearbyint(a0)), std::int32_t(std::nearbyint(a1))};
    }
    return taps;
}

/// dst = cv2.resize(src, (W', H'), interpolation=INTER_LINEAR) for [H, W, C] uint8 images,
/// reproducing OpenCV's (x86-64 SIMD) fixed-point arithmetic for every pixel.
inline void resize_linear_u8(const FrameView& src, const MutFrameView& dst) {
    const index_t h = src.extent(0), w = src.extent(1), C = src.extent(2);
    const index_t H = dst.extent(0), W = dst.extent(1);
    if (dst.extent(2) != C)
        fail("resize_linear_u8: channel counts differ: ", src.extents().str(), " vs ", dst.extents().str());
    if (H == 0 || W == 0) return;
    if (h == 0 || w == 0)
        fail("resize_linear_u8: cannot resize an empty image ", src.extents().str(), " to ", dst.extents().str());
    if (!src.is_contiguous() || !dst.is_contiguous()) fail("resize_linear_u8: views must be contiguous");
    const auto tx = cv_linear_taps(W, w, true);
    const auto ty = cv_linear_taps(H, h, false);
    const u8* s = src.data();
    u8* d = dst.data();
    const index_t row = W * C;

    // Horizontal pass of one source row into R (scale 2048), exact in int32.
    auto hpass = [&](index_t sy, std::int32_t* R) {
        const u8* r = s + sy * w * C;
        for (index_t x = 0; x < W; ++x) {
            const CvLinearTap& t = tx[std::size_t(x)];
            const index_t x1 = std::min(t.i0 + 1, w - 1);
            for (index_t c = 0; c < C; ++c)
                R[x * C + c] = t.w0 * std::int32_t(r[t.i0 * C + c]) + t.w1 * std::int32_t(r[x1 * C + c]);
        }
    };
    std::vector<std::int32_t> buf0(static_cast<std::size_t>(row)), buf1(buf0);
    index_t have0 = -1, have1 = -1;  // source rows held by buf0 / buf1
    for (index_t y = 0; y < H; ++y) {
        const CvLinearTap& t = ty[std::size_t(y)];
        const index_t y0 = std::clamp<index_t>(t.i0, 0, h - 1), y1 = std::clamp<index_t>(t.i0 + 1, 0, h - 1);
        // reuse the horizontally filtered rows of the previous output row when possible
        if (have0 != y0) {
            if (have1 == y0) {
                std::swap(buf0, buf1);
                std::swap(have0, have1);
            } else {
                hpass(y0, buf0.data());
                have0 = y0;
            }
        }
        if (have1 != y1) {
            if (y1 == y0) {
                std::copy(buf0.begin(), buf0.end(), buf1.begin());
            } else {
                hpass(y1, buf1.data());
            }
            have1 = y1;
        }
        const std::int32_t b0 = t.w0, b1 = t.w1;
        u8* out = d + y * row;
        for (index_t i = 0; i < row; ++i) {
            // OpenCV's VResizeLinearVec_32s8u: (R >> 4) as int16, v_mul_hi with the weight,
            // sum, then a rounding shift by 2 with unsigned saturation.
            const std::int32_t p0 = ((buf0[std::size_t(i)] >> 4) * b0) >> 16;
            const std::int32_t p1 = ((buf1[std::size_t(i)] >> 4) * b1) >> 16;
            const std::int32_t v = (p0 + p1 + 2) >> 2;
            out[i] = u8(std::clamp<std::int32_t>(v, 0, 255));
        }
    }
}

inline Frame resize_linear_u8(const FrameView& src, index_t dh, index_t dw) {
    Frame out(dh, dw, src.extent(2));
    resize_linear_u8(src, out.view());
    return out;
}

// ------------------------------------------------------------------------------------
// 2: one frame; 3: the clip to the model tensor
// ------------------------------------------------------------------------------------

inline void check_options(const PreprocessOptions& o) {
    if (o.size_div <= 0) fail("preprocess: size_div must be positive, got ", o.size_div);
    if (o.short_edge <= 0) fail("preprocess: short_edge must be positive, got ", o.short_edge);
    if (o.short_edge % o.size_div != 0)
        fail("preprocess: short_edge ", o.short_edge, " is not a multiple of size_div ", o.size_div);
}

/// Output frame size (after the size_div crop, before any square crop) for h x w frames.
inline Size2 preprocessed_size(index_t h, index_t w, const PreprocessOptions& o) {
    check_options(o);
    const Size2 d = scaled_size(h, w, o.short_edge);
    const Box b = crop_box(d.h, d.w, o.size_div);
    return {b.h, b.w};
}

/// 2.2-2.5 on one decoded BGR frame [h, w, 3]: blur, resize, crop, BGR -> RGB, written
/// into `dst` [H', W', 3] (see preprocessed_size).
inline void rescale_and_cvt(const FrameView& bgr, const MutFrameView& dst, const PreprocessOptions& o) {
    check_options(o);
    const index_t h = bgr.extent(0), w = bgr.extent(1);
    if (bgr.extent(2) != 3) fail("preprocess: frames must have 3 channels (BGR), got ", bgr.extents().str());
    if (h == 0 || w == 0) fail("preprocess: empty frame ", bgr.extents().str());
    const Size2 ds = scaled_size(h, w, o.short_edge);
    const Box b = crop_box(ds.h, ds.w, o.size_div);
    if (dst.extent(0) != b.h || dst.extent(1) != b.w || dst.extent(2) != 3)
        fail("preprocess: output frame is ", dst.extents().str(), ", expected [", b.h, ", ", b.w, ", 3]");
    const Frame blurred = box_blur3(bgr);
    const Frame resized = resize_linear_u8(blurred.view(), ds.h, ds.w);
    for (index_t y = 0; y < b.h; ++y)
        for (index_t x = 0; x < b.w; ++x)
            for (index_t c = 0; c < 3; ++c) dst(y, x, c) = resized(b.top + y, b.left + x, 2 - c);
}

inline Frame rescale_and_cvt(const FrameView& bgr, const PreprocessOptions& o) {
    if (bgr.extent(0) == 0 || bgr.extent(1) == 0) fail("preprocess: empty frame ", bgr.extents().str());
    const Size2 s = preprocessed_size(bgr.extent(0), bgr.extent(1), o);
    Frame out(s.h, s.w, index_t(3));
    rescale_and_cvt(bgr, out.view(), o);
    return out;
}

/// Section 2 on a whole clip: BGR [T, h, w, 3] -> RGB uint8 [T, H', W', 3].
inline Clip preprocess_frames_u8(const ClipView& frames_bgr, const PreprocessOptions& o) {
    check_options(o);
    const index_t T = frames_bgr.extent(0);
    if (T == 0) fail("preprocess: no frames");
    if (frames_bgr.extent(1) == 0 || frames_bgr.extent(2) == 0)
        fail("preprocess: empty frames ", frames_bgr.extents().str());
    if (frames_bgr.extent(3) != 3) fail("preprocess: frames must be [T, H, W, 3], got ", frames_bgr.extents().str());
    if (!frames_bgr.is_contiguous()) fail("preprocess: frames must be contiguous");
    const Size2 s = preprocessed_size(frames_bgr.extent(1), frames_bgr.extent(2), o);
    Clip out(T, s.h, s.w, index_t(3));
    const index_t in_frame = frames_bgr.extent(1) * frames_bgr.extent(2) * 3, out_frame = s.h * s.w * 3;
    const FrameView::extents_type in_ext(frames_bgr.extent(1), frames_bgr.extent(2), index_t(3));
    const MutFrameView::extents_type out_ext(s.h, s.w, index_t(3));
#pragma omp parallel for schedule(dynamic, 1)
    for (index_t t = 0; t < T; ++t)
        rescale_and_cvt(FrameView(frames_bgr.data() + t * in_frame, in_ext),
                        MutFrameView(out.data() + t * out_frame, out_ext), o);
    return out;
}

/// Section 3: RGB uint8 [T, H, W, 3] -> float [1, 3, T, H, W], x / 127.5f - 1.0f, then the
/// optional centre square crop.
inline VideoTensor frames_to_video(const ClipView& rgb, bool square) {
    const index_t T = rgb.extent(0), H = rgb.extent(1), W = rgb.extent(2);
    if (rgb.extent(3) != 3) fail("frames_to_video: frames must be [T, H, W, 3], got ", rgb.extents().str());
    const Box b = square ? square_box(H, W) : Box{0, 0, H, W};
    VideoTensor v(index_t(1), index_t(3), T, b.h, b.w);
    auto vv = v.view();
#pragma omp parallel for schedule(static)
    for (index_t t = 0; t < T; ++t)
        for (index_t c = 0; c < 3; ++c)
            for (index_t y = 0; y < b.h; ++y)
                for (index_t x = 0; x < b.w; ++x)
                    vv(0, c, t, y, x) = float(rgb(t, b.top + y, b.left + x, c)) / 127.5f - 1.0f;
    return v;
}

/// Sections 2-3: decoded BGR frames [T, h, w, 3] -> model video [1, 3, T, H', W'].
inline VideoTensor preprocess_frames(const ClipView& frames_bgr, const PreprocessOptions& o) {
    const Clip rgb = preprocess_frames_u8(frames_bgr, o);
    return frames_to_video(rgb.view(), o.square);
}

/// The 8-bit frames the pipeline compares against (metrics.md): section 2, then the square
/// crop if any, as uint8 RGB [T, H, W, 3].
inline Clip square_crop_frames(const ClipView& rgb) {
    const index_t T = rgb.extent(0), C = rgb.extent(3);
    const Box b = square_box(rgb.extent(1), rgb.extent(2));
    Clip out(T, b.h, b.w, C);
    for (index_t t = 0; t < T; ++t)
        for (index_t y = 0; y < b.h; ++y)
            for (index_t x = 0; x < b.w; ++x)
                for (index_t c = 0; c < C; ++c) out(t, y, x, c) = rgb(t, b.top + y, b.left + x, c);
    return out;
}

// ------------------------------------------------------------------------------------
// 5: model video -> uint8 frames; side-by-side views
// ------------------------------------------------------------------------------------

/// 127.5f * x + 127.5f in float32 (two roundings, never fused), clamped to [0, 255],
/// truncated toward zero. NaN maps to 0.
inline u8 to_u8(float x) {
    // 127.5 * x is exact in double (8 + 24 significant bits), so rounding it to float gives
    // the float32 product; the conversion also keeps the compiler from fusing into an FMA.
    const float m = static_cast<float>(127.5 * double(x));
    const float p = m + 127.5f;
    if (!(p > 0.0f)) return 0;
    if (p >= 255.0f) return 255;
    return u8(p);
}

/// Float video [1, 3, T, H, W] -> uint8 frames [T, H, W, 3] (RGB).
inline Clip video_to_u8(const VideoView& v) {
    if (v.extent(0) != 1 || v.extent(1) != 3)
        fail("video_to_u8: video must be [1, 3, T, H, W], got ", v.extents().str());
    const index_t T = v.extent(2), H = v.extent(3), W = v.extent(4);
    Clip out(T, H, W, index_t(3));
#pragma omp parallel for schedule(static)
    for (index_t t = 0; t < T; ++t)
        for (index_t y = 0; y < H; ++y)
            for (index_t x = 0; x < W; ++x)
                for (index_t c = 0; c < 3; ++c) out(t, y, x, c) = to_u8(v(0, c, t, y, x));
    return out;
}

/// Brings a float video [1, 3, t, h, w] to `frames` frames and `height` rows for a
/// side-by-side view: bilinear resize of every frame by the integer factor height / h
/// (section 4), then each frame repeated frames / t times consecutively.
inline VideoTensor view_upsample(const VideoView& v, index_t frames, index_t height) {
    if (v.extent(0) != 1) fail("view_upsample: video must be [1, C, T, H, W], got ", v.extents().str());
    const index_t C = v.extent(1), t = v.extent(2), h = v.extent(3), w = v.extent(4);
    if (t == 0 || h == 0) fail("view_upsample: empty video ", v.extents().str());
    if (height % h != 0) fail("view_upsample: height ", height, " is not a multiple of the video's ", h);
    if (frames % t != 0) fail("view_upsample: frame count ", frames, " is not a multiple of the video's ", t);
    const index_t k = height / h, r = frames / t;
    auto src = contiguous_copy(v);
    const auto up = resize_bilinear_by(src.view().reshape(DExtents<3>(C * t, h, w)), k);  // [C*t, h*k, w*k]
    const index_t Hk = h * k, Wk = w * k, plane = Hk * Wk;
    VideoTensor out(index_t(1), C, frames, Hk, Wk);
    for (index_t c = 0; c < C; ++c)
        for (index_t f = 0; f < frames; ++f)
            std::copy_n(up.data() + (c * t + f / r) * plane, plane, out.data() + (c * frames + f) * plane);
    return out;
}

/// Side-by-side view of several float videos [1, 3, T_i, H_i, W_i]: each brought to the
/// largest frame count and height (view_upsample), converted to uint8 (video_to_u8) and
/// concatenated along the width: uint8 [T, H, sum W, 3].
inline Clip side_by_side(const std::vector<VideoView>& videos) {
    if (videos.empty()) fail("side_by_side: no videos");
    index_t frames = 0, height = 0;
    for (const auto& v : videos) {
        frames = std::max(frames, v.extent(2));
        height = std::max(height, v.extent(3));
    }
    std::vector<Clip> parts;
    index_t total_w = 0;
    for (const auto& v : videos) {
        const VideoTensor up = view_upsample(v, frames, height);
        parts.push_back(video_to_u8(up.view()));
        total_w += parts.back().extent(2);
    }
    Clip out(frames, height, total_w, index_t(3));
    for (index_t t = 0; t < frames; ++t)
        for (index_t y = 0; y < height; ++y) {
            u8* o = out.data() + ((t * height + y) * total_w) * 3;
            for (const auto& p : parts) {
                const index_t pw = p.extent(2);
                o = std::copy_n(p.data() + ((t * height + y) * pw) * 3, pw * 3, o);
            }
        }
    return out;
}

}  // namespace cascadev::video
