// LPIPS (AlexNet, v0.1): the published-file loader on legacy-format fixtures written by
// torch 1.13 (tests/golden/gen/lpips_case.py: the tiny_u8_70x90 golden case's weights laid
// out as alexnet-owt-7be5be79.pth + alex.pth, with a classifier to ignore), the missing-file
// message, .safetensors alternatives, the published key set, and the metric's properties
// (identical frames give exactly 0, symmetry, the clip entry point, size checks).
// Agreement with the PyTorch port is checked by the golden cases of component lpips.
// tests/models/data/lpips_real/alex.pth is the real lin file as the lpips 0.1.4 package ships
// it (legacy format written by Python 2; BSD-2-Clause, LICENSE next to it): read through the
// legacy reader and checked against values read with torch 1.13 and the golden case
// real_lin_64x64 (written by the lpips package itself, tests/golden/gen/lpips_package_case.py).
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "cascadev/io/safetensors.hpp"
#include "cascadev/io/weight_store.hpp"
#include "cascadev/models/lpips.hpp"
#include "../common/temp_dir.hpp"

using namespace cascadev;
using namespace cascadev::models;
namespace fs = std::filesystem;

namespace {

const fs::path tests_dir = fs::path(CASCADEV_TEST_DATA_DIR);
const fs::path fixture = tests_dir / "models/data/lpips_tiny";
const fs::path u8_case = tests_dir / "golden/components/lpips/tiny_u8_70x90";
const fs::path real_lin = tests_dir / "models/data/lpips_real/alex.pth";
const fs::path real_case = tests_dir / "golden/components/lpips/real_lin_64x64";

struct TempDir : cascadev::testing::TempDir {
    TempDir() : cascadev::testing::TempDir("cascadev-lpips-test") {}
};

using T4 = Tensor<float, DExtents<4>>;
using Clip = Tensor<std::uint8_t, DExtents<4>>;

T4 random_frames(index_t n, index_t h, index_t w, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    T4 x(n, 3, h, w);
    for (index_t i = 0; i < x.size(); ++i) x.data()[i] = d(rng);
    return x;
}

double rel_l2(const std::vector<double>& got, const std::vector<double>& want) {
    double num = 0, den = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        num += (got[i] - want[i]) * (got[i] - want[i]);
        den += want[i] * want[i];
    }
    return std::sqrt(num) / std::max(std::sqrt(den), 1e-12);
}

