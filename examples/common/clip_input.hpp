#pragma once
// Reading the input clip of the example programs: a video file or an image sequence
// (folder or glob) when built with FFmpeg, or a .safetensors file holding uint8 frames
// [T, H, W, 3] under a key (always). Every failure names the path: missing file, a file
// FFmpeg cannot decode, fewer frames than asked for, a tensor of the wrong shape.
#include <algorithm>
#include <filesystem>
#include <string>
#include <utility>

#include "cascadev/core/error.hpp"
#include "cascadev/io/safetensors.hpp"
#include "cascadev/video/preprocess.hpp"
#ifdef CASCADEV_HAVE_FFMPEG
#include "cascadev/video/video_io.hpp"
#endif

namespace cascadev::examples {

struct InputClip {
    video::Clip frames;  ///< BGR uint8 [T, H, W, 3] (safetensors inputs: as stored)
    double fps = 0;      ///< 0 when unknown
};

inline bool is_image_sequence(const std::string& path) {
    namespace fs = std::filesystem;
    const auto ext = fs::path(path).extension().string();
    return fs::is_directory(path) || path.find_first_of("*?[") != std::string::npos || ext == ".png" ||
           ext == ".jpg" || ext == ".jpeg";
}

/// --size: the short edge after preprocessing must be a positive multiple of 32 (the
/// encoder's 32x32 compression; preprocess.md §2).
inline void check_size_option(index_t size) {
    if (size <= 0 || size % 32 != 0)
        fail("--size ", size, ": must be a positive multiple of 32 (the encoder compresses 32x32 pixels into one)");
}

/// Frames 0, stride, 2·stride, ... of `clip`: the first `frames` of them (all when 0);
/// fewer than asked is an error naming `what` (preprocess.md §1: frames beg + i·stride).
inline video::Clip select_frames(video::Clip clip, index_t frames, index_t stride, const std::string& what) {
    if (frames < 0) fail("--frames must be >= 0, got ", frames);
    if (stride < 1) fail("--stride must be >= 1, got ", stride);
    const index_t T = clip.extent(0), available = (T + stride - 1) / stride;
    if (frames > available)
        fail(what, ": has ", T, " frame(s), ", frames, " were asked for (--frames", stride > 1 ? " with --stride" : "",
             ")");
    const index_t n = frames > 0 ? frames : available;
    if (n == T) return clip;
    video::Clip t(n, clip.extent(1), clip.extent(2), clip.extent(3));
    const index_t frame = clip.extent(1) * clip.extent(2) * clip.extent(3);
    for (index_t i = 0; i < n; ++i) std::copy_n(clip.data() + i * stride * frame, frame, t.data() + i * frame);
    return t;
}

/// The clip at `path`: frames 0, stride, 2·stride, ... (the first `frames` of them; 0 =
/// all). `key`: the tensor name in .safetensors inputs. The frame rate is the source's
/// after striding (rounded half to even, preprocess.md §1.4), 0 when unknown.
inline InputClip read_input_clip(const std::string& path, index_t frames, const std::string& key = "frames",
                                 index_t stride = 1) {
    namespace fs = std::filesystem;
    const fs::path p(path);
    if (p.extension() == ".safetensors") {
        if (!fs::exists(p)) fail(path, ": no such file");
        const io::SafetensorsReader r(p);
        if (!r.contains(key)) fail(path, ": no tensor \"", key, "\" (uint8 frames [T, H, W, 3])");
        const auto& info = r.info(key);
        if (info.shape.size() != 4 || info.shape[3] != 3 || info.shape[0] < 1)
            fail(path, ": tensor \"", key, "\" has shape ", shape_str(info.shape), ", expected uint8 frames [T, H, W, 3]");
        return {select_frames(r.load<std::uint8_t, 4>(key), frames, stride, path), 0.0};
    }
#ifdef CASCADEV_HAVE_FFMPEG
    if (is_image_sequence(path)) return {select_frames(video::read_image_sequence(p), frames, stride, path), 0.0};
    if (!fs::exists(p)) fail(path, ": no such file");
    if (!fs::is_regular_file(p)) fail(path, ": not a regular file");
    if (stride < 1) fail("--stride must be >= 1, got ", stride);
    const auto info = video::probe(p);
    if (info.frames < 1) fail(path, ": the video has no frames");
    const index_t available = (info.frames + stride - 1) / stride;
    if (frames > available)
        fail(path, ": has ", info.frames, " frame(s), ", frames, " were asked for (--frames",
             stride > 1 ? " with --stride" : "", ")");
    const double fps = info.fps > 0 ? double(video::clip_fps(info.fps, stride)) : 0.0;
    return {video::read_frames(p, 0, frames > 0 ? frames : available, stride), fps};
#else
    fail(path, ": this build has no FFmpeg (cascadev::video_io); give the frames as a .safetensors file ",
         "(uint8 [T, H, W, 3] under \"", key, "\")");
#endif
}

}  // namespace cascadev::examples
