#pragma once
// View: a strided, non-owning window onto elements of one device. Reshape, permute and
// slice return new views; what the types fix is checked at compile time, the rest here.
#include <array>
#include <cstddef>
#include <utility>

#include "cascadev/core/device.hpp"
#include "cascadev/core/extents.hpp"

namespace cascadev {

template <class T, ExtentsType E, class Device = cpu>
class View {
public:
    using value_type = T;
    using extents_type = E;
    using device_type = Device;
    static constexpr std::size_t rank = E::rank;
    using strides_type = std::array<index_t, rank>;

    View() = default;
    /// Contiguous row-major view.
    View(T* data, E ext) : data_(data), ext_(ext), strides_(row_major_strides<rank>(ext.dims())) {}
    View(T* data, E ext, strides_type strides) : data_(data), ext_(ext), strides_(strides) {}

    /// Converts to a view with other (compatible) extents or adds const; static
    /// mismatches fail to compile (Extents' converting constructor), dynamic ones throw.
    template <class U, ExtentsType F>
        requires(std::is_convertible_v<U*, T*> && F::rank == rank)
    View(const View<U, F, Device>& o) : data_(o.data()), ext_(o.extents()), strides_(o.strides()) {}  // NOLINT

    T* data() const { return data_; }
    const E& extents() const { return ext_; }
    index_t extent(std::size_t i) const { return ext_.extent(i); }
    index_t stride(std::size_t i) const { return strides_[i]; }
    const strides_type& strides() const { return strides_; }
    std::array<index_t, rank> dims() const { return ext_.dims(); }
    index_t size() const { return ext_.size(); }
    bool empty() const { return size() == 0; }

    bool is_contiguous() const {
        index_t acc = 1;
        for (std::size_t i = rank; i-- > 0;) {
            if (ext_.extent(i) != 1 && strides_[i] != acc) return false;
            acc *= ext_.extent(i);
        }
        return true;
    }

    template <class... I>
        requires(sizeof...(I) == rank)
    index_t offset(I... idx) const {
        const std::array<index_t, rank> i{index_t(idx)...};
        index_t o = 0;
        for (std::size_t d = 0; d < rank; ++d) o += i[d] * strides_[d];
        return o;
    }

    template <class... I>
        requires(sizeof...(I) == rank && std::is_same_v<Device, cpu>)
    T& operator()(I... idx) const { return data_[offset(idx...)]; }

    /// Reinterprets a contiguous view with a new shape of the same element count.
    template <ExtentsType F>
    View<T, F, Device> reshape(F new_ext) const {
        if constexpr (E::is_static && F::is_static)
            static_assert(E().size() == F().size(), "cascadev: reshape changes the element count");
        if (new_ext.size() != size())
            fail("reshape: cannot reshape ", ext_.str(), " (", size(), " elements) to ", new_ext.str(),
                 " (", new_ext.size(), " elements)");
        if (!is_contiguous()) fail("reshape: view ", ext_.str(), " is not contiguous");
        return View<T, F, Device>(data_, new_ext);
    }
    /// Reshape to a fully static shape: view.reshape<2, 3, 4>().
    template <index_t... Fs>
        requires(((Fs != dyn) && ...))
    View<T, Extents<Fs...>, Device> reshape() const { return reshape(Extents<Fs...>()); }

    /// Reorders the dims: result dim i is source dim P[i]; P must be a permutation.
    template <std::size_t... P>
    auto permute() const {
        static_assert(sizeof...(P) == rank, "cascadev: permute needs one index per dim");
        static_assert(is_permutation<P...>(), "cascadev: permute indices must be a permutation of 0..rank-1");
        using F = Extents<E::static_extent(P)...>;
        const auto d = dims();
        const std::array<index_t, rank> nd{d[P]...};
        return View<T, F, Device>(data_, F::from_dims(nd), strides_type{strides_[P]...});
    }

    /// Keeps [begin, end) along dim D; that dim becomes dynamic.
    template <std::size_t D>
    auto slice(index_t begin, index_t end) const {
        static_assert(D < rank, "cascadev: slice dim out of range");
        if (begin < 0 || end < begin || end > extent(D))
            fail("slice: range [", begin, ", ", end, ") out of bounds for dim ", D, " of ", ext_.str());
        using F = with_dynamic_dim<D>;
        auto nd = dims();
        nd[D] = end - begin;
        return View<T, F, Device>(data_ + begin * strides_[D], F::from_dims(nd), strides_);
    }

    /// Fixes index i of dim D and drops that dim.
    template <std::size_t D>
    auto select(index_t i) const {
        static_assert(D < rank, "cascadev: select dim out of range");
        if (i < 0 || i >= extent(D))
            fail("select: index ", i, " out of bounds for dim ", D, " of ", ext_.str());
        return drop_dim<D>(data_ + i * strides_[D], std::make_index_sequence<rank - 1>{});
    }

private:
    template <std::size_t... P>
    static constexpr bool is_permutation() {
        std::array<bool, rank> seen{};
        for (std::size_t p : {P...}) {
            if (p >= rank || seen[p]) return false;
            seen[p] = true;
        }
        return true;
    }

    template <std::size_t D, class Seq = std::make_index_sequence<rank>>
    struct dyn_at;
    template <std::size_t D, std::size_t... I>
    struct dyn_at<D, std::index_sequence<I...>> {
        using type = Extents<(I == D ? dyn : E::static_extent(I))...>;
    };
    template <std::size_t D>
    using with_dynamic_dim = typename dyn_at<D>::type;

    template <std::size_t D, std::size_t... I>
    auto drop_dim(T* p, std::index_sequence<I...>) const {
        [[maybe_unused]] constexpr auto src = [](std::size_t i) { return i < D ? i : i + 1; };
        using F = Extents<E::static_extent(src(I))...>;
        const auto d = dims();
        const std::array<index_t, rank - 1> nd{d[src(I)]...};
        return View<T, F, Device>(p, F::from_dims(nd), std::array<index_t, rank - 1>{strides_[src(I)]...});
    }

    T* data_ = nullptr;
    E ext_{from_zero()};
    strides_type strides_{};

    static E from_zero() {
        std::array<index_t, rank> z{};
        for (std::size_t i = 0; i < rank; ++i) z[i] = E::static_extent(i) == dyn ? 0 : E::static_extent(i);
        return E::from_dims(z);
    }
};

/// Checks at run time that two views have equal shapes; names both when not.
template <class A, class B>
void check_same_shape(const A& a, const B& b, const char* what) {
    static_assert(A::rank == B::rank, "cascadev: rank mismatch between operands");
    if (a.dims() != b.dims()) fail(what, ": shape mismatch ", a.extents().str(), " vs ", b.extents().str());
}

}  // namespace cascadev
