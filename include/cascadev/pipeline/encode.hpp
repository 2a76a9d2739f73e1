#pragma once
// Stage 1a-1b (docs/reference/pipeline.md): decoded BGR frames -> preprocessed video ->
// semantic latent through the EfficientNet encoder, one frame at a time.
//
//   auto rgb    = pipeline::preprocess_u8(bgr, opt);          // RGB uint8 [T, H', W', 3] after the crops
//   auto video  = video::frames_to_video(rgb, false);         // [1, 3, T, H', W'] in [-1, 1]
//   auto latent = pipeline::encode(effnet, video, progress);  // [1, 16, T, H'/32, W'/32]
#include <algorithm>

#include "cascadev/core/error.hpp"
#include "cascadev/core/tensor.hpp"
#include "cascadev/models/effnet.hpp"
#include "cascadev/pipeline/progress.hpp"
#include "cascadev/video/preprocess.hpp"

namespace cascadev::pipeline {

/// Settings of stage 1 (defaults: recon.sh, 1024 x 1024 square, 8 frames).
struct EncodeOptions {
    /// Frames taken from the input (the first `frames`; 0 = all of them).
    index_t frames = 8;
    /// short_edge (the "size"), size_div, square crop (preprocess.md sections 2-3).
    video::PreprocessOptions preprocess{1024, 32, true};
};

/// The first `frames` frames of a clip (all when frames is 0 or more than there are), as a view.
inline video::ClipView take_frames(const video::ClipView& clip, index_t frames) {
    if (frames < 0) fail("encode: frames must be >= 0, got ", frames);
    const index_t T = clip.extent(0);
    if (frames > 0 && T < frames)
        fail("encode: the input has ", T, " frame(s), ", frames, " were asked for (--frames)");
    return frames == 0 ? clip : video::ClipView(clip.template slice<0>(0, frames));
}

/// Preprocessing (sections 2-3 without the float conversion): BGR [T, h, w, 3] -> RGB uint8
/// [T, H', W', 3] after the size_div crop and, if asked, the centre square crop. These are
/// the frames the metrics compare against; frames_to_video(rgb, false) gives the model input.
inline video::Clip preprocess_u8(const video::ClipView& bgr, const EncodeOptions& opt) {
    const auto clip = take_frames(bgr, opt.frames);
    auto rgb = video::preprocess_frames_u8(clip, opt.preprocess);
    if (!opt.preprocess.square) return rgb;
    return video::square_crop_frames(rgb.view());
}

/// The semantic latent of a video [1, 3, T, H, W] in [-1, 1]: [1, 16, T, ⌈H/32⌉, ⌈W/32⌉],
/// frame by frame; progress("encode", t, T) after each frame.
template <models::EffnetVariant V>
Tensor<float, DExtents<5>> encode(const models::EffnetEncoder<V>& effnet, const video::VideoView& video,
                                  const Progress& progress = {}) {
    if (video.extent(0) != 1 || video.extent(1) != 3)
        fail("encode: the video must be [1, 3, T, H, W], got ", video.extents().str());
    const index_t T = video.extent(2);
    if (T < 1) fail("encode: the video has no frames");
    Tensor<float, DExtents<5>> out;
    for (index_t t = 0; t < T; ++t) {
        const auto lat = effnet.encode(video.template slice<2>(t, t + 1));
        if (t == 0) out = Tensor<float, DExtents<5>>(index_t(1), lat.extent(1), T, lat.extent(3), lat.extent(4));
        const index_t plane = lat.extent(3) * lat.extent(4);
        for (index_t c = 0; c < lat.extent(1); ++c)
            std::copy_n(lat.data() + c * plane, plane, out.data() + (c * T + t) * plane);
        report(progress, "encode", int(t + 1), int(T));
    }
    return out;
}

}  // namespace cascadev::pipeline
