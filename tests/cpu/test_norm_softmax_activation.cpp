// LayerNorm, GroupNorm, softmax and activations against naive double-precision loops.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cascadev/backend/cpu/activation.hpp"
#include "cascadev/backend/cpu/norm.hpp"
#include "cascadev/backend/cpu/softmax.hpp"
#include "../common/omp_threads.hpp"

using namespace cascadev;

namespace {

using T1 = Tensor<float, DExtents<1>>;
using T2 = Tensor<float, DExtents<2>>;
using T3 = Tensor<float, DExtents<3>>;

template <class TT>
void randomize(TT& t, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
    std::uniform_real_distribution<float> d(lo, hi);
    for (index_t i = 0; i < t.size(); ++i) t.data()[i] = d(rng);
}

template <class F>
void expect_error_naming(F&& f, std::initializer_list<const char*> parts) {
    try {
        f();
        BOOST_FAIL("expected cascadev::Error");
    } catch (const Error& e) {
        const std::string m = e.what();
        for (const char* p : parts) BOOST_TEST(m.find(p) != std::string::npos, "message \"" << m << "\" names " << p);
    }
}

// The norms compute in double from the float inputs, exactly as the reference does, and
// round once to float at the end: they agree to about 1 ulp of the output. Outputs are
// normalised (|y| ~ a few units times the weight), so we allow 4 ulp relative to max(1, |y|).
double norm_tol(double ref) { return 4.0 * FLT_EPSILON * std::max(1.0, std::abs(ref)); }

/// Reference LayerNorm of a row-major [rows, C] list of rows given as a gather function.
template <class X, class W, class B, class Y>
void check_layer_norm(index_t rows, index_t C, X x, W w, B b, Y y, double eps) {
    for (index_t r = 0; r < rows; ++r) {
        double mean = 0;
        for (index_t c = 0; c < C; ++c) mean += x(r, c);
        mean /= double(C);
        double var = 0;
        for (index_t c = 0; c < C; ++c) var += (x(r, c) - mean) * (x(r, c) - mean);
        var /= double(C);  // biased, as PyTorch
        for (index_t c = 0; c < C; ++c) {
            const double ref = (x(r, c) - mean) / std::sqrt(var + eps) * w(c) + b(c);
            const double got = y(r, c);
            if (!(std::abs(got - ref) <= norm_tol(ref)))
                BOOST_FAIL("layer_norm mismatch at row " << r << " col " << c << ": got " << got << ", want " << ref);
        }
    }
    BOOST_TEST(true);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cpu_norm_softmax_activation)

BOOST_AUTO_TEST_CASE(layer_norm_affine_and_plain) {
    std::mt19937 rng(314);
    const index_t shapes[][2] = {{1, 1}, {5, 7}, {3, 64}, {3, 1000}, {257, 129}};
    for (const auto& s : shapes) {
        const index_t R = s[0], C = s[1];
        T2 x(R, C), y(R, C), y2(R, C);
        T1 w(C), b(C);
        // Offset inputs (mean 100, spread 1): a one-pass E[x^2] - E[x]^2 in float would fail.
        randomize(x, rng, 99.f, 101.f);
        randomize(w, rng, 0.5f, 1.5f);
        randomize(b, rng);
        const auto xv = x.view();
        layer_norm(x, w, b, y, 1e-5);
        check_layer_norm(R, C, [&](index_t r, index_t c) { return double(xv(r, c)); },
                         [&](index_t c) { return double(w(c)); }, [&](index_t c) { return double(b(c)); },
                         [&](index_t r, index_t c) { return double(y(r, c)); }, 1e-5);
        layer_norm(x, y2, 1e-6);  // elementwise_affine=False
        check_layer_norm(R, C, [&](index_t r, index_t c) { return double(xv(r, c)); },
                         [](index_t) { return 1.0; }, [](index_t) { return 0.0; },
                         [&](index_t r, index_t c) { return double(y2(r, c)); }, 1e-6);
    }
}

BOOST_AUTO_TEST_CASE(layer_norm_strided_rank3_and_in_place) {
    std::mt19937 rng(2718);
    for (const auto& d : std::vector<std::array<index_t, 3>>{{2, 3, 5}, {4, 9, 33}, {3, 50, 70}}) {
        // x [d0, d1, C] as a permutation of a stored [C, d0, d1]: the normalised dim has stride d0*d1.
        T3 store(d[2], d[0], d[1]);
        randomize(store, rng, -3.f, 5.f);
        const auto x = store.view().permute<1, 2, 0>();
        // y is also permuted differently: stored [d1, C, d0].
        T3 ystore(d[1], d[2], d[0]);
        const auto y = ystore.view().permute<2, 0, 1>();
        T1 w(d[2]), b(d[2]);
        randomize(w, rng);
        randomize(b, rng);
        layer_norm(x, w, b, y);
        const index_t rows = d[0] * d[1];
        auto at = [](const auto& v, index_t d1) {
            return [&v, d1](index_t r, index_t c) { return double(v(r / d1, r % d1, c)); };
        };
        check_layer_norm(rows, d[2], at(x, d[1]), [&](index_t c) { return double(w(c)); },
                         [&](index_t c) { return double(b(c)); }, at(y, d[1]), 1e-5);
        // In place on the permuted view itself.
        const T3 saved = store.clone();
        const auto sv = saved.view().permute<1, 2, 0>();
        layer_norm(x, w, b, x);
        check_layer_norm(rows, d[2], at(sv, d[1]), [&](index_t c) { return double(w(c)); },
                         [&](index_t c) { return double(b(c)); }, at(x, d[1]), 1e-5);
    }
}

BOOST_AUTO_TEST_CASE(layer_norm_mismatch) {
    T2 x(4, 8), y(4, 8), y_bad(4, 9);
    T1 w(8), w_bad(7);
    expect_error_naming([&] { layer_norm(x, w_bad, w, y); }, {"[4, 8]", "[7]"});
    expect_error_naming([&] { layer_norm(x, y_bad); }, {"[4, 8]", "[4, 9]"});
    // Static widths agree: compiles and runs.
    Tensor<float, Extents<dyn, 8>> xs(4);
    Tensor<float, Extents<8>> ws, bs;
    layer_norm(xs, ws, bs, xs);
}

BOOST_AUTO_TEST_CASE(group_norm_matches_reference) {
    std::mt19937 rng(1618);
    struct Case { std::vector<index_t> shape; index_t groups; };
    const std::vector<Case> cases = {
        {{2, 6, 5}, 3}, {{1, 32, 3, 4, 5}, 8}, {{2, 4}, 2}, {{1, 8, 17, 19}, 1}, {{3, 12, 7, 1, 9}, 12}, {{2, 64, 4, 16, 16}, 32}};
    for (const auto& c : cases) {
        const index_t N = c.shape[0], C = c.shape[1], G = c.groups;
        index_t S = 1;
        for (std::size_t k = 2; k < c.shape.size(); ++k) S *= c.shape[k];
        // Run on rank-3 [N, C, S] views of rank-k data: GroupNorm only sees channels and a flat spatial block.
        // (Higher ranks with strided spatial dims are covered in group_norm_strided_5d below.)
        T3 x(N, C, S), y(N, C, S), y2(N, C, S);
        T1 w(C), b(C);
        randomize(x, rng, -10.f, 30.f);
        randomize(w, rng);
        randomize(b, rng);
        group_norm(x, G, w, b, y);
        group_norm(x, G, y2, 1e-6);
        const index_t Cg = C / G;
        for (index_t n = 0; n < N; ++n)
            for (index_t g = 0; g < G; ++g) {
                double mean = 0, var = 0;
                for (index_t ch = g * Cg; ch < (g + 1) * Cg; ++ch)
                    for (index_t s = 0; s < S; ++s) mean += x(n, ch, s);
                mean /= double(Cg * S);
                for (index_t ch = g * Cg; ch < (g + 1) * Cg; ++ch)
                    for (index_t s = 0; s < S; ++s) var += (x(n, ch, s) - mean) * (x(n, ch, s) - mean);
                var /= double(Cg * S);
                for (index_t ch = g * Cg; ch < (g + 1) * Cg; ++ch)
                    for (index_t s = 0; s < S; ++s) {
                        const double z = (x(n, ch, s) - mean);
                        const double ref = z / std::sqrt(var + 1e-5) * w(ch) + b(ch);
                        const double ref2 = z / std::sqrt(var + 1e-6);
                        if (!(std::abs(y(n, ch, s) - ref) <= norm_tol(ref)) || !(std::abs(y2(n, ch, s) - ref2) <= norm_tol(ref2)))
                            BOOST_FAIL("group_norm mismatch at (" << n << ", " << ch << ", " << s << ")");
                    }
            }
    }
    BOOST_TEST(true);
}

BOOST_AUTO_TEST_CASE(group_norm_strided_5d) {
    std::mt19937 rng(55);
    const index_t N = 2, C = 8, T = 3, H = 5, W = 7, G = 4;
    using T5 = Tensor<float, DExtents<5>>;
    // x [N, C, T, H, W] as a permutation of a stored [N, T, H, W, C] (channels-last).
    T5 store(N, T, H, W, C), ystore(N, C, T, H, W);
    randomize(store, rng, -2.f, 6.f);
    const auto x = store.view().permute<0, 4, 1, 2, 3>();
    T1 w(C), b(C);
    randomize(w, rng);
    randomize(b, rng);
    group_norm(x, G, w, b, ystore);
    // Reference through the contiguous copy.
    const auto xc = contiguous_copy(x);
    const index_t S = T * H * W, Cg = C / G;
    const float* xd = xc.data();
    const float* yd = ystore.data();
    for (index_t n = 0; n < N; ++n)
        for (index_t g = 0; g < G; ++g) {
            const float* xb = xd + (n * C + g * Cg) * S;
            double mean = 0, var = 0;
            for (index_t i = 0; i < Cg * S; ++i) mean += xb[i];
            mean /= double(Cg * S);
            for (index_t i = 0; i < Cg * S; ++i) var += (xb[i] - mean) * (xb[i] - mean);
            var /= double(Cg * S);
            for (index_t i = 0; i < Cg * S; ++i) {
                const index_t ch = g * Cg + i / S;
                const double ref = (xb[i] - mean) / std::sqrt(var + 1e-5) * w(ch) + b(ch);
                BOOST_TEST(std::abs(yd[(n * C + g * Cg) * S + i] - ref) <= norm_tol(ref));
            }
        }
}

BOOST_AUTO_TEST_CASE(group_norm_mismatch) {
    T3 x(2, 6, 5), y(2, 6, 5), y_bad(2, 6, 4);
    T1 w(6), w_bad(5);
    expect_error_naming([&] { group_norm(x, 4, y); }, {"6 channels", "[2, 6, 5]", "4 groups"});
    expect_error_naming([&] { group_norm(x, 3, w_bad, w, y); }, {"[2, 6, 5]", "[5]"});
    expect_error_naming([&] { group_norm(x, 3, y_bad); }, {"[2, 6, 5]", "[2, 6, 4]"});
}

BOOST_AUTO_TEST_CASE(softmax_matches_reference) {
    std::mt19937 rng(4242);
    const index_t shapes[][2] = {{1, 1}, {3, 7}, {10, 33}, {4, 1000}, {300, 257}};
    for (const auto& s : shapes)
        for (float spread : {1.f, 30.f, 1000.f}) {  // 1000: exp() without the max would overflow
            const index_t R = s[0], C = s[1];
            T2 x(R, C), y(R, C);
            randomize(x, rng, -spread, spread);
            if (C > 2) x(0, 1) = -std::numeric_limits<float>::infinity();  // a masked entry -> exactly 0
            softmax(x, y);
            for (index_t r = 0; r < R; ++r) {
                double mx = -INFINITY, sum = 0;
                for (index_t c = 0; c < C; ++c) mx = std::max(mx, double(x(r, c)));
                for (index_t c = 0; c < C; ++c) sum += std::exp(double(x(r, c)) - mx);
                for (index_t c = 0; c < C; ++c) {
                    const double d = double(x(r, c)) - mx;
                    const double ref = std::exp(d) / sum;
                    // Float rounding of (x - max) is <= |x - max| * u, which exp turns into a
                    // relative error of the same size; exp, the product and the sum add a few ulp.
                    // (A masked entry: d = -inf, ref = 0, and the result must be exactly 0.)
                    const double tol = std::isfinite(d) ? (4.0 + std::abs(d)) * FLT_EPSILON * ref + 1e-37 : 0.0;
                    if (!(std::abs(y(r, c) - ref) <= tol))
                        BOOST_FAIL("softmax mismatch at (" << r << ", " << c << "): got " << y(r, c) << ", want " << ref);
                }
            }
        }
    BOOST_TEST(true);
}

BOOST_AUTO_TEST_CASE(softmax_strided_and_in_place) {
    std::mt19937 rng(9);
    // x [4, 6, 11] as a permutation of a stored [11, 4, 6]: the softmax dim has stride 24.
    T3 store(11, 4, 6);
    randomize(store, rng, -5.f, 5.f);
    const auto x = store.view().permute<1, 2, 0>();
    const auto xc = contiguous_copy(x);
    T3 y(4, 6, 11);
    softmax(x, y);
    softmax_inplace(x);
    for (index_t i = 0; i < 4; ++i)
        for (index_t j = 0; j < 6; ++j) {
            double sum = 0, mx = -INFINITY;
            for (index_t k = 0; k < 11; ++k) mx = std::max(mx, double(xc(i, j, k)));
            for (index_t k = 0; k < 11; ++k) sum += std::exp(double(xc(i, j, k)) - mx);
            for (index_t k = 0; k < 11; ++k) {
                const double d = double(xc(i, j, k)) - mx;
                const double ref = std::exp(d) / sum;
                const double tol = (4.0 + std::abs(d)) * FLT_EPSILON * ref;
                BOOST_TEST(std::abs(y(i, j, k) - ref) <= tol);
                BOOST_TEST(x(i, j, k) == y(i, j, k));  // in place gives the same bits
            }
        }
    T2 a(3, 4), bad(4, 3);
    expect_error_naming([&] { softmax(a, bad); }, {"[3, 4]", "[4, 3]"});
}

BOOST_AUTO_TEST_CASE(activations_match_reference) {
    std::mt19937 rng(1);
    auto gelu_ref = [](double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); };
    auto gelu_tanh_ref = [](double x) {
        return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / std::numbers::pi) * (x + 0.044715 * x * x * x)));
    };
    auto silu_ref = [](double x) { return x / (1.0 + std::exp(-x)); };
    // Float erf/tanh/exp are within ~2 ulp; where 1 + erf(.) or 1 + tanh(.) cancels (x << 0)
    // the absolute error is ~|x| * u(1) = |x| * 6e-8. Allow 8 ulp relative plus 4 |x| u absolute.
    auto tol = [](double x, double ref) { return 8.0 * FLT_EPSILON / 2 * std::abs(ref) + 4.0 * FLT_EPSILON / 2 * std::max(1.0, std::abs(x)); };

    for (const auto& d : std::vector<std::array<index_t, 2>>{{1, 1}, {7, 13}, {100, 501}}) {
        T2 x(d[0], d[1]), y(d[0], d[1]);
        randomize(x, rng, -8.f, 8.f);
        x(0, 0) = 0.f;
        if (x.size() > 4) { x(0, 1) = -100.f; x(0, 2) = 100.f; x(0, 3) = -1e-20f; }
        const auto xv = x.view();
        auto check = [&](auto ref, const char* what) {
            for (index_t i = 0; i < d[0]; ++i)
                for (index_t j = 0; j < d[1]; ++j) {
                    const double r = ref(double(xv(i, j)));
                    if (!(std::abs(y(i, j) - r) <= tol(xv(i, j), r)))
                        BOOST_FAIL(what << " mismatch at x = " << xv(i, j) << ": got " << y(i, j) << ", want " << r);
                }
            BOOST_TEST(true);
        };
        gelu(x, y);
        check(gelu_ref, "gelu");
        gelu(x, y, GeluApprox::tanh);
        check(gelu_tanh_ref, "gelu tanh (enum)");
        gelu_tanh(x, y);
        check(gelu_tanh_ref, "gelu_tanh");
        silu(x, y);
        check(silu_ref, "silu");

        // In place gives the out-of-place bits.
        T2 z = x.clone();
        silu_inplace(z);
        for (index_t i = 0; i < z.size(); ++i) BOOST_TEST(z.data()[i] == y.data()[i]);
        z = x.clone();
        gelu_inplace(z);
        gelu(x, y);
        for (index_t i = 0; i < z.size(); ++i) BOOST_TEST(z.data()[i] == y.data()[i]);
        z = x.clone();
        gelu_tanh_inplace(z);
        gelu_tanh(x, y);
        for (index_t i = 0; i < z.size(); ++i) BOOST_TEST(z.data()[i] == y.data()[i]);
    }
}

