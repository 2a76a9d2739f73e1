// A custom model variant compiled from user-defined config types: a smaller DiT (two
// blocks: one spatial-grid, one full 3D attention; 3 heads of 16) with the tiny encoder,
// previewer and decoder, run end to end with seeded random weights on a synthetic clip.
//   cascadev-custom-variant
#include <cascadev/vae.hpp>
#include <cstdio>

namespace my {
using namespace cascadev;
using namespace cascadev::models;

/// Every width is a compile-time constant: a mismatch with a checkpoint is a load error
/// naming the key, a mismatch between layers a compile error.
struct SmallDit : DitTiny {
    static constexpr const char* name = "my.small_dit";
    static constexpr index_t hidden = 48, depth = 2, heads = 3, head_dim = 16;
    static constexpr index_t mlp_hidden = index_t(hidden * mlp_ratio);
    static constexpr index_t input_size = 8;
    static constexpr index_t pe_temporal = 16, pe_spatial = 32;  // pe_temporal + pe_spatial = hidden
    static constexpr std::array<StridesEntry, 2> attn_strides = {AttnStrides{1, 2}, full3d};
};
static_assert(DitVariant<SmallDit>);

struct MyVariant {
    static constexpr const char* name = "my.variant";
    using effnet = EffnetTiny;
    using previewer = PreviewerTiny;
    using dit = SmallDit;
    using svd = SvdTiny;
};
}  // namespace my

int main() try {
    using namespace cascadev;
    VideoVAE<my::MyVariant> vae;
    vae.load_random(/*seed=*/7);
    // A moving diagonal pattern, 8 BGR frames of 64 x 64.
    video::Clip bgr(8, 64, 64, 3);
    for (index_t t = 0; t < 8; ++t)
        for (index_t y = 0; y < 64; ++y)
            for (index_t x = 0; x < 64; ++x)
                for (index_t c = 0; c < 3; ++c) bgr(t, y, x, c) = std::uint8_t((x + y + 4 * t + 40 * c) % 256);
    pipeline::ReconstructOptions opt;
    opt.encode.frames = 8;
    opt.encode.preprocess.short_edge = 64;
    opt.refine.steps = 2;
    const auto r = vae.reconstruct(bgr, opt);
    std::printf("%s: latent %s -> refined %s -> video %s in %.2f s (random weights: no meaningful picture)\n",
                my::MyVariant::name, r.latent.extents().str().c_str(), r.refined.extents().str().c_str(),
                r.decoded.extents().str().c_str(), r.seconds.total());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
}
