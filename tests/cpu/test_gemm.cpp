// GEMM, Linear and batched GEMM against naive double-precision loops.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "cascadev/backend/cpu/gemm.hpp"

using namespace cascadev;

namespace {

using M2 = Tensor<float, DExtents<2>>;
using V2 = View<float, DExtents<2>>;

void fill_random(float* p, index_t n, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
    std::uniform_real_distribution<float> d(lo, hi);
    for (index_t i = 0; i < n; ++i) p[i] = d(rng);
}

/// op(X)(i, j) of a rank-2 view.
template <class V>
double op_at(const V& v, bool trans, index_t i, index_t j) {
    return trans ? double(v(j, i)) : double(v(i, j));
}

/// Checks C (after) == alpha * op(A) op(B) + beta * C0 elementwise.
/// Tolerance: a float dot product of length K has error <= K * u * sum|a_k b_k| (u = 2^-24,
/// the classic gamma_K bound); BLAS's blocked sums stay well inside it. We allow 2 K u on
/// the sum of magnitudes of every term, plus the beta term's rounding.
template <class VA, class VB, class VC>
void check_gemm(const VA& A, const VB& B, const std::vector<double>& C0, const VC& C, double alpha, double beta,
                bool ta, bool tb) {
    const index_t M = C.extent(0), N = C.extent(1), K = ta ? A.extent(0) : A.extent(1);
    double worst = 0;
    for (index_t i = 0; i < M; ++i)
        for (index_t j = 0; j < N; ++j) {
            double s = 0, mag = 0;
            for (index_t k = 0; k < K; ++k) {
                const double t = op_at(A, ta, i, k) * op_at(B, tb, k, j);
                s += t;
                mag += std::abs(t);
            }
            const double c0 = C0[std::size_t(i * N + j)];
            const double ref = alpha * s + beta * c0;
            const double tol = 2.0 * double(K + 2) * FLT_EPSILON / 2 * (std::abs(alpha) * mag + std::abs(beta * c0)) + 1e-30;
            const double err = std::abs(double(C(i, j)) - ref);
            worst = std::max(worst, err / tol);
            if (err > tol)
                BOOST_FAIL("gemm mismatch at (" << i << ", " << j << "): got " << C(i, j) << ", want " << ref
                                                 << " (tol " << tol << ")");
        }
    BOOST_TEST(worst <= 1.0);
}

template <class VC>
std::vector<double> snapshot(const VC& C) {
    std::vector<double> s;
    for (index_t i = 0; i < C.extent(0); ++i)
        for (index_t j = 0; j < C.extent(1); ++j) s.push_back(C(i, j));
    return s;
}

struct Shape3 { index_t m, n, k; };
const Shape3 kShapes[] = {{1, 1, 1}, {3, 5, 7}, {17, 31, 13}, {64, 64, 64}, {65, 33, 129}, {2, 100, 1}, {1, 9, 300}};

}  // namespace

BOOST_AUTO_TEST_SUITE(cpu_gemm)

BOOST_AUTO_TEST_CASE(gemm_contiguous_all_transposes) {
    std::mt19937 rng(1234);
    for (const auto& s : kShapes)
        for (int t = 0; t < 4; ++t) {
            const bool ta = t & 1, tb = t & 2;
            M2 A = ta ? M2(s.k, s.m) : M2(s.m, s.k);
            M2 B = tb ? M2(s.n, s.k) : M2(s.k, s.n);
            M2 C(s.m, s.n);
            fill_random(A.data(), A.size(), rng);
            fill_random(B.data(), B.size(), rng);
            fill_random(C.data(), C.size(), rng);
            const auto C0 = snapshot(C.view());
            gemm(A, B, C, 1.5f, 0.5f, ta ? Transpose::yes : Transpose::no, tb ? Transpose::yes : Transpose::no);
            check_gemm(A.view(), B.view(), C0, C.view(), 1.5, 0.5, ta, tb);
        }
}

BOOST_AUTO_TEST_CASE(gemm_compile_time_transposes_and_static_extents) {
    std::mt19937 rng(7);
    // A^T B with A [K, M] = [16, 8] static, B [16, 5] dynamic, C [8, 5].
    Tensor<float, Extents<16, 8>> A;
    Tensor<float, Extents<16, dyn>> B(5);
    Tensor<float, Extents<8, dyn>> C(5);
    fill_random(A.data(), A.size(), rng);
    fill_random(B.data(), B.size(), rng);
    gemm<Transpose::yes, Transpose::no>(A, B, C);
    check_gemm(A.view(), B.view(), std::vector<double>(40, 0.0), C.view(), 1.0, 0.0, true, false);

    // beta = 0 must ignore C's old contents, even NaN (BLAS semantics).
    Tensor<float, Extents<8, 16>> At;
    fill_random(At.data(), At.size(), rng);
    std::fill_n(C.data(), C.size(), std::nanf(""));
    gemm(At, B, C);
    check_gemm(At.view(), B.view(), std::vector<double>(40, 0.0), C.view(), 1.0, 0.0, false, false);
}

