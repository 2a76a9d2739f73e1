// Noise sources: PyTorch's CPU randn bit for bit (golden rng.torch_cpu cases and the
// recorded noise streams of the sampler/refine cases), state continuity across draws,
// the counter-based Philox generator, recorded noise and the type-erased wrapper.
#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cascadev/core.hpp"
#include "cascadev/diffusion/noise.hpp"
#include "cascadev/io/safetensors.hpp"
#include "../common/omp_threads.hpp"
#include "../common/temp_dir.hpp"

using namespace cascadev;
using namespace cascadev::diffusion;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path golden_components = fs::path(CASCADEV_TEST_DATA_DIR "/../../shared/golden/components");

std::vector<fs::path> case_dirs(const std::string& component) {
    std::vector<fs::path> v;
    const fs::path root = golden_components / component;
    if (!fs::is_directory(root)) return v;
    for (const auto& e : fs::directory_iterator(root))
        if (e.is_directory() && fs::exists(e.path() / "case.json")) v.push_back(e.path());
    std::sort(v.begin(), v.end());
    return v;
}

json read_json(const fs::path& p) {
    std::ifstream f(p);
    return json::parse(f);
}

/// A stored float32 tensor as a flat vector (any rank).
std::vector<float> load_flat(const io::SafetensorsReader& r, const std::string& name) {
    const auto& info = r.info(name);
    BOOST_REQUIRE(info.dtype == DType::F32);
    std::vector<float> v(std::size_t(info.numel()));
    const auto b = r.bytes(name);
    std::memcpy(v.data(), b.data(), b.size());
    return v;
}

/// Number of elements whose bit patterns differ (reports the first).
std::size_t bit_mismatches(const float* got, const float* want, std::size_t n, const std::string& what) {
    std::size_t bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::uint32_t a, b;
        std::memcpy(&a, got + i, 4);
        std::memcpy(&b, want + i, 4);
        if (a != b) {
            if (bad == 0)
                BOOST_TEST_MESSAGE(what << ": first mismatch at " << i << ": got " << got[i] << " want " << want[i]);
            ++bad;
        }
    }
    return bad;
}

std::vector<float> torch_randn(std::uint64_t seed, std::size_t n) {
    TorchCpuGenerator g(seed);
    std::vector<float> v(n);
    g.randn(v.data(), n);
    return v;
}

std::vector<float> draw(TorchCpuGenerator& g, std::size_t n) {
    std::vector<float> v(n);
    g.randn(v.data(), n);
    return v;
}

/// The golden rng case `name` (seed, x), or nothing when the golden data is absent.
bool load_rng_case(const std::string& name, std::vector<float>& x) {
    const fs::path d = golden_components / "rng.torch_cpu" / name;
    if (!fs::exists(d / "io.safetensors")) {
        BOOST_TEST_MESSAGE("golden case " << d << " not found: skipped");
        return false;
    }
    io::SafetensorsReader r(d / "io.safetensors");
    x = load_flat(r, "x");
    return true;
}

struct TempDir : cascadev::testing::TempDir {
    TempDir() : cascadev::testing::TempDir("cascadev-noise-test") {}
};

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(noise)

// ---------------------------------------------------------------- PyTorch's CPU randn

BOOST_AUTO_TEST_CASE(torch_cpu_golden_cases_bit_exact) {
    const auto dirs = case_dirs("rng.torch_cpu");
    if (dirs.empty()) {
        BOOST_TEST_MESSAGE("no golden rng.torch_cpu cases under " << golden_components << ": skipped");
        return;
    }
    for (const auto& d : dirs) {
        BOOST_TEST_CONTEXT("case " << d.filename().string()) {
            const json c = read_json(d / "case.json");
            const std::uint64_t seed = c["params"]["seed"].get<std::uint64_t>();
            std::vector<index_t> shape;
            for (const auto& s : c["params"]["shape"]) shape.push_back(s.get<index_t>());
            io::SafetensorsReader r(d / c.value("io", std::string("io.safetensors")));
            BOOST_TEST(r.info("x").shape == shape);
            const auto want = load_flat(r, "x");

            // The primitive (what samplers call through fill_noise / draw_noise).
            TorchCpuGenerator g(seed);
            std::vector<float> got(want.size());
            g.fill(got.data(), std::span<const index_t>(shape));
            const std::size_t bad = bit_mismatches(got.data(), want.data(), want.size(), d.filename().string());
            BOOST_TEST(bad == 0u, d.filename().string() << ": " << bad << " of " << want.size()
                                                        << " values differ in their bits");
            BOOST_TEST_MESSAGE("rng.torch_cpu/" << d.filename().string() << ": " << want.size() - bad << "/"
                                                << want.size() << " bit-exact");
        }
    }
}

