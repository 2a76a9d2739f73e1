// The facade VideoVAE (vae.hpp) and the pipeline stages around it, with the tiny models and
// deterministic random weights; the chain's numbers are checked by the golden case
// pipeline.recon and the cascadev-reconstruct tests.
#define BOOST_TEST_MODULE vae
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "cascadev/vae.hpp"

using namespace cascadev;
namespace fs = std::filesystem;

namespace {

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

/// BGR frames [T, S, S, 3] of a smooth pattern.
video::Clip pattern(index_t T, index_t S) {
    video::Clip c(T, S, S, index_t(3));
    for (index_t t = 0; t < T; ++t)
        for (index_t y = 0; y < S; ++y)
            for (index_t x = 0; x < S; ++x)
                for (index_t k = 0; k < 3; ++k) c(t, y, x, k) = std::uint8_t((x * 3 + y * 2 + t * 5 + k * 40) % 256);
    return c;
}

bool all_finite(const float* p, index_t n) {
    for (index_t i = 0; i < n; ++i)
        if (!std::isfinite(p[i])) return false;
    return true;
}

struct TinyVae {
    VideoVAE<vae::Tiny> vae;
    TinyVae() { vae.load_random(7); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(parameter_specs_cover_every_model) {
    const auto specs = VideoVAE<vae::Tiny>::parameter_specs();
    BOOST_TEST(specs.size() > 50u);
    int per[4] = {0, 0, 0, 0};
    for (const auto& s : specs) {
        BOOST_TEST(!s.shape.empty());
        if (s.key.rfind("effnet.", 0) == 0) ++per[0];
        else if (s.key.rfind("previewer.", 0) == 0) ++per[1];
        else if (s.key.rfind("dit.", 0) == 0) ++per[2];
        else if (s.key.rfind("svd.decoder.", 0) == 0) ++per[3];
        else BOOST_FAIL("unexpected key " << s.key);
    }
    for (int n : per) BOOST_TEST(n > 0);
}

BOOST_AUTO_TEST_CASE(random_weights_depend_only_on_seed_and_key) {
    const pipeline::ParamSpec a{"x.weight", {4, 3, 3, 3}}, v{"bn.running_var", {16}};
    const auto a1 = pipeline::random_parameter(a, 1), a2 = pipeline::random_parameter(a, 1),
               a3 = pipeline::random_parameter(a, 2);
    BOOST_TEST(std::equal(a1.data(), a1.data() + a1.size(), a2.data()));
    BOOST_TEST(!std::equal(a1.data(), a1.data() + a1.size(), a3.data()));
    const auto vv = pipeline::random_parameter(v, 1);
    for (index_t i = 0; i < vv.size(); ++i) BOOST_TEST((vv.data()[i] >= 0.5f && vv.data()[i] <= 1.5f));
}

BOOST_AUTO_TEST_CASE(stages_alone_and_progress) {
    TinyVae t;
    auto& vae = t.vae;
    pipeline::EncodeOptions eo;
    eo.frames = 4;
    eo.preprocess.short_edge = 64;
    const auto clip = pattern(6, 64);
    std::vector<std::string> seen;
    pipeline::Progress p = [&](std::string_view s, int step, int total) {
        seen.push_back(std::string(s) + " " + std::to_string(step) + "/" + std::to_string(total));
    };
    const auto rgb = vae.preprocess(clip.view(), eo);
    BOOST_TEST(rgb.extent(0) == 4);
    const auto video = VideoVAE<vae::Tiny>::to_video(rgb.view());
    const auto lat = vae.encode(video.view(), p);
    BOOST_TEST(lat.extents().str() == "[1, 16, 4, 2, 2]");
    const auto prev = vae.preview(lat.view(), p);
    BOOST_TEST(prev.extents().str() == "[1, 3, 4, 16, 16]");
    pipeline::RefineOptions ro;
    ro.steps = 2;
    const auto ref = vae.refine(lat.view(), ro, p);
    BOOST_TEST(ref.extents().str() == "[1, 4, 4, 8, 8]");
    const auto dec = vae.decode(View<const float, DExtents<5>, cpu>(ref.view()), {.slice_size = 2}, p);
    BOOST_TEST(dec.extents().str() == "[1, 3, 4, 64, 64]");
    BOOST_TEST(all_finite(dec.data(), dec.size()));
    const std::vector<std::string> want = {"encode 1/4",  "encode 2/4",  "encode 3/4", "encode 4/4", "preview 1/4",
                                           "preview 2/4", "preview 3/4", "preview 4/4", "refine 1/2", "refine 2/2",
                                           "decode 1/2",  "decode 2/2"};
    BOOST_TEST(seen == want, boost::test_tools::per_element());
    // Same seed, same result; the stages alone equal the chain.
    pipeline::ReconstructOptions opt;
    opt.encode = eo;
    opt.refine = ro;
    opt.decode.slice_size = 2;
    const auto r = vae.reconstruct(clip.view(), opt);
    BOOST_TEST(std::equal(r.decoded.data(), r.decoded.data() + r.decoded.size(), dec.data()));
    BOOST_TEST(r.metrics.psnr.size() == 4u);
    BOOST_TEST(r.decoded_u8.extents().str() == "[4, 64, 64, 3]");
}

BOOST_AUTO_TEST_CASE(errors_before_work) {
    TinyVae t;
    pipeline::ReconstructOptions opt;
    opt.encode.preprocess.short_edge = 64;
    opt.decode.slice_size = 3;
    const auto clip = pattern(8, 64);
    BOOST_TEST(error_of([&] { t.vae.reconstruct(clip.view(), opt); }).find("not a multiple of the decoder's slice size 3") !=
               std::string::npos);
    opt.decode.slice_size = 4;
    opt.encode.frames = 12;
    BOOST_TEST(error_of([&] { t.vae.reconstruct(clip.view(), opt); }).find("8 frame(s), 12 were asked for") !=
               std::string::npos);
    VideoVAE<vae::Tiny> empty;
    BOOST_TEST(error_of([&] { empty.preview(Tensor<float, DExtents<5>>(1, 16, 1, 2, 2).view()); })
                   .find("VideoVAE<tiny>::preview: the previewer is not loaded") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_released_files_are_named) {
    const fs::path dir = fs::temp_directory_path() / ("cascadev-vae-test-" + std::to_string(::getpid()));
    fs::create_directories(dir / "pretrained");
    VideoVAE<vae::Tiny> v;
    const auto all = error_of([&] { v.load_directory(dir); });
    for (const char* name : {"effnet_encoder.safetensors", "previewer.safetensors", "s1024.effn-f32.pth",
                             "vae/diffusion_pytorch_model.fp16.safetensors", "stabilityai/StableWurst",
                             "ByteDance/CascadeV", "stabilityai/stable-video-diffusion-img2vid-xt"})
        BOOST_TEST(all.find(name) != std::string::npos, name << " in: " << all);
    const auto one = error_of([&] { v.load_directory(dir, vae::decode_stage); });
    BOOST_TEST(one.find("diffusion_pytorch_model") != std::string::npos);
    BOOST_TEST(one.find("effnet_encoder") == std::string::npos);
    // A released-layout folder (random tiny weights under the published names) loads.
    const auto specs = VideoVAE<vae::Tiny>::parameter_specs(vae::preview_stage);
    std::vector<pipeline::ParamSpec> bare;
    for (auto s : specs) bare.push_back({s.key.substr(std::string("previewer.").size()), s.shape});
    pipeline::write_random_weights(bare, 3, dir / "pretrained" / "previewer.safetensors");
    v.load_directory(dir, vae::preview_stage);
    BOOST_TEST(v.loaded(vae::preview_stage));
    BOOST_TEST(!v.loaded(vae::encode_stage));
    fs::remove_all(dir);
}
