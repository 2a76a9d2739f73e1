#pragma once
// GEMM on the host through CBLAS (OpenBLAS): C = alpha * op(A) * op(B) + beta * C on
// rank-2 float (or double) views, plus PyTorch's Linear and a batched variant.
//
// A view is handed to BLAS without copying when one of its dims has unit stride: row-major
// (stride(1) == 1, leading dim stride(0)) as is, column-major (stride(0) == 1, e.g. a
// permuted view) as the transpose of a row-major matrix. Anything else throws. The output
// may be row- or column-major; a column-major C is computed as C^T = op(B)^T op(A)^T.
//
// Shapes: a static mismatch (both extents fixed by the view types) fails to compile; a
// run-time mismatch throws a cascadev::Error naming the shapes of A, B and C.
//
// OpenBLAS threads each call itself, so these functions must not be called from inside
// an OpenMP parallel region (the pthread build of OpenBLAS would then run serially).
#ifdef CASCADEV_CBLAS_HEADER
#include CASCADEV_CBLAS_HEADER
#else
#include <cblas.h>
#endif

#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <string>
#include <type_traits>

#include "cascadev/backend/cpu/parallel.hpp"
#include "cascadev/core/error.hpp"
#include "cascadev/core/extents.hpp"
#include "cascadev/core/view.hpp"