BOOST_AUTO_TEST_CASE(torch_cpu_known_values) {
    // Values PyTorch prints (4 decimals), independent of the golden data:
    // torch.manual_seed(0); torch.randn(2, 3) and torch.manual_seed(42); torch.randn(2, 3).
    const std::array<float, 6> s0{1.5410f, -0.2934f, -2.1788f, 0.5684f, -1.0845f, -1.3986f};
    const std::array<float, 6> s42{0.3367f, 0.1288f, 0.2345f, 0.2303f, -1.1229f, -0.1863f};
    const auto a = torch_randn(0, 6), b = torch_randn(42, 6);
    for (std::size_t i = 0; i < 6; ++i) {
        BOOST_TEST(std::abs(a[i] - s0[i]) < 6e-5f);
        BOOST_TEST(std::abs(b[i] - s42[i]) < 6e-5f);
    }
    // Only the low 32 bits of the seed reach the engine.
    BOOST_TEST(torch_randn(4294967301ull, 37) == torch_randn(5, 37));
}

BOOST_AUTO_TEST_CASE(torch_cpu_engine_is_mt19937) {
    TorchCpuGenerator g(5489);
    for (int i = 0; i < 9999; ++i) g.random();
    BOOST_TEST(g.random() == 4123659995u);  // the C++ standard's check value for mt19937
}

BOOST_AUTO_TEST_CASE(torch_cpu_state_continuity_small_draws) {
    // Draws of fewer than 16 values share the cached second normal: 3 + 4 == 7, 7 + 8 == 15.
    for (std::uint64_t seed : {0ull, 42ull, 7ull}) {
        TorchCpuGenerator g(seed);
        auto a = draw(g, 3);
        BOOST_TEST(g.has_cached_normal());
        auto b = draw(g, 4);
        a.insert(a.end(), b.begin(), b.end());
        BOOST_TEST(bit_mismatches(a.data(), torch_randn(seed, 7).data(), 7, "3+4") == 0u);

        TorchCpuGenerator h(seed);
        auto c = draw(h, 7);
        auto e = draw(h, 8);
        c.insert(c.end(), e.begin(), e.end());
        BOOST_TEST(bit_mismatches(c.data(), torch_randn(seed, 15).data(), 15, "7+8") == 0u);
    }
    // manual_seed clears the cache.
    TorchCpuGenerator g(42);
    draw(g, 3);
    g.manual_seed(42);
    BOOST_TEST(!g.has_cached_normal());
    BOOST_TEST(draw(g, 7) == torch_randn(42, 7));
}