BOOST_AUTO_TEST_CASE(gemm_strided_and_permuted_operands) {
    std::mt19937 rng(99);
    for (const auto& s : kShapes) {
        // A: [M, K] as a column slice of a wider tensor (leading dim > K).
        M2 Abig(s.m, s.k + 5);
        fill_random(Abig.data(), Abig.size(), rng);
        auto A = Abig.view().slice<1>(2, 2 + s.k);
        // B: [K, N] as the permutation of a stored [N, K] (column-major: BLAS sees B^T).
        M2 Bstore(s.n, s.k);
        fill_random(Bstore.data(), Bstore.size(), rng);
        auto B = Bstore.view().permute<1, 0>();
        // C: [M, N] as the permutation of a stored [N, M] (column-major output).
        M2 Cstore(s.n, s.m);
        fill_random(Cstore.data(), Cstore.size(), rng);
        auto C = Cstore.view().permute<1, 0>();
        const auto C0 = snapshot(C);
        gemm(A, B, C, -0.75f, 2.0f);
        check_gemm(A, B, C0, C, -0.75, 2.0, false, false);

        // Same with a padded row-major C and A permuted + transposed back.
        M2 Astore(s.k, s.m);
        fill_random(Astore.data(), Astore.size(), rng);
        auto At = Astore.view().permute<1, 0>();  // [M, K], column-major
        M2 Cbig(s.m, s.n + 3);
        auto C2 = Cbig.view().slice<1>(1, 1 + s.n);
        const auto C20 = snapshot(C2);
        gemm(At, Bstore, C2, 1.0f, 1.0f, Transpose::no, Transpose::yes);
        check_gemm(At, Bstore.view(), C20, C2, 1.0, 1.0, false, true);
        // The padding columns are untouched (zero-filled by Tensor).
        for (index_t i = 0; i < s.m; ++i) {
            BOOST_TEST(Cbig(i, 0) == 0.f);
            for (index_t j = 1 + s.n; j < s.n + 3; ++j) BOOST_TEST(Cbig(i, j) == 0.f);
        }
    }
}

BOOST_AUTO_TEST_CASE(gemm_k_zero_scales_c) {
    M2 A(3, 0), B(0, 4), C(3, 4);
    std::fill_n(C.data(), C.size(), 2.f);
    gemm(A, B, C, 1.f, 0.5f);
    for (index_t i = 0; i < C.size(); ++i) BOOST_TEST(C.data()[i] == 1.f);
    gemm(A, B, C);
    for (index_t i = 0; i < C.size(); ++i) BOOST_TEST(C.data()[i] == 0.f);
}

BOOST_AUTO_TEST_CASE(gemm_double) {
    std::mt19937 rng(5);
    Tensor<double, DExtents<2>> A(7, 9), B(9, 4), C(7, 4);
    std::uniform_real_distribution<double> d(-1, 1);
    for (index_t i = 0; i < A.size(); ++i) A.data()[i] = d(rng);
    for (index_t i = 0; i < B.size(); ++i) B.data()[i] = d(rng);
    gemm(A, B, C);
    for (index_t i = 0; i < 7; ++i)
        for (index_t j = 0; j < 4; ++j) {
            double s = 0;
            for (index_t k = 0; k < 9; ++k) s += A(i, k) * B(k, j);
            BOOST_TEST(std::abs(C(i, j) - s) <= 1e-14);  // K * u(double) * |terms| ~ 1e-15
        }
}

