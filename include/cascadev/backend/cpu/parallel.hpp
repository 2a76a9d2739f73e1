#pragma once
// Shared helpers of the CPU backend: taking Views and Tensors alike as arguments, and
// OpenMP loops over independent rows. Every op splits work so that each output element
// is computed by exactly one thread in a fixed order, so results do not depend on the
// number of threads.
#include <array>
#include <concepts>
#include <cstddef>
#include <type_traits>
#include <utility>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cascadev/core/tensor.hpp"
#include "cascadev/core/view.hpp"

namespace cascadev {

// ---------------------------------------------------------------------------------
// Arguments: ops are templates over the view type, so a Tensor's implicit conversion
// to its View cannot kick in during template argument deduction. host_view() does that
// conversion explicitly; the concepts below say what an op accepts.
// ---------------------------------------------------------------------------------

template <class T, ExtentsType E>
View<T, E, cpu> host_view(const View<T, E, cpu>& v) { return v; }
template <class T, ExtentsType E>
View<T, E, cpu> host_view(Tensor<T, E, cpu>& t) { return t.view(); }
template <class T, ExtentsType E>
View<const T, E, cpu> host_view(const Tensor<T, E, cpu>& t) { return t.view(); }

/// The host View type that an argument (View or Tensor, possibly const) stands for.
template <class X>
using host_view_t = decltype(host_view(std::declval<std::remove_reference_t<X>&>()));

/// Something readable on the host: a cpu View (const or not) or a cpu Tensor.
template <class X>
concept HostReadable = requires(std::remove_reference_t<X>& x) { host_view(x); };

/// Something writable on the host: a cpu View of non-const elements or a non-const Tensor.
template <class X>
concept HostWritable = HostReadable<X> && !std::is_const_v<typename host_view_t<X>::value_type>;

/// Element type without const.
template <class X>
using host_value_t = std::remove_const_t<typename host_view_t<X>::value_type>;

/// A read-only view of any readable argument.
template <HostReadable X>
auto host_cview(X&& x) {
    using V = host_view_t<X>;
    return View<const host_value_t<X>, typename V::extents_type, cpu>(host_view(x));
}

// ---------------------------------------------------------------------------------
// Threading
// ---------------------------------------------------------------------------------

/// Below this many elements of work a parallel region costs more than it saves.
inline constexpr index_t parallel_grain = 1 << 15;

/// Threads an OpenMP region would use here (1 without OpenMP).
inline int max_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/// Calls f(i) for i in [0, n), in parallel (static schedule) when n * work_per_item is
/// large enough. f must not throw: exceptions cannot leave an OpenMP region, so callers
/// check shapes before the loop.
template <class F>
void parallel_for(index_t n, index_t work_per_item, F&& f) {
    if (n <= 0) return;
    if (n == 1 || n * work_per_item < parallel_grain) {
        for (index_t i = 0; i < n; ++i) f(i);
        return;
    }
#pragma omp parallel for schedule(static)
    for (index_t i = 0; i < n; ++i) f(i);
}

namespace detail {

/// True unless both extents are static and differ (for static_asserts between operands).
constexpr bool compatible(index_t a, index_t b) { return a == dyn || b == dyn || a == b; }

/// Maps a row number to the offset of that row's first element, for a view whose last
/// dim is the "row" (softmax, LayerNorm): the leading dims may be strided or permuted.
template <std::size_t R>
struct RowOffsets {
    static_assert(R >= 1, "cascadev: a row needs at least one dim");
    std::array<index_t, R> dims{};
    std::array<index_t, R> strides{};

    template <class V>
    explicit RowOffsets(const V& v) : dims(v.dims()), strides(v.strides()) {}

    index_t rows() const {
        index_t n = 1;
        for (std::size_t d = 0; d + 1 < R; ++d) n *= dims[d];
        return n;
    }
    index_t row_length() const { return dims[R - 1]; }
    index_t inner_stride() const { return strides[R - 1]; }
    /// Offset of row r's first element (row-major unravel of r over the leading dims).
    index_t offset(index_t r) const {
        index_t off = 0;
        for (std::size_t d = R - 1; d-- > 0;) {
            off += (r % dims[d]) * strides[d];
            r /= dims[d];
        }
        return off;
    }
};

/// Calls f(offset_a, offset_b) for every element of a strided block (rank N, dims known at
/// run time) walked in row-major order through two layouts at once (an input and an
/// output); the innermost dim is a plain loop the compiler can vectorise.
template <std::size_t N, class F>
void for_each_offset2(const std::array<index_t, N>& dims, const std::array<index_t, N>& sa,
                      const std::array<index_t, N>& sb, index_t base_a, index_t base_b, F&& f) {
    if constexpr (N == 0) {
        f(base_a, base_b);
    } else {
        for (std::size_t d = 0; d < N; ++d)
            if (dims[d] == 0) return;
        std::array<index_t, N> idx{};
        const index_t n_inner = dims[N - 1], ia = sa[N - 1], ib = sb[N - 1];
        for (;;) {
            index_t oa = base_a, ob = base_b;
            for (std::size_t d = 0; d + 1 < N; ++d) { oa += idx[d] * sa[d]; ob += idx[d] * sb[d]; }
            for (index_t i = 0; i < n_inner; ++i) f(oa + i * ia, ob + i * ib);
            std::size_t d = N - 1;
            for (;;) {
                if (d == 0) return;
                --d;
                if (++idx[d] < dims[d]) break;
                idx[d] = 0;
            }
        }
    }
}

}  // namespace detail
}  // namespace cascadev
