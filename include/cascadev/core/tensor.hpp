#pragma once
// Tensor: owning, contiguous, row-major elements on one device. Everything that reads
// or writes elements goes through view(), so ops take views and never own memory.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "cascadev/core/device.hpp"
#include "cascadev/core/view.hpp"

namespace cascadev {

/// Host storage: 64-byte aligned (whole cache lines, AVX-512 loads), zero-filled.
template <class T>
class Storage<T, cpu> {
public:
    Storage() = default;
    explicit Storage(std::size_t n) : n_(n) {
        if (n == 0) return;
        if (n > (std::size_t(1) << 62) / sizeof(T)) fail("tensor of ", n, " elements is too large to allocate");
        const std::size_t bytes = ((n * sizeof(T) + 63) / 64) * 64;
        void* p = std::aligned_alloc(64, bytes);
        if (!p) fail("out of host memory allocating ", bytes, " bytes");
        std::memset(p, 0, bytes);
        ptr_.reset(static_cast<T*>(p));
    }
    T* data() const { return ptr_.get(); }
    std::size_t size() const { return n_; }

private:
    struct Free { void operator()(T* p) const { std::free(p); } };
    std::unique_ptr<T, Free> ptr_;
    std::size_t n_ = 0;
};

template <class T, ExtentsType E, class Device = cpu>
class Tensor {
public:
    using value_type = T;
    using extents_type = E;
    using device_type = Device;
    using view_type = View<T, E, Device>;
    using const_view_type = View<const T, E, Device>;
    static constexpr std::size_t rank = E::rank;

    Tensor() : Tensor(zero_extents()) {}
    explicit Tensor(E ext) : ext_(ext), storage_(std::size_t(ext.size())) {}
    template <class... I>
        requires(sizeof...(I) == E::rank_dynamic && E::rank_dynamic > 0 && (std::is_integral_v<I> && ...))
    explicit Tensor(I... dynamic_dims) : Tensor(E(dynamic_dims...)) {}

    Tensor(Tensor&&) noexcept = default;
    Tensor& operator=(Tensor&&) noexcept = default;
    Tensor(const Tensor&) = delete;  // copies are explicit: clone()
    Tensor& operator=(const Tensor&) = delete;

    view_type view() { return view_type(storage_.data(), ext_); }
    const_view_type view() const { return const_view_type(storage_.data(), ext_); }
    operator view_type() { return view(); }               // NOLINT: tensors pass where views go
    operator const_view_type() const { return view(); }   // NOLINT

    T* data() { return storage_.data(); }
    const T* data() const { return storage_.data(); }
    const E& extents() const { return ext_; }
    index_t extent(std::size_t i) const { return ext_.extent(i); }
    std::array<index_t, rank> dims() const { return ext_.dims(); }
    index_t size() const { return ext_.size(); }

    template <class... I>
        requires(sizeof...(I) == rank && std::is_same_v<Device, cpu>)
    T& operator()(I... idx) { return view()(idx...); }
    template <class... I>
        requires(sizeof...(I) == rank && std::is_same_v<Device, cpu>)
    const T& operator()(I... idx) const { return view()(idx...); }

    Tensor clone() const requires std::is_same_v<Device, cpu> {
        Tensor t(ext_);
        std::copy_n(data(), size(), t.data());
        return t;
    }

private:
    static E zero_extents() {
        std::array<index_t, rank> z{};
        for (std::size_t i = 0; i < rank; ++i) z[i] = E::static_extent(i) == dyn ? 0 : E::static_extent(i);
        return E::from_dims(z);
    }

    E ext_;
    Storage<T, Device> storage_;
};

/// A contiguous copy of any (possibly strided) host view.
template <class T, ExtentsType E>
Tensor<std::remove_const_t<T>, E> contiguous_copy(const View<T, E, cpu>& v) {
    Tensor<std::remove_const_t<T>, E> out(v.extents());
    const auto d = v.dims();
    std::array<index_t, E::rank> idx{};
    std::remove_const_t<T>* o = out.data();
    for (index_t n = 0; n < v.size(); ++n) {
        index_t off = 0;
        for (std::size_t k = 0; k < E::rank; ++k) off += idx[k] * v.stride(k);
        *o++ = v.data()[off];
        for (std::size_t k = E::rank; k-- > 0;) {
            if (++idx[k] < d[k]) break;
            idx[k] = 0;
        }
    }
    return out;
}

}  // namespace cascadev
