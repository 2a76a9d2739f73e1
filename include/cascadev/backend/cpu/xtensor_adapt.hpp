#pragma once
// xtensor expressions over a View's buffer, without copying: xt::adapt with
// no_ownership, the view's shape and its strides. A View<const T> gives a read-only
// adaptor; a View<T> one that can be assigned to (write through to the view's memory).
//
// xtensor 0.24 details this relies on:
//  - the adaptor's buffer "size" must equal the product of the shape, even for a strided
//    view whose elements span more memory: xtensor resizes the buffer to that product on
//    construction, and a non-owning buffer throws if asked to change size. The size is only
//    used by linear (contiguous) assignment, which xtensor selects only when the strides
//    are row-major, and then product == span.
//  - xtensor sets the stride of every extent-1 dim to 0 (that is how it broadcasts), so
//    the adaptor's strides() can differ from the view's there.
//  - a contiguous view is adapted with layout row_major (not dynamic), so that assignments
//    between contiguous operands take xtensor's linear (and SIMD) path.
#include <array>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

#include <xtensor/xadapt.hpp>
#include <xtensor/xtensor.hpp>

#include "cascadev/backend/cpu/parallel.hpp"
#include "cascadev/core/view.hpp"

namespace cascadev {

/// Raw strided block: what an adaptor is built from (also used for per-thread sub-blocks).
template <class T, std::size_t N>
struct StridedBlock {
    T* data = nullptr;
    std::array<std::size_t, N> shape{};
    std::array<std::ptrdiff_t, N> strides{};

    std::size_t size() const {
        std::size_t n = 1;
        for (std::size_t s : shape) n *= s;
        return n;
    }
    bool is_row_major() const {
        std::ptrdiff_t acc = 1;
        for (std::size_t i = N; i-- > 0;) {
            if (shape[i] != 1 && strides[i] != acc) return false;
            acc *= std::ptrdiff_t(shape[i]);
        }
        return true;
    }
};

template <class T, ExtentsType E>
StridedBlock<T, E::rank> strided_block(const View<T, E, cpu>& v) {
    StridedBlock<T, E::rank> b;
    b.data = v.data();
    for (std::size_t i = 0; i < E::rank; ++i) {
        b.shape[i] = std::size_t(v.extent(i));
        b.strides[i] = std::ptrdiff_t(v.stride(i));
    }
    return b;
}

/// The adaptor type for a block of T (const T: read-only) of rank N. The allocator is
/// spelled out: xbuffer_adaptor's default would be std::allocator<const T> for a const
/// buffer, which libstdc++ rejects in C++20 (xt::adapt itself uses the non-const one).
template <class T, std::size_t N>
using xadaptor_t = xt::xtensor_adaptor<xt::xbuffer_adaptor<T*, xt::no_ownership, std::allocator<std::remove_const_t<T>>>,
                                       N, xt::layout_type::dynamic>;

/// Adapts a raw strided block (no copy).
template <class T, std::size_t N>
xadaptor_t<T, N> as_xtensor(const StridedBlock<T, N>& b) {
    const std::size_t n = b.size();
    // The pointer goes in as an rvalue: xt::adapt stores an lvalue pointer argument *by
    // reference* (xtl::closure_type), which would dangle once `b` is gone.
    T* p = b.data;
    if (b.is_row_major())
        return xt::adapt<xt::layout_type::dynamic>(std::move(p), n, xt::no_ownership(), b.shape,
                                                   xt::layout_type::row_major);
    return xt::adapt(std::move(p), n, xt::no_ownership(), b.shape, b.strides);
}

/// Adapts a host view's buffer as an xtensor expression (no copy): reading it reads the
/// view, assigning to it (for a non-const view) writes the view's elements.
template <class T, ExtentsType E>
xadaptor_t<T, E::rank> as_xtensor(const View<T, E, cpu>& v) {
    return as_xtensor(strided_block(v));
}

/// Same for a Tensor (non-const: writable adaptor; const: read-only).
template <class T, ExtentsType E>
xadaptor_t<T, E::rank> as_xtensor(Tensor<T, E, cpu>& t) { return as_xtensor(t.view()); }
template <class T, ExtentsType E>
xadaptor_t<const T, E::rank> as_xtensor(const Tensor<T, E, cpu>& t) { return as_xtensor(t.view()); }

}  // namespace cascadev
