// The user program of docs/user-guide.md: reconstruct a clip with the released weights.
//   cascadev-user-program PRETRAINED_DIR INPUT.mp4 OUTPUT.mp4
#include <cascadev/vae.hpp>
#include <cascadev/video/video_io.hpp>
#include <cstdio>

int main(int argc, char** argv) try {
    if (argc != 4) return std::fprintf(stderr, "usage: %s PRETRAINED_DIR INPUT.mp4 OUTPUT.mp4\n", argv[0]), 2;
    using namespace cascadev;
    VideoVAE<vae::Released> vae;
    vae.load_directory(argv[1]);                       // s1024.effn-f32.pth, previewer.safetensors, ...
    const video::Clip bgr = video::read_frames(argv[2], 0, 8);   // recon.sh: the first 8 frames
    pipeline::ReconstructOptions opt;                  // defaults = recon.sh: 1024², euler_a, 8 steps, seed 42
    const auto r = vae.reconstruct(bgr, opt, [](std::string_view stage, int step, int total) {
        std::fprintf(stderr, "\r%-10.*s %d/%d", int(stage.size()), stage.data(), step, total);
    });
    video::write_mp4(argv[3], r.decoded_u8, 8.0);
    std::printf("\nPSNR %.2f dB  SSIM %.4f\n", r.metrics.psnr_mean, r.metrics.ssim_mean);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
}