BOOST_AUTO_TEST_CASE(torch_cpu_state_continuity_against_golden) {
    // Successive draws on one generator, checked against single torch draws recorded in
    // the golden cases (seed 42): the n = 8000 case s42_refine consumes outputs 0..7999
    // in blocks of 16, s42_n15 holds the small path's values 0..14, s42_n17's last 16
    // values come from outputs 17..32.
    std::vector<float> refine, n15, n17;
    if (!load_rng_case("s42_refine", refine) || !load_rng_case("s42_n15", n15) || !load_rng_case("s42_n17", n17))
        return;
    BOOST_REQUIRE(refine.size() == 8000u);

    {  // 7 values (4 pairs = 16 outputs, one normal cached), then 20, then 1 (the cached one).
        TorchCpuGenerator g(42);
        auto a = draw(g, 7);
        BOOST_TEST(bit_mismatches(a.data(), n15.data(), 7, "7") == 0u);
        auto b = draw(g, 20);  // outputs 16..35, last 16 recomputed from 36..51
        BOOST_TEST(bit_mismatches(b.data(), refine.data() + 16, 4, "7 then 20, head") == 0u);
        auto c = draw(g, 1);  // the large path did not touch the cache
        BOOST_TEST(bit_mismatches(c.data(), n15.data() + 7, 1, "7, 20, then 1") == 0u);
        BOOST_TEST(!g.has_cached_normal());
    }
    {  // 7, then 16 (outputs 16..31 = block 1 of the 8000 draw), then 1 (cached).
        TorchCpuGenerator g(42);
        draw(g, 7);
        auto b = draw(g, 16);
        BOOST_TEST(bit_mismatches(b.data(), refine.data() + 16, 16, "7 then 16") == 0u);
        auto c = draw(g, 1);
        BOOST_TEST(bit_mismatches(c.data(), n15.data() + 7, 1, "7, 16, then 1") == 0u);
    }
    {  // 16 + 16 + 7968 (all multiples of 16) == one draw of 8000.
        TorchCpuGenerator g(42);
        std::vector<float> all;
        for (std::size_t n : {16u, 16u, 7968u}) {
            auto v = draw(g, n);
            all.insert(all.end(), v.begin(), v.end());
        }
        BOOST_TEST(bit_mismatches(all.data(), refine.data(), 8000, "16+16+7968") == 0u);
    }
    {  // 16 values, one raw engine output, then 16 = the recomputed tail of the n = 17 draw.
        TorchCpuGenerator g(42);
        draw(g, 16);
        g.random();
        auto b = draw(g, 16);
        BOOST_TEST(bit_mismatches(b.data(), n17.data() + 1, 16, "16, skip 1, 16") == 0u);
    }
}

BOOST_AUTO_TEST_CASE(torch_cpu_recorded_streams_of_sampler_cases) {
    // The sampler and refine cases record every tensor drawn, in order, from one
    // torch generator: noise_0, noise_1, ... must come out of one TorchCpuGenerator
    // draw after draw (the analytic cases also draw x_ref with seed * 7 + 1).
    std::size_t cases = 0, tensors = 0;
    const std::regex seed_re(R"(manual_seed\((\d+)\))"), dit_re(R"(random tiny DiT \(seed (\d+)\))");
    for (const std::string comp : {"sampler.euler_a", "sampler.ddim", "sampler.dpms", "refine"}) {
        for (const auto& d : case_dirs(comp)) {
            const json c = read_json(d / "case.json");
            const std::string note = c.value("note", std::string());
            std::smatch m;
            std::uint64_t seed;
            if (std::regex_search(note, m, seed_re))
                seed = std::stoull(m[1]);
            else if (comp != "refine" && std::regex_search(note, m, dit_re))
                seed = std::stoull(m[1]);  // cases_samplers.py: the noise uses the DiT's seed
            else
                continue;
            BOOST_TEST_CONTEXT(comp << "/" << d.filename().string() << " (seed " << seed << ")") {
                io::SafetensorsReader r(d / c.value("io", std::string("io.safetensors")));
                TorchCpuGenerator g(seed);
                std::size_t k = 0;
                for (; r.contains("noise_" + std::to_string(k)); ++k) {
                    const std::string key = "noise_" + std::to_string(k);
                    const auto want = load_flat(r, key);
                    const auto& shape = r.info(key).shape;
                    auto got = g.next(DExtents<4>::from_dims(std::span<const index_t>(shape)));
                    BOOST_TEST(bit_mismatches(got.data(), want.data(), want.size(), key) == 0u);
                    ++tensors;
                }
                BOOST_TEST(k > 0u);
                if (c["params"].value("model", std::string()) == "analytic") {
                    const auto want = load_flat(r, "x_ref");
                    const auto got = torch_randn(seed * 7 + 1, want.size());
                    BOOST_TEST(bit_mismatches(got.data(), want.data(), want.size(), "x_ref") == 0u);
                    ++tensors;
                }
                ++cases;
            }
        }
    }
    BOOST_TEST_MESSAGE("recorded torch noise streams: " << cases << " cases, " << tensors << " tensors");
}

