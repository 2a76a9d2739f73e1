// EfficientNetV2 encoder and previewer at the released widths: the key set of
// docs/reference/effnet.md §4 / §7 (written here from the spec's tables, independently of
// the model code) must load with nothing missing or unexpected, and the sizes must hold.
// Numerical agreement with the reference is checked by the golden cases (tiny variants).
#include <boost/test/unit_test.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "cascadev/io/safetensors.hpp"
#include "cascadev/io/weight_store.hpp"
#include "cascadev/models/effnet.hpp"
#include "cascadev/models/previewer.hpp"

using namespace cascadev;
using namespace cascadev::models;

namespace {

struct KeyWriter {
    io::SafetensorsWriter w;
    std::mt19937 rng{5};
    index_t keys = 0, numbers = 0;

    void add(const std::string& k, std::vector<index_t> shape, float lo, float hi) {
        index_t n = 1;
        for (index_t d : shape) n *= d;
        std::vector<float> v(static_cast<std::size_t>(n));
        std::uniform_real_distribution<float> d(lo, hi);
        for (auto& x : v) x = d(rng);
        w.add_raw(k, DType::F32, std::move(shape),
                  std::span<const std::byte>(reinterpret_cast<const std::byte*>(v.data()), v.size() * sizeof(float)));
        ++keys;
        numbers += n;
    }
    void conv(const std::string& k, std::vector<index_t> shape) {
        index_t fan = 1;
        for (std::size_t i = 1; i < shape.size(); ++i) fan *= shape[i];
        const float s = 1.f / std::sqrt(float(fan));
        add(k, std::move(shape), -s, s);
    }
    void nbt(const std::string& k, std::vector<index_t> shape) {
        const std::int64_t v = 7;
        w.add_raw(k, DType::I64, std::move(shape),
                  std::span<const std::byte>(reinterpret_cast<const std::byte*>(&v), sizeof v));
        ++keys;
    }
    void bn(const std::string& p, index_t c, bool affine = true, bool with_nbt = true) {
        if (affine) {
            add(p + ".weight", {c}, 0.5f, 1.0f);
            add(p + ".bias", {c}, -0.1f, 0.1f);
        }
        add(p + ".running_mean", {c}, -0.1f, 0.1f);
        add(p + ".running_var", {c}, 0.5f, 1.5f);
        if (with_nbt) nbt(p + ".num_batches_tracked", {});
    }
};

/// Per-block rows of the v2s table (§2): stage, count, fused, ci, mid, S, co.
struct Row {
    int stage, first, count;
    bool fused;
    index_t ci, mid, S, co;
};

void write_v2s(KeyWriter& kw) {
    kw.conv("backbone.0.0.weight", {24, 3, 3, 3});
    kw.bn("backbone.0.1", 24);
    const std::vector<Row> rows = {
        {1, 0, 2, true, 24, 24, 0, 24},     {2, 0, 1, true, 24, 96, 0, 48},     {2, 1, 3, true, 48, 192, 0, 48},
        {3, 0, 1, true, 48, 192, 0, 64},    {3, 1, 3, true, 64, 256, 0, 64},    {4, 0, 1, false, 64, 256, 16, 128},
        {4, 1, 5, false, 128, 512, 32, 128}, {5, 0, 1, false, 128, 768, 32, 160}, {5, 1, 8, false, 160, 960, 40, 160},
        {6, 0, 1, false, 160, 960, 40, 256}, {6, 1, 14, false, 256, 1536, 64, 256},
    };
    for (const Row& r : rows)
        for (int j = r.first; j < r.first + r.count; ++j) {
            const std::string p = "backbone." + std::to_string(r.stage) + "." + std::to_string(j) + ".block.";
            if (r.fused) {
                if (r.mid == r.ci) {
                    kw.conv(p + "0.0.weight", {r.co, r.ci, 3, 3});
                    kw.bn(p + "0.1", r.co);
                } else {
                    kw.conv(p + "0.0.weight", {r.mid, r.ci, 3, 3});
                    kw.bn(p + "0.1", r.mid);
                    kw.conv(p + "1.0.weight", {r.co, r.mid, 1, 1});
                    kw.bn(p + "1.1", r.co);
                }
            } else {
                kw.conv(p + "0.0.weight", {r.mid, r.ci, 1, 1});
                kw.bn(p + "0.1", r.mid);
                kw.conv(p + "1.0.weight", {r.mid, 1, 3, 3});
                kw.bn(p + "1.1", r.mid);
                kw.conv(p + "2.fc1.weight", {r.S, r.mid, 1, 1});
                kw.add(p + "2.fc1.bias", {r.S}, -0.05f, 0.05f);
                kw.conv(p + "2.fc2.weight", {r.mid, r.S, 1, 1});
                kw.add(p + "2.fc2.bias", {r.mid}, -0.05f, 0.05f);
                kw.conv(p + "3.0.weight", {r.co, r.mid, 1, 1});
                kw.bn(p + "3.1", r.co);
            }
        }
    kw.conv("backbone.7.0.weight", {1280, 256, 1, 1});
    kw.bn("backbone.7.1", 1280);
    kw.conv("mapper.0.weight", {16, 1280, 1, 1});
    kw.bn("mapper.1", 16, /*affine=*/false);
}

std::filesystem::path tmp_file(const std::string& name) {
    return std::filesystem::temp_directory_path() / ("cascadev_test_models_" + name + ".safetensors");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(effnet_previewer)

BOOST_AUTO_TEST_CASE(expanded_width_rule) {
    BOOST_TEST(eff_expanded_width(24, 4) == 96);
    BOOST_TEST(eff_expanded_width(160, 6) == 960);
    BOOST_TEST(eff_expanded_width(3, 1) == 8);     // at least 8
    BOOST_TEST(eff_expanded_width(20, 1) == 24);   // 20 -> nearest multiple of 8, halves up
    BOOST_TEST(eff_expanded_width(12, 1) == 16);   // 12 + 4 = 16
    BOOST_TEST(eff_expanded_width(11, 1) == 8 + 8);  // 8 < 0.9 * 11 -> 16
}

BOOST_AUTO_TEST_CASE(v2s_loads_the_released_key_set) {
    KeyWriter kw;
    write_v2s(kw);
    BOOST_TEST(kw.keys == 784);
    BOOST_TEST(kw.numbers == 20351872);
    const auto path = tmp_file("v2s");
    kw.w.write(path);
    {
        io::WeightStore store(path);
        EffnetEncoder<EffnetV2S> enc;
        enc.load(store);  // throws listing every missing / mis-shaped / unexpected key
        Tensor<float, DExtents<5>> video(1, 3, 1, 64, 96);
        std::mt19937 rng(3);
        std::uniform_real_distribution<float> d(-1.f, 1.f);
        for (index_t i = 0; i < video.size(); ++i) video.data()[i] = d(rng);
        const auto lat = enc.encode(video.view());
        BOOST_TEST(lat.extents().str() == "[1, 16, 1, 2, 3]");
        for (index_t i = 0; i < lat.size(); ++i) BOOST_REQUIRE(std::isfinite(lat.data()[i]));
    }
    std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(v2s_reports_missing_and_unexpected_keys) {
    KeyWriter kw;
    kw.conv("backbone.0.0.weight", {24, 3, 3, 3});
    kw.bn("backbone.0.1", 24, true, /*with_nbt=*/false);  // num_batches_tracked is optional
    kw.add("backbone.99.bogus", {2}, 0.f, 1.f);
    const auto path = tmp_file("partial");
    kw.w.write(path);
    {
        io::WeightStore store(path);
        EffnetEncoder<EffnetTiny> enc;
        try {
            enc.load(store);
            BOOST_FAIL("expected an error");
        } catch (const Error& e) {
            const std::string m = e.what();
            BOOST_TEST(m.find("backbone.0.0.weight") != std::string::npos, m);  // mis-shaped for tiny (8 out)
            BOOST_TEST(m.find("backbone.1.0.block.0.0.weight") != std::string::npos, m);  // missing
            BOOST_TEST(m.find("mapper.1.running_var") != std::string::npos, m);          // missing
            BOOST_TEST(m.find("backbone.99.bogus") != std::string::npos, m);              // unexpected
            BOOST_TEST(m.find("num_batches_tracked") == std::string::npos, m);            // never required
        }
    }
    std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(previewer_released_key_set_and_sizes) {
    KeyWriter kw;
    const index_t c = 512;
    const std::vector<std::array<index_t, 4>> convs = {
        {c, 16, 1, 1}, {c, c, 3, 3}, {c, c / 2, 2, 2}, {c / 2, c / 2, 3, 3},
        {c / 2, c / 4, 2, 2}, {c / 4, c / 4, 3, 3}, {c / 4, c / 4, 2, 2}, {c / 4, c / 4, 3, 3}};
    const std::array<index_t, 8> bn_width = {c, c, c / 2, c / 2, c / 4, c / 4, c / 4, c / 4};
    for (std::size_t i = 0; i < 8; ++i) {
        const std::string p = "blocks." + std::to_string(3 * i);
        const auto& s = convs[i];
        const bool up = i == 2 || i == 4 || i == 6;
        const index_t fan = up ? s[0] : s[1] * s[2] * s[3];
        const float sc = 1.f / std::sqrt(float(fan));
        kw.add(p + ".weight", {s[0], s[1], s[2], s[3]}, -sc, sc);
        kw.add(p + ".bias", {bn_width[i]}, -0.05f, 0.05f);
        kw.bn("blocks." + std::to_string(3 * i + 2), bn_width[i], true, /*with_nbt=*/i % 2 == 0);
    }
    kw.conv("blocks.24.weight", {3, c / 4, 1, 1});
    kw.add("blocks.24.bias", {3}, 0.4f, 0.6f);
    BOOST_TEST(kw.numbers == 3983747);
    BOOST_TEST(kw.keys == 58 - 4);  // four num_batches_tracked left out: optional
    const auto path = tmp_file("previewer");
    kw.w.write(path);
    {
        io::WeightStore store(path);
        Previewer<PreviewerReleased> p;
        p.load(store);
        Tensor<float, DExtents<5>> lat(1, 16, 2, 3, 2);
        std::mt19937 rng(4);
        std::normal_distribution<float> d;
        for (index_t i = 0; i < lat.size(); ++i) lat.data()[i] = d(rng);
        const auto v = p.preview(lat.view());
        BOOST_TEST(v.extents().str() == "[1, 3, 2, 24, 16]");
        for (index_t i = 0; i < v.size(); ++i) BOOST_REQUIRE(v.data()[i] >= -1.f && v.data()[i] <= 1.f);
    }
    std::filesystem::remove(path);
}

BOOST_AUTO_TEST_SUITE_END()
