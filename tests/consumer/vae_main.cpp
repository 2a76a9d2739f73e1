// <cascadev/vae.hpp> from an installed package: the tiny variant with seeded random weights
// reconstructs a small synthetic clip through every stage.
#include <cascadev/vae.hpp>
#include <cmath>
#include <cstdio>

int main() try {
    using namespace cascadev;
    VideoVAE<vae::Tiny> vae;
    vae.load_random(7);
    video::Clip bgr(index_t(8), index_t(64), index_t(64), index_t(3));
    for (index_t i = 0; i < bgr.size(); ++i) bgr.data()[i] = std::uint8_t((i * 7) % 251);
    pipeline::ReconstructOptions opt;
    opt.encode.frames = 8;
    opt.encode.preprocess.short_edge = 64;
    opt.refine.steps = 2;
    const auto r = vae.reconstruct(bgr.view(), opt);
    const auto& d = r.decoded_u8;
    if (d.extent(0) != 8 || d.extent(1) != 64 || d.extent(2) != 64 || !std::isfinite(r.metrics.ssim_mean)) {
        std::printf("consumer_vae: unexpected result %s\n", d.extents().str().c_str());
        return 1;
    }
    std::printf("consumer_vae: ok, latent %s -> video %s, PSNR %.2f dB\n", r.latent.extents().str().c_str(),
                d.extents().str().c_str(), r.metrics.psnr_mean);
    return 0;
} catch (const std::exception& e) {
    std::printf("consumer_vae: error: %s\n", e.what());
    return 1;
}
