#pragma once
// The runner's component table. Each component is one translation unit in components/
// (so changing one model recompiles only its component); add a declaration and a line.
#include "registry.hpp"

namespace cascadev::golden {

Outputs run_resize_bilinear(const GoldenCase&, const std::string& device);
Outputs run_video_preprocess(const GoldenCase&, const std::string& device);
Outputs run_video_load(const GoldenCase&, const std::string& device);
Outputs run_metrics(const GoldenCase&, const std::string& device);
Outputs run_rng_torch_cpu(const GoldenCase&, const std::string& device);
Outputs run_sampler_euler_a(const GoldenCase&, const std::string& device);
Outputs run_sampler_ddim(const GoldenCase&, const std::string& device);
Outputs run_sampler_dpms(const GoldenCase&, const std::string& device);
Outputs run_dit_embed(const GoldenCase&, const std::string& device);
Outputs run_dit_layer(const GoldenCase&, const std::string& device);
Outputs run_dit_forward(const GoldenCase&, const std::string& device);
Outputs run_dit_forward_with_dpmsolver(const GoldenCase&, const std::string& device);
Outputs run_effnet_encode(const GoldenCase&, const std::string& device);
Outputs run_previewer_decode(const GoldenCase&, const std::string& device);
Outputs run_checkpoint_pth(const GoldenCase&, const std::string& device);
Outputs run_svd_decode(const GoldenCase&, const std::string& device);
Outputs run_refine(const GoldenCase&, const std::string& device);
Outputs run_pipeline_recon(const GoldenCase&, const std::string& device);
Outputs run_lpips(const GoldenCase&, const std::string& device);

inline const Registry& components() {
    static const Registry r = {
        {"resize.bilinear", run_resize_bilinear},
        {"video.preprocess", run_video_preprocess},
        {"video.load", run_video_load},
        {"metrics", run_metrics},
        {"rng.torch_cpu", run_rng_torch_cpu},
        {"sampler.euler_a", run_sampler_euler_a},
        {"sampler.ddim", run_sampler_ddim},
        {"sampler.dpms", run_sampler_dpms},
        {"dit.embed", run_dit_embed},
        {"dit.layer", run_dit_layer},
        {"dit.forward", run_dit_forward},
        {"dit.forward_with_dpmsolver", run_dit_forward_with_dpmsolver},
        {"effnet.encode", run_effnet_encode},
        {"previewer.decode", run_previewer_decode},
        {"checkpoint.pth", run_checkpoint_pth},
        {"svd.decode", run_svd_decode},
        {"refine", run_refine},
        {"pipeline.recon", run_pipeline_recon},
        {"lpips", run_lpips},
    };
    return r;
}

}  // namespace cascadev::golden