BOOST_AUTO_TEST_CASE(gemm_shape_mismatch_names_shapes) {
    M2 A(3, 4), B(5, 6), C(3, 6);
    try {
        gemm(A, B, C);
        BOOST_FAIL("expected cascadev::Error");
    } catch (const Error& e) {
        const std::string m = e.what();
        BOOST_TEST(m.find("[3, 4]") != std::string::npos);
        BOOST_TEST(m.find("[5, 6]") != std::string::npos);
        BOOST_TEST(m.find("[3, 6]") != std::string::npos);
    }
    M2 B2(4, 6), C2(3, 7);
    BOOST_CHECK_THROW(gemm(A, B2, C2), Error);
    BOOST_CHECK_THROW(gemm(A, B2, C, 1.f, 0.f, Transpose::yes), Error);  // A^T is [4, 3]
    // A view with no unit stride in either dim cannot go to BLAS.
    M2 big(6, 8);
    V2 every_other(big.data(), DExtents<2>(3, 4), {16, 2});
    try {
        gemm(every_other, B2, C);
        BOOST_FAIL("expected cascadev::Error");
    } catch (const Error& e) {
        BOOST_TEST(std::string(e.what()).find("unit stride") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(linear_matches_pytorch_convention) {
    std::mt19937 rng(42);
    const index_t cases[][3] = {{1, 1, 1}, {5, 7, 3}, {33, 64, 17}, {128, 96, 160}};
    for (const auto& c : cases) {
        const index_t N = c[0], in = c[1], out = c[2];
        // x strided: rows of a wider buffer.
        M2 xbig(N, in + 4), w(out, in), y(N, out), y2(N, out);
        Tensor<float, DExtents<1>> bias(out);
        fill_random(xbig.data(), xbig.size(), rng);
        fill_random(w.data(), w.size(), rng);
        fill_random(bias.data(), bias.size(), rng);
        auto x = xbig.view().slice<1>(3, 3 + in);
        linear(x, w, bias, y);
        linear(x, w, y2);
        for (index_t n = 0; n < N; ++n)
            for (index_t o = 0; o < out; ++o) {
                double s = 0, mag = 0;
                for (index_t i = 0; i < in; ++i) {
                    s += double(x(n, i)) * double(w(o, i));
                    mag += std::abs(double(x(n, i)) * double(w(o, i)));
                }
                // Same gamma_K bound as gemm, with the bias as one more term.
                const double tol = double(in + 2) * FLT_EPSILON * (mag + std::abs(bias(o)));
                BOOST_TEST(std::abs(double(y(n, o)) - (s + double(bias(o)))) <= tol);
                BOOST_TEST(std::abs(double(y2(n, o)) - s) <= tol);
            }
    }
}

BOOST_AUTO_TEST_CASE(linear_static_widths_and_mismatch) {
    Tensor<float, Extents<dyn, 8>> x(3);
    Tensor<float, Extents<4, 8>> w;
    Tensor<float, Extents<4>> b;
    Tensor<float, Extents<dyn, 4>> y(3);
    std::fill_n(x.data(), x.size(), 1.f);
    std::fill_n(w.data(), w.size(), 0.5f);
    std::fill_n(b.data(), b.size(), -1.f);
    linear(x, w, b, y);
    for (index_t i = 0; i < y.size(); ++i) BOOST_TEST(y.data()[i] == 3.f);  // 8 * 0.5 - 1, exact

    M2 xd(3, 8), wd(4, 7), yd(3, 4);
    Tensor<float, DExtents<1>> bd(4);
    try {
        linear(xd, wd, bd, yd);
        BOOST_FAIL("expected cascadev::Error");
    } catch (const Error& e) {
        const std::string m = e.what();
        BOOST_TEST(m.find("[3, 8]") != std::string::npos);
        BOOST_TEST(m.find("[4, 7]") != std::string::npos);
        BOOST_TEST(m.find("[3, 4]") != std::string::npos);
    }
    M2 wd2(4, 8);
    Tensor<float, DExtents<1>> bad_bias(5);
    BOOST_CHECK_THROW(linear(xd, wd2, bad_bias, yd), Error);
}

BOOST_AUTO_TEST_CASE(gemm_batched_with_broadcast) {
    std::mt19937 rng(11);
    using M3 = Tensor<float, DExtents<3>>;
    const index_t nb = 3, M = 5, N = 6, K = 7;
    for (int t = 0; t < 4; ++t) {
        const bool ta = t & 1, tb = t & 2;
        M3 A = ta ? M3(nb, K, M) : M3(nb, M, K);
        M3 B = tb ? M3(1, N, K) : M3(1, K, N);  // one B shared by every batch
        M3 C(nb, M, N);
        fill_random(A.data(), A.size(), rng);
        fill_random(B.data(), B.size(), rng);
        fill_random(C.data(), C.size(), rng);
        M3 C0 = C.clone();
        gemm_batched(A, B, C, 2.f, -1.f, ta ? Transpose::yes : Transpose::no, tb ? Transpose::yes : Transpose::no);
        for (index_t b = 0; b < nb; ++b) {
            const auto Cb = C.view().select<0>(b);
            const auto C0b = C0.view().select<0>(b);
            check_gemm(A.view().select<0>(b), B.view().select<0>(0), snapshot(C0b), Cb, 2.0, -1.0, ta, tb);
        }
    }
    M3 A(2, 3, 4), B(3, 4, 5), C(2, 3, 5);
    try {
        gemm_batched(A, B, C);
        BOOST_FAIL("expected cascadev::Error");
    } catch (const Error& e) {
        const std::string m = e.what();
        BOOST_TEST(m.find("[2, 3, 4]") != std::string::npos);
        BOOST_TEST(m.find("[3, 4, 5]") != std::string::npos);
        BOOST_TEST(m.find("[2, 3, 5]") != std::string::npos);
    }
}

BOOST_AUTO_TEST_SUITE_END()
