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

/// The first `frames` frames of `clip` (all when 0); fewer than asked is an error naming `what`.
inline video::Clip first_frames(video::Clip clip, index_t frames, const std::string& what) {
    if (frames < 0) fail("--frames must be >= 0, got ", frames);
    if (frames == 0 || clip.extent(0) == frames) return clip;
    if (clip.extent(0) < frames)
        fail(what, ": has ", clip.extent(0), " frame(s), ", frames, " were asked for (--frames)");
    video::Clip t(frames, clip.extent(1), clip.extent(2), clip.extent(3));
    std::copy_n(clip.data(), t.size(), t.data());
    return t;
}

/// The clip at `path`, its first `frames` frames (0 = all). `key`: the tensor name in
/// .safetensors inputs.
inline InputClip read_input_clip(const std::string& path, index_t frames, const std::string& key = "frames") {
    namespace fs = std::filesystem;
    const fs::path p(path);
    if (p.extension() == ".safetensors") {
        if (!fs::exists(p)) fail(path, ": no such file");
        const io::SafetensorsReader r(p);
        if (!r.contains(key)) fail(path, ": no tensor \"", key, "\" (uint8 frames [T, H, W, 3])");
        const auto& info = r.info(key);
        if (info.shape.size() != 4 || info.shape[3] != 3 || info.shape[0] < 1)
            fail(path, ": tensor \"", key, "\" has shape ", shape_str(info.shape), ", expected uint8 frames [T, H, W, 3]");
        return {first_frames(r.load<std::uint8_t, 4>(key), frames, path), 0.0};
    }
#ifdef CASCADEV_HAVE_FFMPEG
    if (is_image_sequence(path)) return {first_frames(video::read_image_sequence(p), frames, path), 0.0};
    if (!fs::exists(p)) fail(path, ": no such file");
    if (!fs::is_regular_file(p)) fail(path, ": not a regular file");
    const auto info = video::probe(p);
    if (info.frames < 1) fail(path, ": the video has no frames");
    if (frames > info.frames) fail(path, ": has ", info.frames, " frame(s), ", frames, " were asked for (--frames)");
    return {video::read_frames(p, 0, frames > 0 ? frames : info.frames, 1), info.fps};
#else
    fail(path, ": this build has no FFmpeg (cascadev::video_io); give the frames as a .safetensors file ",
         "(uint8 [T, H, W, 3] under \"", key, "\")");
#endif
}

}  // namespace cascadev::examples