namespace cascadev {

enum class Transpose : bool { no = false, yes = true };

namespace detail {

/// A rank-2 operand as BLAS sees it: row-major storage `trans ? [cols, rows] : [rows, cols]`
/// with leading dim `ld`.
template <class T>
struct BlasMatrix {
    T* data = nullptr;
    index_t rows = 0, cols = 0;  // logical shape of op(X), after the user's transpose
    index_t ld = 1;
    bool trans = false;
};

inline std::string gemm_shape(index_t r, index_t c) { return shape_str(std::array<index_t, 2>{r, c}); }

/// Describes view v ([r, c], any strides) for BLAS; user_trans asks for op(v) = v^T.
/// Returns false when neither dim has unit stride (then BLAS cannot read it in place).
template <class T, class V>
bool as_blas(const V& v, bool user_trans, BlasMatrix<T>& m) {
    const index_t r = v.extent(0), c = v.extent(1), s0 = v.stride(0), s1 = v.stride(1);
    m.data = v.data();
    m.rows = user_trans ? c : r;
    m.cols = user_trans ? r : c;
    // A dim of extent <= 1 never steps, so its stride does not matter.
    if ((c <= 1 || s1 == 1) && (r <= 1 || s0 >= std::max<index_t>(c, 1))) {
        m.ld = r <= 1 ? std::max<index_t>(c, 1) : s0;
        m.trans = user_trans;
        return true;
    }
    if ((r <= 1 || s0 == 1) && (c <= 1 || s1 >= std::max<index_t>(r, 1))) {
        // Column-major [r, c] is row-major [c, r] transposed.
        m.ld = c <= 1 ? std::max<index_t>(r, 1) : s1;
        m.trans = !user_trans;
        return true;
    }
    return false;
}

template <class V>
std::string view_desc(const V& v) {
    return concat(v.extents().str(), " (strides ", shape_str(v.strides()), ")");
}

inline void check_blas_int(index_t v, const char* what) {
    if (v > index_t(INT_MAX)) fail("gemm: ", what, " = ", v, " exceeds the BLAS integer range");
}

/// The BLAS call proper; shapes already checked, M, N > 0.
template <class T>
void blas_gemm(const BlasMatrix<const T>& a, const BlasMatrix<const T>& b, T alpha, T beta, T* c,
               index_t ldc) {
    const index_t M = a.rows, K = a.cols, N = b.cols;
    for (index_t v : {M, N, K, a.ld, b.ld, ldc}) check_blas_int(v, "a dim or leading dim");
    const auto ta = a.trans ? CblasTrans : CblasNoTrans;
    const auto tb = b.trans ? CblasTrans : CblasNoTrans;
    if constexpr (std::is_same_v<T, float>)
        cblas_sgemm(CblasRowMajor, ta, tb, int(M), int(N), int(K), alpha, a.data, int(a.ld), b.data,
                    int(b.ld), beta, c, int(ldc));
    else
        cblas_dgemm(CblasRowMajor, ta, tb, int(M), int(N), int(K), alpha, a.data, int(a.ld), b.data,
                    int(b.ld), beta, c, int(ldc));
}

/// Run-time GEMM on rank-2 host views (the typed front ends below check static shapes).
template <class T, class VA, class VB, class VC>
void gemm_views(const VA& A, const VB& B, const VC& C, T alpha, T beta, bool ta, bool tb) {
    BlasMatrix<const T> a, b;
    const bool a_ok = as_blas<const T>(A, ta, a);
    const bool b_ok = as_blas<const T>(B, tb, b);
    auto shapes = [&] {
        return concat("A ", A.extents().str(), ta ? " (transposed)" : "", ", B ", B.extents().str(),
                      tb ? " (transposed)" : "", ", C ", C.extents().str());
    };
    if (a.cols != b.rows || C.extent(0) != a.rows || C.extent(1) != b.cols)
        fail("gemm: shape mismatch: ", shapes(), "; need op(A) [M, K], op(B) [K, N], C [M, N]");
    const index_t M = a.rows, N = b.cols, K = a.cols;
    if (M == 0 || N == 0) return;
    T* const c = C.data();
    const index_t cs0 = C.stride(0), cs1 = C.stride(1);
    if (K == 0) {  // op(A) op(B) is zero: C = beta * C (BLAS would reject lda = 0)
        for (index_t i = 0; i < M; ++i)
            for (index_t j = 0; j < N; ++j) {
                T& x = c[i * cs0 + j * cs1];
                x = beta == T(0) ? T(0) : beta * x;
            }
        return;
    }
    if (!a_ok) fail("gemm: A ", view_desc(A), " needs a unit stride in one dim");
    if (!b_ok) fail("gemm: B ", view_desc(B), " needs a unit stride in one dim");
    const bool c_row = (N <= 1 || cs1 == 1) && (M <= 1 || cs0 >= N);
    const bool c_col = (M <= 1 || cs0 == 1) && (N <= 1 || cs1 >= M);
    if (c_row) {
        blas_gemm<T>(a, b, alpha, beta, c, M <= 1 ? N : cs0);
    } else if (c_col) {
        // C^T [N, M] (row-major with ld cs1) = op(B)^T op(A)^T.
        BlasMatrix<const T> bt{b.data, b.cols, b.rows, b.ld, !b.trans};
        BlasMatrix<const T> at{a.data, a.cols, a.rows, a.ld, !a.trans};
        blas_gemm<T>(bt, at, alpha, beta, c, N <= 1 ? M : cs1);
    } else {
        fail("gemm: C ", view_desc(C), " needs a unit stride in one dim and non-overlapping rows");
    }
}

template <class V>
inline constexpr index_t sext(std::size_t i) { return V::extents_type::static_extent(i); }

template <class X>
concept BlasElement = std::is_same_v<X, float> || std::is_same_v<X, double>;

}  // namespace detail

/// C = alpha * op(A) * op(B) + beta * C with compile-time transposes, so that static
/// extents are checked at compile time: gemm<Transpose::no, Transpose::yes>(A, B, C).
/// A, B: rank-2 views or tensors of float (or double); C: a writable one of the same type.
template <Transpose TA = Transpose::no, Transpose TB = Transpose::no, HostReadable XA, HostReadable XB,
          HostWritable XC>
void gemm(XA&& A, XB&& B, XC&& C, host_value_t<XC> alpha = 1, host_value_t<XC> beta = 0) {
    using T = host_value_t<XC>;
    using VA = host_view_t<XA>;
    using VB = host_view_t<XB>;
    using VC = host_view_t<XC>;
    static_assert(detail::BlasElement<T>, "cascadev::gemm: float or double elements only");
    static_assert(std::is_same_v<host_value_t<XA>, T> && std::is_same_v<host_value_t<XB>, T>,
                  "cascadev::gemm: A, B and C must have the same element type");
    static_assert(VA::rank == 2 && VB::rank == 2 && VC::rank == 2, "cascadev::gemm: A, B and C must be rank 2");
    constexpr bool ta = TA == Transpose::yes, tb = TB == Transpose::yes;
    constexpr index_t am = detail::sext<VA>(ta ? 1 : 0), ak = detail::sext<VA>(ta ? 0 : 1);
    constexpr index_t bk = detail::sext<VB>(tb ? 1 : 0), bn = detail::sext<VB>(tb ? 0 : 1);
    static_assert(detail::compatible(ak, bk), "cascadev::gemm: static mismatch between op(A)'s cols and op(B)'s rows");
    static_assert(detail::compatible(am, detail::sext<VC>(0)), "cascadev::gemm: static mismatch between op(A)'s rows and C's rows");
    static_assert(detail::compatible(bn, detail::sext<VC>(1)), "cascadev::gemm: static mismatch between op(B)'s cols and C's cols");
    detail::gemm_views<T>(host_cview(A), host_cview(B), host_view(C), alpha, beta, ta, tb);
}

/// C = alpha * op(A) * op(B) + beta * C with run-time transposes (static extents are then
/// checked at run time, since which dims meet depends on the flags).
template <HostReadable XA, HostReadable XB, HostWritable XC>
void gemm(XA&& A, XB&& B, XC&& C, host_value_t<XC> alpha, host_value_t<XC> beta, Transpose ta,
          Transpose tb = Transpose::no) {
    using T = host_value_t<XC>;
    static_assert(detail::BlasElement<T>, "cascadev::gemm: float or double elements only");
    static_assert(std::is_same_v<host_value_t<XA>, T> && std::is_same_v<host_value_t<XB>, T>,
                  "cascadev::gemm: A, B and C must have the same element type");
    static_assert(host_view_t<XA>::rank == 2 && host_view_t<XB>::rank == 2 && host_view_t<XC>::rank == 2,
                  "cascadev::gemm: A, B and C must be rank 2");
    detail::gemm_views<T>(host_cview(A), host_cview(B), host_view(C), alpha, beta, ta == Transpose::yes,
                          tb == Transpose::yes);
}

/// Batched GEMM over a leading batch dim: C[i] = alpha * op(A[i]) * op(B[i]) + beta * C[i]
/// for A [batch, ., .], B [batch, ., .], C [batch, M, N]. A or B may have batch 1, which is
/// then shared by every batch (broadcast). Each batch is one BLAS call (threaded by BLAS).
template <HostReadable XA, HostReadable XB, HostWritable XC>
void gemm_batched(XA&& A, XB&& B, XC&& C, host_value_t<XC> alpha = 1, host_value_t<XC> beta = 0,
                  Transpose ta = Transpose::no, Transpose tb = Transpose::no) {
    using T = host_value_t<XC>;
    using VA = host_view_t<XA>;
    using VB = host_view_t<XB>;
    using VC = host_view_t<XC>;
    static_assert(detail::BlasElement<T>, "cascadev::gemm_batched: float or double elements only");
    static_assert(std::is_same_v<host_value_t<XA>, T> && std::is_same_v<host_value_t<XB>, T>,
                  "cascadev::gemm_batched: A, B and C must have the same element type");
    static_assert(VA::rank == 3 && VB::rank == 3 && VC::rank == 3,
                  "cascadev::gemm_batched: A, B and C must be rank 3 [batch, rows, cols]");
    const auto a = host_cview(A);
    const auto b = host_cview(B);
    const auto c = host_view(C);
    const index_t nb = c.extent(0);
    if ((a.extent(0) != nb && a.extent(0) != 1) || (b.extent(0) != nb && b.extent(0) != 1))
        fail("gemm_batched: batch mismatch: A ", a.extents().str(), ", B ", b.extents().str(), ", C ",
             c.extents().str(), " (A and B need C's batch or 1)");
    if (nb == 0) return;
    auto slice2 = [](const auto& v, index_t i) {
        using V = std::remove_cvref_t<decltype(v)>;
        using E2 = DExtents<2>;
        return View<typename V::value_type, E2, cpu>(v.data() + (v.extent(0) == 1 ? 0 : i * v.stride(0)),
                                                     E2(v.extent(1), v.extent(2)), {v.stride(1), v.stride(2)});
    };
    for (index_t i = 0; i < nb; ++i) {
        try {
            detail::gemm_views<T>(slice2(a, i), slice2(b, i), slice2(c, i), alpha, beta, ta == Transpose::yes,
                                  tb == Transpose::yes);
        } catch (const Error& e) {
            fail("gemm_batched: A ", a.extents().str(), ", B ", b.extents().str(), ", C ", c.extents().str(),
                 ": ", e.what());
        }
    }
}

/// PyTorch's Linear: y = x * weight^T + bias, with x [N, in], weight [out, in], bias [out]
/// (a null/empty view means no bias) and y [N, out].
template <HostReadable XX, HostReadable XW, HostReadable XBias, HostWritable XY>
void linear(XX&& x, XW&& weight, XBias&& bias, XY&& y) {
    using T = host_value_t<XY>;
    using VX = host_view_t<XX>;
    using VW = host_view_t<XW>;
    using VBias = host_view_t<XBias>;
    using VY = host_view_t<XY>;
    static_assert(detail::BlasElement<T>, "cascadev::linear: float or double elements only");
    static_assert(std::is_same_v<host_value_t<XX>, T> && std::is_same_v<host_value_t<XW>, T> &&
                      std::is_same_v<host_value_t<XBias>, T>,
                  "cascadev::linear: x, weight, bias and y must have the same element type");
    static_assert(VX::rank == 2 && VW::rank == 2 && VY::rank == 2 && VBias::rank == 1,
                  "cascadev::linear: x [N, in], weight [out, in], bias [out], y [N, out]");
    using detail::compatible;
    using detail::sext;
    static_assert(compatible(sext<VX>(1), sext<VW>(1)), "cascadev::linear: static mismatch between x's and weight's in-features");
    static_assert(compatible(sext<VW>(0), sext<VY>(1)), "cascadev::linear: static mismatch between weight's out-features and y's");
    static_assert(compatible(sext<VX>(0), sext<VY>(0)), "cascadev::linear: static mismatch between x's and y's rows");
    static_assert(compatible(sext<VBias>(0), sext<VW>(0)), "cascadev::linear: static mismatch between bias and weight's out-features");

    const auto xv = host_cview(x);
    const auto wv = host_cview(weight);
    const auto bv = host_cview(bias);
    const auto yv = host_view(y);
    const bool has_bias = bv.data() != nullptr && bv.size() != 0;
    if (xv.extent(1) != wv.extent(1) || yv.extent(0) != xv.extent(0) || yv.extent(1) != wv.extent(0) ||
        (has_bias && bv.extent(0) != wv.extent(0)))
        fail("linear: shape mismatch: x ", xv.extents().str(), ", weight ", wv.extents().str(), ", bias ",
             has_bias ? bv.extents().str() : std::string("none"), ", y ", yv.extents().str(),
             "; need x [N, in], weight [out, in], bias [out], y [N, out]");
    if (has_bias) {
        // y starts as the broadcast bias and BLAS accumulates into it (beta = 1).
        const index_t rows = yv.extent(0), cols = yv.extent(1);
        parallel_for(rows, cols, [&](index_t i) {
            T* yr = yv.data() + i * yv.stride(0);
            for (index_t j = 0; j < cols; ++j) yr[j * yv.stride(1)] = bv.data()[j * bv.stride(0)];
        });
    }
    detail::gemm_views<T>(xv, wv, yv, T(1), has_bias ? T(1) : T(0), false, true);
}

/// PyTorch's Linear without bias: y = x * weight^T.
template <HostReadable XX, HostReadable XW, HostWritable XY>
void linear(XX&& x, XW&& weight, XY&& y) {
    using T = host_value_t<XY>;
    linear(std::forward<XX>(x), std::forward<XW>(weight), View<const T, DExtents<1>, cpu>(),
           std::forward<XY>(y));
}

}  // namespace cascadev