/// Copies every tensor of `src` (its stored bits) into a safetensors file.
void to_safetensors(const io::WeightStore& src, const fs::path& out) {
    io::SafetensorsWriter w;
    std::vector<std::vector<std::byte>> keep;
    for (const auto& k : src.keys()) {
        keep.push_back(src.source(k).read_raw(k));
        w.add_raw(k, src.info(k).dtype, src.info(k).shape, keep.back());
    }
    w.write(out);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(lpips)

BOOST_AUTO_TEST_CASE(published_layout_loads_from_legacy_files_and_matches_the_golden_case) {
    // The fixture files are legacy (pre-zip) torch.save output.
    BOOST_TEST((io::detect_format(fixture / LpipsPublished::trunk_file) == io::CheckpointFormat::pytorch_legacy));
    BOOST_TEST((io::detect_format(fixture / LpipsPublished::lin_file) == io::CheckpointFormat::pytorch_legacy));
    BOOST_TEST(io::PthReader(fixture / LpipsPublished::trunk_file).contains("classifier.6.weight"));

    Lpips<LpipsAlexTiny> m;
    m.load_published(fixture);
    const io::SafetensorsReader io(u8_case / "io.safetensors");
    const auto a = io.load<std::uint8_t, 4>("a");
    const auto b = io.load<std::uint8_t, 4>("b");
    const auto want_d = io.load<float, 1>("d");
    const LpipsResult r = m.evaluate(a.view(), b.view());
    BOOST_REQUIRE_EQUAL(r.distance.size(), 2u);
    std::vector<double> want(want_d.data(), want_d.data() + 2);
    const double err = rel_l2(r.distance, want);
    BOOST_TEST_MESSAGE("legacy-loaded tiny LPIPS vs golden tiny_u8_70x90: rel-L2 " << err);
    BOOST_TEST(err <= 1e-5);
    for (std::size_t i = 0; i < 2; ++i) {
        double sum = 0;
        for (double v : r.layers[i]) sum += v;
        BOOST_TEST(sum == r.distance[i]);
    }

    // The same weights from the golden case's combined safetensors give the same numbers, bit for bit.
    Lpips<LpipsAlexTiny> g;
    g.load(io::WeightStore(u8_case / "weights.safetensors"));
    const auto rg = g.distance(a.view(), b.view());
    BOOST_TEST(rg == r.distance);
}

BOOST_AUTO_TEST_CASE(missing_files_are_one_message_with_the_urls) {
    TempDir d;
    auto message = [&] {
        try {
            Lpips<LpipsAlexTiny> m;
            m.load_published(d.dir);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    const std::string both = message();
    BOOST_TEST_INFO(both);
    BOOST_TEST(both.find("lpips: missing weight file") != std::string::npos);
    BOOST_TEST(both.find((d / "alexnet-owt-7be5be79.pth").string()) != std::string::npos);
    BOOST_TEST(both.find("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth") != std::string::npos);
    BOOST_TEST(both.find((d / "alex.pth").string()) != std::string::npos);
    BOOST_TEST(both.find("lpips/weights/v0.1/alex.pth") != std::string::npos);

    fs::copy_file(fixture / "alexnet-owt-7be5be79.pth", d / "alexnet-owt-7be5be79.pth");
    const std::string lin_only = message();
    BOOST_TEST_INFO(lin_only);
    BOOST_TEST(lin_only.find((d / "alex.pth").string()) != std::string::npos);
    BOOST_TEST(lin_only.find("https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth") !=
               std::string::npos);
    BOOST_TEST(lin_only.find("alexnet-owt") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(safetensors_alternatives_and_strict_keys) {
    TempDir d;
    // Converted names: alexnet-owt-7be5be79.safetensors next to alex.pth.
    to_safetensors(io::WeightStore(fixture / "alexnet-owt-7be5be79.pth"), d / "alexnet-owt-7be5be79.safetensors");
    fs::copy_file(fixture / "alex.pth", d / "alex.pth");
    Lpips<LpipsAlexTiny> m, ref;
    m.load_published(d.dir);
    ref.load_published(fixture);
    const T4 x0 = random_frames(1, 40, 33, 1), x1 = random_frames(1, 40, 33, 2);
    BOOST_TEST(m.distance(x0, x1) == ref.distance(x0, x1));

    // A trunk of the wrong variant: every mis-shaped key in one error naming the file.
    Lpips<LpipsAlex> big;
    try {
        big.load_published(fixture);
        BOOST_ERROR("the tiny trunk loaded into the published widths");
    } catch (const Error& e) {
        const std::string m2 = e.what();
        BOOST_TEST_INFO(m2);
        BOOST_TEST(m2.find("features.0.weight") != std::string::npos);
        BOOST_TEST(m2.find("features.10.bias") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(published_key_set_loads_with_nothing_missing_or_unexpected) {
    // torchvision's AlexNet state dict (features + classifier) and lpips' alex.pth, written
    // here from the published shapes, independently of the model code.
    TempDir d;
    std::mt19937 rng(3);
    std::vector<std::vector<float>> keep;
    auto add = [&](io::SafetensorsWriter& w, const std::string& k, std::vector<index_t> shape) {
        index_t n = 1;
        for (index_t s : shape) n *= s;
        keep.emplace_back(static_cast<std::size_t>(n));
        std::uniform_real_distribution<float> u(0.f, 0.01f);
        for (auto& v : keep.back()) v = u(rng);
        w.add_raw(k, DType::F32, std::move(shape),
                  std::span<const std::byte>(reinterpret_cast<const std::byte*>(keep.back().data()), std::size_t(n) * 4));
    };
    io::SafetensorsWriter trunk, lin;
    const std::vector<std::pair<int, std::vector<index_t>>> convs = {
        {0, {64, 3, 11, 11}}, {3, {192, 64, 5, 5}}, {6, {384, 192, 3, 3}}, {8, {256, 384, 3, 3}}, {10, {256, 256, 3, 3}}};
    for (const auto& [i, shape] : convs) {
        add(trunk, "features." + std::to_string(i) + ".weight", shape);
        add(trunk, "features." + std::to_string(i) + ".bias", {shape[0]});
    }
    // The classifier at a reduced size (its shapes are never checked: it is ignored).
    for (const char* i : {"1", "4", "6"}) {
        add(trunk, std::string("classifier.") + i + ".weight", {4, 4});
        add(trunk, std::string("classifier.") + i + ".bias", {4});
    }
    const index_t lin_c[] = {64, 192, 384, 256, 256};
    for (int k = 0; k < 5; ++k) add(lin, "lin" + std::to_string(k) + ".model.1.weight", {1, lin_c[k], 1, 1});
    trunk.write(d / "alexnet-owt-7be5be79.safetensors");
    lin.write(d / "alex.safetensors");
    Lpips<> m;  // the published variant
    BOOST_CHECK_NO_THROW(m.load_published(d.dir));
    // Smallest frame: every tap is 1 x 1 at the end.
    const T4 x0 = random_frames(1, Lpips<>::min_side, Lpips<>::min_side, 4), x1 = random_frames(1, 31, 31, 5);
    const auto taps = m.features(x0);
    BOOST_TEST(taps[0].extent(2) == 7);
    BOOST_TEST(taps[4].extent(2) == 1);
    BOOST_TEST(taps[4].extent(1) == 256);
    const auto dd = m.distance(x0, x1);
    BOOST_TEST(std::isfinite(dd[0]));
    BOOST_TEST(dd[0] >= 0.0);

    // An unexpected key in the lin file is reported.
    io::SafetensorsWriter lin2;
    for (int k = 0; k < 5; ++k) add(lin2, "lin" + std::to_string(k) + ".model.1.weight", {1, lin_c[k], 1, 1});
    add(lin2, "lin5.model.1.weight", {1, 8, 1, 1});
    lin2.write(d / "alex.safetensors");
    BOOST_CHECK_EXCEPTION(m.load_published(d.dir), Error, [](const Error& e) {
        return std::string(e.what()).find("unexpected key \"lin5.model.1.weight\"") != std::string::npos;
    });
}

BOOST_AUTO_TEST_CASE(identical_frames_give_zero_and_the_distance_is_symmetric) {
    Lpips<LpipsAlexTiny> m;
    m.load_published(fixture);
    const T4 x0 = random_frames(3, 45, 37, 7), x1 = random_frames(3, 45, 37, 8);
    for (double v : m.distance(x0, x0)) BOOST_TEST(v == 0.0);
    const auto ab = m.distance(x0, x1), ba = m.distance(x1, x0);
    BOOST_TEST(ab == ba);  // exactly: both frames run the same code path
    for (double v : ab) BOOST_TEST(v > 0.0);
    // Frames are independent: the distance of frame 1 alone equals its value in the batch.
    T4 one0(1, 3, 45, 37), one1(1, 3, 45, 37);
    std::memcpy(one0.data(), x0.data() + 3 * 45 * 37, std::size_t(one0.size()) * 4);
    std::memcpy(one1.data(), x1.data() + 3 * 45 * 37, std::size_t(one1.size()) * 4);
    BOOST_TEST(m.distance(one0, one1)[0] == ab[1]);

    // The clip entry point converts x / 127.5 - 1 (in double, rounded to float).
    Clip ca(2, 33, 41, 3), cb(2, 33, 41, 3);
    std::mt19937 rng(9);
    for (index_t i = 0; i < ca.size(); ++i) {
        ca.data()[i] = std::uint8_t(rng() & 255);
        cb.data()[i] = std::uint8_t(rng() & 255);
    }
    T4 fa(2, 3, 33, 41), fb(2, 3, 33, 41);
    for (index_t t = 0; t < 2; ++t)
        for (index_t c = 0; c < 3; ++c)
            for (index_t i = 0; i < 33; ++i)
                for (index_t j = 0; j < 41; ++j) {
                    fa(t, c, i, j) = float(double(ca(t, i, j, c)) / 127.5 - 1.0);
                    fb(t, c, i, j) = float(double(cb(t, i, j, c)) / 127.5 - 1.0);
                }
    BOOST_TEST(m.distance(ca.view(), cb.view()) == m.distance(fa, fb));
    for (double v : m.distance(ca.view(), ca.view())) BOOST_TEST(v == 0.0);
}

BOOST_AUTO_TEST_CASE(bad_shapes_are_clear_errors) {
    Lpips<LpipsAlexTiny> m;
    m.load_published(fixture);
    auto expect = [&](auto&& f, const std::string& what) {
        try {
            f();
            BOOST_ERROR("no error for \"" << what << "\"");
        } catch (const Error& e) {
            BOOST_TEST_INFO(e.what());
            BOOST_TEST(std::string(e.what()).find(what) != std::string::npos);
        }
    };
    const T4 small = random_frames(1, 30, 64, 1), ok = random_frames(1, 31, 64, 2), other = random_frames(2, 31, 64, 3);
    expect([&] { m.distance(small, small); }, "smaller than AlexNet's minimum of 31 x 31");
    expect([&] { m.distance(ok, other); }, "lpips: frames: shape mismatch");
    T4 gray(1, 1, 40, 40);
    expect([&] { m.distance(gray, gray); }, "must be [N, 3, H, W]");
    Clip rgba(1, 40, 40, 4);
    expect([&] { m.distance(rgba.view(), rgba.view()); }, "must be [T, H, W, 3]");
    BOOST_CHECK_NO_THROW(m.distance(ok, ok));
}

BOOST_AUTO_TEST_CASE(real_published_lin_file_reads_through_the_legacy_reader) {
    // lpips 0.1.4's lpips/weights/v0.1/alex.pth (sha256 df73285e...835c0, 6009 bytes): five
    // pickles from Python 2 (SHORT_BINSTRING keys, storages saved from cuda:0) and five
    // float32 storages, read as host tensors.
    BOOST_TEST((io::detect_format(real_lin) == io::CheckpointFormat::pytorch_legacy));
    const io::PthReader r(real_lin);
    BOOST_TEST(r.legacy());
    const io::WeightStore store(real_lin);
    const std::vector<std::string> keys = {"lin0.model.1.weight", "lin1.model.1.weight", "lin2.model.1.weight",
                                           "lin3.model.1.weight", "lin4.model.1.weight"};
    BOOST_TEST(store.keys() == keys, boost::test_tools::per_element());
    const index_t chans[] = {64, 192, 384, 256, 256};
    std::array<Tensor<float, DExtents<4>>, 5> w;
    for (std::size_t k = 0; k < 5; ++k) {
        BOOST_TEST_CONTEXT(keys[k]) {
            BOOST_TEST((store.info(keys[k]).dtype == DType::F32));
            BOOST_TEST(store.info(keys[k]).shape == (std::vector<index_t>{1, chans[k], 1, 1}), boost::test_tools::per_element());
            w[k] = store.get<float, DExtents<4>>(keys[k]);
            index_t zeros = 0;
            float mx = 0;
            for (index_t i = 0; i < w[k].size(); ++i) {
                const float v = w[k].data()[i];
                BOOST_TEST(std::isfinite(v));
                BOOST_TEST(v >= 0.0f);  // lpips clamps the lin weights to >= 0 while training
                zeros += v == 0.0f;
                mx = std::max(mx, v);
            }
            BOOST_TEST(zeros > 0);  // clamped channels are exactly 0
            BOOST_TEST_MESSAGE(keys[k] << ": max " << mx << ", " << zeros << " zeros of " << chans[k]);
        }
    }
    // Exact values, as torch.load reads them (torch 1.13).
    auto bits = [](float v) { return std::bit_cast<std::uint32_t>(v); };
    BOOST_TEST(bits(w[0](0, 1, 0, 0)) == 0x3e170a91u);   // 0.14750124514102936
    BOOST_TEST(bits(w[0](0, 60, 0, 0)) == bits(0.4921388626098633f));  // the max of lin0
    BOOST_TEST(w[1](0, 0, 0, 0) == 0.0f);
    BOOST_TEST(bits(w[1](0, 191, 0, 0)) == 0x3f22e104u);  // 0.6362459659576416
    BOOST_TEST(bits(w[2](0, 1, 0, 0)) == 0x3e8ab5cbu);    // 0.27091822028160095
    BOOST_TEST(bits(w[3](0, 255, 0, 0)) == 0x3dd073dau);  // 0.10178346931934357
    BOOST_TEST(bits(w[4](0, 0, 0, 0)) == 0x3e45a651u);    // 0.19301725924015045
    double sum4 = 0;
    for (index_t i = 0; i < 256; ++i) sum4 += w[4].data()[i];
    BOOST_TEST(std::abs(sum4 - 20.317176818847656) < 1e-4);

    // The golden case written by the lpips package holds these very weights, and the model
    // with alex.pth bound through the published lin layout matches the package's numbers.
    Lpips<> m;
    io::WeightStore case_store(real_case / "weights.safetensors");  // lin; the trunk is shared
    case_store.add_file(real_case / "../alexnet_trunk_f16.safetensors");
    m.load(case_store);
    for (std::size_t k = 0; k < 5; ++k)
        BOOST_TEST(std::memcmp(m.lin_weight(k).data(), w[k].data(), std::size_t(chans[k]) * 4) == 0);
    io::Binder b(store);
    m.bind_lin(b);
    b.finish();
    const io::SafetensorsReader io(real_case / "io.safetensors");
    const auto x0 = io.load<float, 4>("x0");
    const auto x1 = io.load<float, 4>("x1");
    const auto want_d = io.load<float, 1>("d");
    const auto r2 = m.evaluate(x0.view(), x1.view());
    std::vector<double> want(want_d.data(), want_d.data() + want_d.size());
    const double err = rel_l2(r2.distance, want);
    BOOST_TEST_MESSAGE("real alex.pth + real_lin_64x64 trunk vs the lpips package: rel-L2 " << err);
    BOOST_TEST(err <= 1e-6);
}

BOOST_AUTO_TEST_SUITE_END()