BOOST_AUTO_TEST_CASE(activations_on_strided_views) {
    std::mt19937 rng(3);
    // A large permuted input (parallel blocks) into a sliced output.
    T3 store(40, 30, 50);
    randomize(store, rng, -6.f, 6.f);
    const auto x = store.view().permute<2, 0, 1>();  // [50, 40, 30]
    T3 ybig(50, 40, 35);
    const auto y = ybig.view().slice<2>(2, 32);
    silu(x, y);
    for (index_t i = 0; i < 50; ++i)
        for (index_t j = 0; j < 40; ++j) {
            BOOST_TEST(ybig(i, j, 0) == 0.f);
            for (index_t k = 0; k < 30; ++k) {
                const double v = x(i, j, k), ref = v / (1.0 + std::exp(-v));
                if (!(std::abs(y(i, j, k) - ref) <= 4.0 * FLT_EPSILON * std::max(1.0, std::abs(ref))))
                    BOOST_FAIL("silu strided mismatch");
            }
        }
    gelu_inplace(y, GeluApprox::tanh);
    BOOST_TEST(std::isfinite(y(49, 39, 29)));
    T2 a(3, 4), bad(3, 5);
    expect_error_naming([&] { gelu(a, bad); }, {"[3, 4]", "[3, 5]"});
}

