// Golden component pipeline.recon (golden/components/pipeline.recon/README.md): stages
// 1-3 of the release chained with the tiny models (one weights file, stage prefixes),
// recorded noise, then the metrics of the 8-bit reconstruction. Runs through the public
// facade VideoVAE<vae::Tiny> (cascadev/vae.hpp).
#include <string>

#include "../registry.hpp"
#include "cascadev/vae.hpp"

namespace cascadev::golden {

namespace {
Tensor<float, DExtents<1>> f32_vector(const std::vector<double>& v) {
    Tensor<float, DExtents<1>> t(index_t(v.size()));
    for (std::size_t i = 0; i < v.size(); ++i) t.data()[i] = float(v[i]);
    return t;
}
}  // namespace

Outputs run_pipeline_recon(const GoldenCase& c, const std::string& device) {
    require_cpu(device, c.component());
    const auto where = (c.dir() / "case.json").string();
    const auto variants = c.param<std::map<std::string, std::string>>("variants");
    const std::map<std::string, std::string> tiny = {{"effnet", vae::Tiny::effnet::name},
                                                     {"previewer", vae::Tiny::previewer::name},
                                                     {"dit", vae::Tiny::dit::name},
                                                     {"svd", vae::Tiny::svd::name}};
    if (variants != tiny) fail(where, ": pipeline.recon: only the tiny variants (", vae::Tiny::dit::name, " ...) are built in");

    pipeline::ReconstructOptions opt;
    opt.encode.frames = 0;  // all of them
    opt.encode.preprocess.short_edge = c.param<index_t>("short_edge");
    opt.encode.preprocess.size_div = c.param<index_t>("size_div");
    opt.encode.preprocess.square = c.has_param("square") ? c.param<bool>("square") : false;
    opt.refine.sampler = diffusion::parse_sampler(c.param<std::string>("sampler"));
    opt.refine.steps = c.param<int>("steps");
    opt.decode.slice_size = c.param<index_t>("decode_slice");

    VideoVAE<vae::Tiny> model;
    model.load(c.weights());  // combined layout: effnet. previewer. dit. svd.decoder.
    const auto frames = c.io().load<std::uint8_t, 4>("frames");
    diffusion::RecordedNoise noise(c.io().path());
    const auto r = model.reconstruct(frames.view(), opt, noise);
    if (noise.remaining() != 0)
        fail(c.io().path().string(), ": pipeline left ", noise.remaining(), " recorded noise tensor(s) unused (next: ",
             noise.next_key(), ")");
    Outputs out;
    out["latent"] = NamedArray::from(r.latent);
    out["preview"] = NamedArray::from(r.preview);
    out["refined"] = NamedArray::from(r.refined);
    out["decoded"] = NamedArray::from(r.decoded);
    out["psnr"] = NamedArray::from(f32_vector(r.metrics.psnr));
    out["ssim"] = NamedArray::from(f32_vector(r.metrics.ssim));
    out["psnr_mean"] = NamedArray::from(f32_vector({r.metrics.psnr_mean}));
    out["ssim_mean"] = NamedArray::from(f32_vector({r.metrics.ssim_mean}));
    return out;
}

}  // namespace cascadev::golden