BOOST_AUTO_TEST_CASE(torch_cpu_views_and_tensors) {
    // A strided view is filled in row-major logical order, as one torch.randn(shape).
    Tensor<float, DExtents<2>> t(5, 4);
    auto v = t.view().permute<1, 0>();  // [4, 5], not contiguous
    BOOST_REQUIRE(!v.is_contiguous());
    TorchCpuGenerator g(3);
    g.fill(v);
    const auto want = torch_randn(3, 20);
    for (index_t i = 0; i < 4; ++i)
        for (index_t j = 0; j < 5; ++j) BOOST_TEST(v(i, j) == want[std::size_t(i * 5 + j)]);

    TorchCpuGenerator h(3);
    auto x = h.next(std::array<index_t, 3>{2, 2, 5});
    BOOST_TEST(std::vector<float>(x.data(), x.data() + 20) == want);

    TorchCpuGenerator k(3);
    Tensor<float, Extents<20>> s;
    k.fill(s);
    BOOST_TEST(std::vector<float>(s.data(), s.data() + 20) == want);

    TorchCpuGenerator z(3);
    std::vector<float> none;
    z.randn(none.data(), 0);  // torch.randn(0) draws nothing
    BOOST_TEST(draw(z, 20) == want);
}

// ---------------------------------------------------------------- Philox

