#include "../registry.hpp"

#ifdef CASCADEV_HAVE_FFMPEG
#include <cstdio>
#include <unistd.h>

#include "cascadev/video/preprocess.hpp"
#include "cascadev/video/video_io.hpp"
#endif

namespace cascadev::golden {

/// video.load: the case's video file (input `file`, the whole file as bytes) -> frames
/// beg + i * stride as BGR [num, H, W, 3], the clip's fps (preprocess.md §1.4) and the
/// preprocessed video [1, 3, num, H', W'] (sections 2-3). Params beg, num, stride,
/// short_edge, size_div, square, container (the file's suffix).
Outputs run_video_load(const GoldenCase& c, const std::string& device) {
    require_cpu(device, c.component());
#ifndef CASCADEV_HAVE_FFMPEG
    fail("component ", c.component(), ": cascadev-golden was built without FFmpeg (cascadev::video_io); "
         "install libavformat-dev libavcodec-dev libswscale-dev libavutil-dev and reconfigure");
#else
    const auto bytes = c.io().load<std::uint8_t, 1>("file");
    const std::string suffix = "." + (c.has_param("container") ? c.param<std::string>("container") : std::string("avi"));

    // A path-based reader needs a file: a temporary one with the container's suffix.
    std::string tmp = (std::filesystem::temp_directory_path() / ("cascadev_video_load_XXXXXX" + suffix)).string();
    const int fd = ::mkstemps(tmp.data(), int(suffix.size()));
    if (fd < 0) fail(c.dir().string(), ": cannot create a temporary video file");
    struct Remove {
        std::string p;
        ~Remove() { ::unlink(p.c_str()); }
    } remove{tmp};
    {
        std::FILE* f = ::fdopen(fd, "wb");
        if (!f) {
            ::close(fd);
            fail(tmp, ": cannot open the temporary video file");
        }
        const std::size_t n = std::size_t(bytes.size());
        const bool ok = std::fwrite(bytes.data(), 1, n, f) == n;
        if (std::fclose(f) != 0 || !ok) fail(tmp, ": cannot write the temporary video file");
    }

    const index_t beg = c.param<index_t>("beg"), num = c.param<index_t>("num");
    const index_t stride = c.has_param("stride") ? c.param<index_t>("stride") : 1;
    const video::VideoInfo info = video::probe(tmp);
    const video::Clip frames = video::read_frames(tmp, beg, num, stride);

    video::PreprocessOptions o;
    o.short_edge = c.param<index_t>("short_edge");
    o.size_div = c.param<index_t>("size_div");
    o.square = c.has_param("square") ? c.param<bool>("square") : false;

    Tensor<std::int64_t, DExtents<1>> fps(index_t(1));
    fps.data()[0] = video::clip_fps(info.fps, stride);

    Outputs out;
    out["frames"] = NamedArray::from(frames);
    out["fps"] = NamedArray::from(fps);
    out["video"] = NamedArray::from(video::preprocess_frames(frames.view(), o));
    return out;
#endif
}

}  // namespace cascadev::golden