BOOST_AUTO_TEST_CASE(vector_activations_over_the_float_range) {
    // Contiguous float views take the vector kernels (vector_math.hpp, AVX2 here when the CPU
    // has it). Against double references over the whole range: dense [-100, 100], tiny and
    // huge magnitudes, the exp clamps (±87.3, ±88, ±88.72) and specials.
    BOOST_TEST_MESSAGE("AVX2+FMA kernels: " << (cpu_avx2_fma_available() ? "yes" : "no (portable loops)"));
    std::vector<float> xs;
    for (int i = -200000; i <= 200000; ++i) xs.push_back(float(i) * 5e-4f);
    for (float m = 1e-38f; m < 1e30f; m *= 1.37f) {
        xs.push_back(m);
        xs.push_back(-m);
    }
    for (float v : {0.f, -0.f, 87.3f, -87.3f, 88.f, -88.f, 88.72f, -88.72f, 89.f, -89.f, 1e30f, -1e30f,
                    std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()})
        xs.push_back(v);
    const index_t n = index_t(xs.size());
    T1 x(n), y(n);
    std::copy(xs.begin(), xs.end(), x.data());
    auto gelu_tanh_ref = [](double v) {
        return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / std::numbers::pi) * (v + 0.044715 * v * v * v)));
    };
    auto silu_ref = [](double v) { return v / (1.0 + std::exp(-v)); };
    // The activations' own test tolerance: 8 ulp relative plus 4 |x| u absolute (where the
    // result is far below |x| the input's rounding dominates, as in any float evaluation).
    auto tol = [](double v, double ref) {
        return 8.0 * FLT_EPSILON / 2 * std::abs(ref) + 4.0 * FLT_EPSILON / 2 * std::min(1e6, std::max(1.0, std::abs(v)));
    };
    auto check = [&](auto ref, const char* what) {
        int bad = 0;
        for (index_t i = 0; i < n; ++i) {
            const double v = x(i), r = ref(v);
            const double want = std::isfinite(r) ? r : (v > 0 ? r : 0.0);  // 0.5·x·(1+tanh) under/overflow
            if (!(std::abs(double(y(i)) - want) <= tol(v, want)) && bad++ < 5)
                BOOST_ERROR(what << "(" << v << ") = " << y(i) << ", want " << want);
        }
        BOOST_TEST(bad == 0, what << ": " << bad << " of " << n << " outside tolerance");
    };
    silu(x, y);
    check(silu_ref, "silu");
    gelu_tanh(x, y);
    check(gelu_tanh_ref, "gelu_tanh");

    // Specials: NaN stays NaN; the infinities as x / (1 + exp(-x)) gives them.
    T1 s(4), o(4);
    s(0) = std::numeric_limits<float>::quiet_NaN();
    s(1) = std::numeric_limits<float>::infinity();
    s(2) = 1e-30f;
    s(3) = -1e-30f;
    silu(s, o);
    BOOST_TEST(std::isnan(o(0)));
    BOOST_TEST(o(1) == std::numeric_limits<float>::infinity());
    BOOST_TEST(o(2) == 0.5e-30f);
    BOOST_TEST(o(3) == -0.5e-30f);
    gelu_tanh(s, o);
    BOOST_TEST(std::isnan(o(0)));
    BOOST_TEST(o(1) == std::numeric_limits<float>::infinity());

    // Every element goes through the same lanes: a short array (the padded tail) gives the
    // bits of the same values inside a long one, in place and out of place.
    for (index_t len = 1; len <= 17; ++len) {
        T1 part(len), out(len);
        std::copy(x.data() + 1000, x.data() + 1000 + len, part.data());
        gelu_tanh(part, out);
        T1 big(1000 + len), big_out(1000 + len);
        std::copy(x.data(), x.data() + 1000 + len, big.data());
        gelu_tanh(big, big_out);
        gelu_tanh_inplace(part);
        for (index_t i = 0; i < len; ++i) {
            BOOST_TEST(out(i) == big_out(1000 + i));
            BOOST_TEST(part(i) == out(i));
        }
    }
}