BOOST_AUTO_TEST_CASE(philox_known_answers) {
    // Random123's kat_vectors for Philox4x32-10.
    using A4 = std::array<std::uint32_t, 4>;
    BOOST_TEST((philox4x32_10({0, 0, 0, 0}, {0, 0}) == A4{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
    BOOST_TEST((philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}) ==
                A4{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
    BOOST_TEST((philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}) ==
                A4{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

BOOST_AUTO_TEST_CASE(philox_independent_of_threads_and_partition) {
    const std::size_t n = (1u << 18) + 37;  // above the parallel threshold, odd
    auto run = [&](int threads) {
        return cascadev::testing::with_omp_threads(threads, [&] {
            PhiloxGenerator g(1234, 0, 5);  // odd starting offset: draws start mid-pair
            std::vector<float> v(n);
            g.randn(v.data(), n);
            BOOST_TEST(g.offset() == 5 + n);
            return v;
        });
    };
    const auto one = run(1), two = run(2), three = run(3);
    BOOST_TEST(bit_mismatches(one.data(), two.data(), n, "1 vs 2 threads") == 0u);
    BOOST_TEST(bit_mismatches(one.data(), three.data(), n, "1 vs 3 threads") == 0u);

    // Cut into draws differently: the same stream.
    PhiloxGenerator g(1234, 0, 5);
    std::vector<float> parts;
    for (std::size_t m : {std::size_t(1), std::size_t(6), std::size_t(1000), n - 1007}) {
        auto t = g.next(std::array<index_t, 1>{index_t(m)});
        parts.insert(parts.end(), t.data(), t.data() + m);
    }
    BOOST_TEST(bit_mismatches(parts.data(), one.data(), n, "partitioned draws") == 0u);
    // Random access.
    for (std::size_t i : {std::size_t(0), std::size_t(1), std::size_t(777), n - 1})
        BOOST_TEST(PhiloxGenerator::normal_at(1234, 0, 5 + i) == one[i]);
}

BOOST_AUTO_TEST_CASE(philox_statistics) {
    // n = 2^20 standard normals. Bounds at 6 standard errors of each estimator (so a
    // correct generator fails with probability ~1e-9; the draw is seeded, so the test
    // is deterministic): mean sd 1/sqrt(n), variance sd sqrt(2/n), E[z^4] = 3 with
    // sd sqrt(96/n), P(|z| < 1) = 0.682689 with sd sqrt(p(1-p)/n), lag-1 correlation sd
    // 1/sqrt(n) (catches a dependence between the cos and sin halves of a pair).
    const std::size_t n = 1u << 20;
    PhiloxGenerator g(20240607);
    std::vector<float> v(n);
    g.randn(v.data(), n);
    double s1 = 0, s2 = 0, s4 = 0, lag = 0, inside = 0, mx = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double z = v[i];
        s1 += z;
        s2 += z * z;
        s4 += z * z * z * z;
        if (std::abs(z) < 1) inside += 1;
        if (i + 1 < n) lag += z * double(v[i + 1]);
        mx = std::max(mx, std::abs(z));
        BOOST_REQUIRE(std::isfinite(z));
    }
    const double dn = double(n);
    const double mean = s1 / dn, var = s2 / dn - mean * mean, k4 = s4 / dn, p1 = inside / dn;
    const double p = 0.682689492137;
    BOOST_TEST(std::abs(mean) < 6 / std::sqrt(dn));
    BOOST_TEST(std::abs(var - 1) < 6 * std::sqrt(2 / dn));
    BOOST_TEST(std::abs(k4 - 3) < 6 * std::sqrt(96 / dn));
    BOOST_TEST(std::abs(p1 - p) < 6 * std::sqrt(p * (1 - p) / dn));
    BOOST_TEST(std::abs(lag / dn) < 6 / std::sqrt(dn));
    BOOST_TEST(mx > 4.0);  // 2^20 draws reach beyond 4 sigma (P(max < 4) ~ e^-66)
    BOOST_TEST(mx < 9.0);
}

BOOST_AUTO_TEST_CASE(philox_seeds_and_streams_differ) {
    const std::size_t n = 4096;
    auto get = [&](std::uint64_t seed, std::uint64_t stream) {
        PhiloxGenerator g(seed, stream);
        std::vector<float> v(n);
        g.randn(v.data(), n);
        return v;
    };
    const auto a = get(1, 0), b = get(2, 0), c = get(1, 1), d = get(1ull << 32 | 1, 0), a2 = get(1, 0);
    BOOST_TEST(a == a2);
    for (const auto* o : {&b, &c, &d}) {
        std::size_t same = 0;
        for (std::size_t i = 0; i < n; ++i) same += (a[i] == (*o)[i]);
        BOOST_TEST(same < 5u);
    }
}

// ---------------------------------------------------------------- recorded noise

BOOST_AUTO_TEST_CASE(recorded_noise_in_order_with_checks) {
    TempDir tmp;
    const fs::path file = tmp / "noise.safetensors";
    Tensor<float, DExtents<2>> n0(2, 3);
    Tensor<float, DExtents<1>> n1(4);
    Tensor<float, DExtents<3>> n2(1, 2, 2);
    for (index_t i = 0; i < n0.size(); ++i) n0.data()[i] = float(i) + 0.5f;
    for (index_t i = 0; i < n1.size(); ++i) n1.data()[i] = -float(i);
    for (index_t i = 0; i < n2.size(); ++i) n2.data()[i] = 10.0f + float(i);
    {
        io::SafetensorsWriter w;
        w.add("noise_2", n2);  // written in name order anyway; reading goes by index
        w.add("noise_0", n0);
        w.add("noise_1", n1);
        w.add("x_ref", n1);
        w.write(file);
    }
    RecordedNoise rec(file);
    BOOST_TEST(rec.count() == 3u);
    BOOST_TEST(rec.next_key() == "noise_0");

    Tensor<float, DExtents<2>> a(2, 3);
    rec.fill(a);
    BOOST_TEST(std::vector<float>(a.data(), a.data() + 6) == std::vector<float>(n0.data(), n0.data() + 6));
    auto b = draw_noise(rec, DExtents<1>(4));
    BOOST_TEST(std::vector<float>(b.data(), b.data() + 4) == std::vector<float>(n1.data(), n1.data() + 4));
    BOOST_TEST(rec.position() == 2u);

    // Wrong shape: names the file, the key and both shapes; the position stays.
    auto wrong_shape = [&](const Error& e) {
        const std::string w = e.what();
        return contains(w, file.string()) && contains(w, "\"noise_2\"") && contains(w, "[1, 2, 2]") &&
               contains(w, "[2, 2]");
    };
    BOOST_CHECK_EXCEPTION(rec.next(std::array<index_t, 2>{2, 2}), Error, wrong_shape);
    BOOST_CHECK_EXCEPTION(rec.next(std::array<index_t, 3>{1, 4, 1}), Error,
                          [&](const Error& e) { return contains(e.what(), "\"noise_2\""); });
    BOOST_TEST(rec.position() == 2u);

    // A strided destination.
    Tensor<float, DExtents<3>> c(2, 2, 1);
    auto cv = c.view().permute<2, 0, 1>();  // [1, 2, 2]
    rec.fill(cv);
    BOOST_TEST(cv(0, 0, 1) == 11.0f);
    BOOST_TEST(cv(0, 1, 0) == 12.0f);
    BOOST_TEST(rec.remaining() == 0u);

    // Missing key: names the file and the key.
    auto missing = [&](const Error& e) {
        const std::string w = e.what();
        return contains(w, file.string()) && contains(w, "\"noise_3\"") && contains(w, "missing");
    };
    BOOST_CHECK_EXCEPTION(rec.next(std::array<index_t, 1>{4}), Error, missing);

    rec.rewind();
    auto again = rec.next(std::array<index_t, 2>{2, 3});
    BOOST_TEST(again(1, 2) == 5.5f);

    // Another prefix, and a shared reader.
    auto reader = std::make_shared<const io::SafetensorsReader>(file);
    RecordedNoise other(reader, "x_ref");
    BOOST_CHECK_EXCEPTION(other.next(std::array<index_t, 1>{4}), Error,
                          [](const Error& e) { return contains(e.what(), "\"x_ref0\""); });
}

BOOST_AUTO_TEST_CASE(recorded_noise_golden_sampler_case) {
    const fs::path d = golden_components / "sampler.euler_a" / "analytic_s2";
    if (!fs::exists(d / "io.safetensors")) {
        BOOST_TEST_MESSAGE(d << " not found: skipped");
        return;
    }
    // Recorded and regenerated noise agree (seed 12 for this case).
    RecordedNoise rec(d / "io.safetensors");
    TorchCpuGenerator gen(12);
    BOOST_TEST(rec.count() == 3u);
    for (int k = 0; k < 3; ++k) {
        auto a = rec.next(std::array<index_t, 4>{3, 4, 6, 5});
        auto b = gen.next(std::array<index_t, 4>{3, 4, 6, 5});
        BOOST_TEST(bit_mismatches(a.data(), b.data(), std::size_t(a.size()), "noise") == 0u);
    }
}

// ---------------------------------------------------------------- type erasure

namespace {
/// A sampler-like consumer: a template over the source.
template <NoiseSource S>
std::vector<float> two_draws(S& src) {
    Tensor<float, DExtents<2>> a(3, 7);
    fill_noise(src, a.view());
    auto b = draw_noise(src, DExtents<1>(5));
    std::vector<float> v(a.data(), a.data() + 21);
    v.insert(v.end(), b.data(), b.data() + 5);
    return v;
}
}  // namespace

BOOST_AUTO_TEST_CASE(any_noise_wraps_every_source) {
    TorchCpuGenerator t(9);
    PhiloxGenerator p(9);
    AnyNoise at = TorchCpuGenerator(9);
    AnyNoise ap = PhiloxGenerator(9);
    BOOST_TEST(two_draws(at) == two_draws(t));
    BOOST_TEST(two_draws(ap) == two_draws(p));
    BOOST_TEST(at.target<TorchCpuGenerator>() != nullptr);
    BOOST_TEST(at.target<PhiloxGenerator>() == nullptr);
    BOOST_TEST(ap.target<PhiloxGenerator>()->offset() == 26u);

    TempDir tmp;
    Tensor<float, DExtents<1>> z(3);
    z.data()[1] = 7.0f;
    io::SafetensorsWriter w;
    w.add("noise_0", z);
    w.write(tmp / "n.safetensors");
    AnyNoise ar = RecordedNoise(tmp / "n.safetensors");
    auto got = ar.next(std::array<index_t, 1>{3});
    BOOST_TEST(got(1) == 7.0f);
    BOOST_CHECK_THROW(ar.next(std::array<index_t, 1>{3}), Error);
}

BOOST_AUTO_TEST_SUITE_END()
