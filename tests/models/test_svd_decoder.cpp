// SVD temporal VAE decoder: the released key set of docs/reference/svd.md §3 (written here
// from the spec's tables, independently of the model code) loads with nothing missing or
// unexpected and decodes; binding errors list every problem; slices are independent clips.
// Numerical agreement with the reference is checked by the golden cases (svd.tiny).
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "cascadev/io/safetensors.hpp"
#include "cascadev/io/weight_store.hpp"
#include "cascadev/models/svd_decoder.hpp"

using namespace cascadev;
using namespace cascadev::models;

namespace {

struct SvdKeyWriter {
    io::SafetensorsWriter w;
    std::mt19937 rng{11};
    index_t keys = 0, numbers = 0;

    void add(const std::string& k, std::vector<index_t> shape, float a) {
        index_t n = 1;
        for (index_t d : shape) n *= d;
        std::vector<float> v(static_cast<std::size_t>(n));
        std::uniform_real_distribution<float> d(-a, a);
        for (auto& x : v) x = d(rng);
        w.add_raw(k, DType::F32, std::move(shape),
                  std::span<const std::byte>(reinterpret_cast<const std::byte*>(v.data()), v.size() * sizeof(float)));
        ++keys;
        numbers += n;
    }
    void conv(const std::string& p, std::vector<index_t> shape) {
        index_t fan = 1;
        for (std::size_t i = 1; i < shape.size(); ++i) fan *= shape[i];
        const index_t o = shape[0];
        add(p + ".weight", std::move(shape), 1.f / std::sqrt(float(fan)));
        add(p + ".bias", {o}, 0.05f);
    }
    void norm(const std::string& p, index_t c) {
        add(p + ".weight", {c}, 1.f);
        add(p + ".bias", {c}, 0.1f);
    }
    void st(const std::string& p, index_t ci, index_t co) {
        norm(p + "spatial_res_block.norm1", ci);
        conv(p + "spatial_res_block.conv1", {co, ci, 3, 3});
        norm(p + "spatial_res_block.norm2", co);
        conv(p + "spatial_res_block.conv2", {co, co, 3, 3});
        if (ci != co) conv(p + "spatial_res_block.conv_shortcut", {co, ci, 1, 1});
        norm(p + "temporal_res_block.norm1", co);
        conv(p + "temporal_res_block.conv1", {co, co, 3, 1, 1});
        norm(p + "temporal_res_block.norm2", co);
        conv(p + "temporal_res_block.conv2", {co, co, 3, 1, 1});
        add(p + "time_mixer.mix_factor", {1}, 2.f);
    }
    /// §2 / §3, generic form: widths, L layers per block, prefix "decoder.".
    void decoder(const std::vector<index_t>& widths, index_t L) {
        const std::vector<index_t> rev(widths.rbegin(), widths.rend());
        const index_t top = rev[0];
        conv("decoder.conv_in", {top, 4, 3, 3});
        const std::string a = "decoder.mid_block.attentions.0.";
        norm(a + "group_norm", top);
        for (const char* n : {"to_q", "to_k", "to_v", "to_out.0"}) conv(a + n, {top, top});
        for (index_t i = 0; i < L; ++i) st("decoder.mid_block.resnets." + std::to_string(i) + ".", top, top);
        for (std::size_t i = 0; i < rev.size(); ++i) {
            const std::string p = "decoder.up_blocks." + std::to_string(i) + ".";
            for (index_t j = 0; j <= L; ++j)
                st(p + "resnets." + std::to_string(j) + ".", j == 0 ? rev[i == 0 ? 0 : i - 1] : rev[i], rev[i]);
            if (i + 1 < rev.size()) conv(p + "upsamplers.0.conv", {rev[i], rev[i], 3, 3});
        }
        norm("decoder.conv_norm_out", widths[0]);
        conv("decoder.conv_out", {3, widths[0], 3, 3});
        conv("decoder.time_conv_out", {3, 3, 3, 1, 1});
    }
};

std::filesystem::path tmp_file(const std::string& name) {
    return std::filesystem::temp_directory_path() / ("cascadev_test_svd_" + name + ".safetensors");
}

Tensor<float, DExtents<5>> random_latent(index_t T, index_t h, index_t w, unsigned seed) {
    Tensor<float, DExtents<5>> z(1, 4, T, h, w);
    std::mt19937 rng(seed);
    std::normal_distribution<float> d;
    for (index_t i = 0; i < z.size(); ++i) z.data()[i] = d(rng);
    return z;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(svd_decoder)

BOOST_AUTO_TEST_CASE(released_key_set_loads_and_decodes) {
    SvdKeyWriter kw;
    kw.decoder({128, 256, 512, 512}, 2);
    BOOST_TEST(kw.keys == 266);
    BOOST_TEST(kw.numbers == 63579183);
    // The released file also holds the encoder and quant_conv: decoding ignores them.
    kw.add("encoder.conv_in.weight", {128, 3, 3, 3}, 0.1f);
    kw.add("quant_conv.weight", {8, 8, 1, 1}, 0.1f);
    const auto path = tmp_file("released");
    kw.w.write(path);
    {
        io::WeightStore store(path);
        SvdDecoder<SvdReleased> dec;
        dec.load(store);
        const auto z = random_latent(4, 2, 3, 1);
        const auto v = dec.decode(z.view(), 4);
        BOOST_TEST(v.extents().str() == "[1, 3, 4, 16, 24]");
        for (index_t i = 0; i < v.size(); ++i) BOOST_REQUIRE(std::isfinite(v.data()[i]));
    }
    std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(reports_missing_and_unexpected_keys) {
    SvdKeyWriter kw;
    kw.conv("decoder.conv_in", {16, 4, 3, 3});
    kw.add("decoder.bogus", {2}, 1.f);
    kw.add("decoder.conv_out.weight", {3, 7, 3, 3}, 1.f);  // wrong in-channels (8)
    const auto path = tmp_file("partial");
    kw.w.write(path);
    {
        io::WeightStore store(path);
        SvdDecoder<SvdTiny> dec;
        try {
            dec.load(store);
            BOOST_FAIL("expected an error");
        } catch (const Error& e) {
            const std::string m = e.what();
            BOOST_TEST(m.find("decoder.mid_block.attentions.0.to_q.weight") != std::string::npos);
            BOOST_TEST(m.find("decoder.time_conv_out.bias") != std::string::npos);
            BOOST_TEST(m.find("unexpected key \"decoder.bogus\"") != std::string::npos);
            BOOST_TEST(m.find("decoder.conv_out.weight") != std::string::npos);
            BOOST_TEST(m.find("decoder.conv_in.weight") == std::string::npos);
        }
    }
    std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(slices_are_independent_clips) {
    SvdKeyWriter kw;
    kw.decoder({8, 8, 16, 16}, 2);
    const auto path = tmp_file("tiny");
    kw.w.write(path);
    {
        io::WeightStore store(path);
        SvdDecoder<SvdTiny> dec;
        dec.load(store);
        const auto z = random_latent(8, 3, 2, 2);
        const auto by4 = dec.decode(z.view(), 4);
        const auto by8 = dec.decode(z.view(), 8);
        const auto by0 = dec.decode(z.view(), 0);  // 0 = all T frames
        BOOST_TEST(by4.extents().str() == "[1, 3, 8, 24, 16]");
        // Each slice of 4 equals decoding its 4 frames on their own.
        for (index_t f0 : {0, 4}) {
            Tensor<float, DExtents<5>> part(1, 4, 4, 3, 2);
            for (index_t c = 0; c < 4; ++c)
                for (index_t f = 0; f < 4; ++f)
                    for (index_t y = 0; y < 3; ++y)
                        for (index_t x = 0; x < 2; ++x) part(0, c, f, y, x) = z(0, c, f0 + f, y, x);
            const auto d = dec.decode(part.view(), 4);
            for (index_t c = 0; c < 3; ++c)
                for (index_t f = 0; f < 4; ++f)
                    for (index_t y = 0; y < 24; ++y)
                        for (index_t x = 0; x < 16; ++x) BOOST_REQUIRE(d(0, c, f, y, x) == by4(0, c, f0 + f, y, x));
        }
        // Both slices as two clips of one call (frames stacked in the batch) give the same.
        {
            Tensor<float, DExtents<5>> two(2, 3, 4, 24, 16);
            std::vector<float> scratch;
            dec.decode_clips(z.view().select<0>(0).permute<1, 0, 2, 3>(), 4, two.view(), scratch);
            for (index_t v = 0; v < 2; ++v)
                for (index_t c = 0; c < 3; ++c)
                    for (index_t f = 0; f < 4; ++f)
                        for (index_t y = 0; y < 24; ++y)
                            for (index_t x = 0; x < 16; ++x)
                                BOOST_REQUIRE(two(v, c, f, y, x) == by4(0, c, 4 * v + f, y, x));
        }
        double diff = 0, same = 0;
        for (index_t i = 0; i < by4.size(); ++i) {
            diff += std::abs(double(by4.data()[i]) - double(by8.data()[i]));
            same += std::abs(double(by0.data()[i]) - double(by8.data()[i]));
        }
        BOOST_TEST(diff > 0.0);   // the slicing changes every frame's temporal context
        BOOST_TEST(same == 0.0);
        BOOST_CHECK_THROW(dec.decode(z.view(), 3), Error);  // 8 frames are not a multiple of 3
    }
    std::filesystem::remove(path);
}

BOOST_AUTO_TEST_SUITE_END()
