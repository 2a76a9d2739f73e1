#include "../registry.hpp"
#include "cascadev/video/preprocess.hpp"

namespace cascadev::golden {

/// video.preprocess: BGR uint8 frames [T, H, W, 3] -> video [1, 3, T, H', W']
/// (preprocess.md sections 2-3). Params short_edge, size_div, square.
Outputs run_video_preprocess(const GoldenCase& c, const std::string& device) {
    require_cpu(device, c.component());
    const auto frames = c.io().load<std::uint8_t, 4>("frames");
    video::PreprocessOptions o;
    o.short_edge = c.param<index_t>("short_edge");
    o.size_div = c.param<index_t>("size_div");
    o.square = c.has_param("square") ? c.param<bool>("square") : false;
    Outputs out;
    out["video"] = NamedArray::from(video::preprocess_frames(frames.view(), o));
    return out;
}

}  // namespace cascadev::golden