BOOST_AUTO_TEST_CASE(results_independent_of_thread_count) {
#ifdef _OPENMP
    std::mt19937 rng(6);
    T3 x(4, 64, 300);  // large enough for every op to take its parallel path
    T1 w(64), b(64), w3(300), b3(300);
    randomize(x, rng, -4.f, 4.f);
    randomize(w, rng);
    randomize(b, rng);
    randomize(w3, rng);
    randomize(b3, rng);
    auto run_all = [&](int threads) {
        return cascadev::testing::with_omp_threads(threads, [&] {
            std::vector<T3> outs;
            for (int i = 0; i < 7; ++i) outs.emplace_back(4, 64, 300);
            group_norm(x, 8, w, b, outs[0]);
            layer_norm(x, w3, b3, outs[1]);
            softmax(x, outs[2]);
            gelu(x, outs[3]);
            add(x, w3, outs[4]);
            silu(x, outs[5]);  // vector kernels, blocks over threads
            gelu(x, outs[6], GeluApprox::tanh);
            return outs;
        });
    };
    const auto one = run_all(1);
    const auto many = run_all(std::max(3, omp_get_num_procs()));
    for (std::size_t k = 0; k < one.size(); ++k)
        BOOST_TEST(std::equal(one[k].data(), one[k].data() + one[k].size(), many[k].data()), "op " << k);
#else
    BOOST_TEST_MESSAGE("built without OpenMP: nothing to compare");
#endif
}

BOOST_AUTO_TEST_SUITE_END()
