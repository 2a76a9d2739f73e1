#pragma once
// Extents: a shape whose dims are each static (known at compile time) or `dyn`.
// Static dims cost nothing at run time and are checked when extents are converted;
// a static/static mismatch is a compile error, a static/dynamic one a run-time Error.
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "cascadev/core/error.hpp"

namespace cascadev {

using index_t = std::int64_t;
inline constexpr index_t dyn = -1;

/// "[2, 3, 4]" for error messages.
template <class Range>
std::string shape_str(const Range& r) {
    std::string s = "[";
    bool first = true;
    for (auto v : r) {
        if (!first) s += ", ";
        s += (v == dyn) ? std::string("?") : std::to_string(v);
        first = false;
    }
    return s + "]";
}

namespace detail {
template <index_t... Es>
constexpr std::size_t count_dynamic() { return ((Es == dyn ? 1 : 0) + ... + 0); }

template <std::size_t N>
constexpr std::array<std::size_t, N> dynamic_slots(const std::array<index_t, N>& st) {
    std::array<std::size_t, N> slot{};
    std::size_t k = 0;
    for (std::size_t i = 0; i < N; ++i) slot[i] = st[i] == dyn ? k++ : std::size_t(-1);
    return slot;
}

/// True when two static extent lists could describe the same shape.
template <std::size_t N>
constexpr bool static_compatible(const std::array<index_t, N>& a, const std::array<index_t, N>& b) {
    for (std::size_t i = 0; i < N; ++i)
        if (a[i] != dyn && b[i] != dyn && a[i] != b[i]) return false;
    return true;
}
}  // namespace detail

template <index_t... Es>
class Extents {
public:
    static constexpr std::size_t rank = sizeof...(Es);
    static constexpr std::size_t rank_dynamic = detail::count_dynamic<Es...>();
    static constexpr std::array<index_t, rank> static_extents{Es...};
    static constexpr bool is_static = rank_dynamic == 0;

    static_assert(((Es >= 0 || Es == dyn) && ...), "Extents: a static extent must be >= 0 (or dyn)");

    constexpr Extents() requires(rank_dynamic == 0) = default;

    /// From the dynamic dims only: Extents<dyn, 3, dyn>(t, w).
    template <class... I>
        requires(sizeof...(I) == rank_dynamic && rank_dynamic > 0 && (std::is_integral_v<I> && ...))
    constexpr explicit Extents(I... dynamic_dims) : dyn_{index_t(dynamic_dims)...} {
        for (index_t v : dyn_)
            if (v < 0) fail("Extents: negative extent in ", shape_str(dims()));
    }

    /// From a full run-time shape; static dims must agree (checked here).
    static Extents from_dims(std::span<const index_t> full) {
        if (full.size() != rank)
            fail("shape mismatch: got rank ", full.size(), " ", shape_str(full), ", expected rank ",
                 rank, " ", shape_str(static_extents));
        Extents e = uninitialized();
        for (std::size_t i = 0; i < rank; ++i) {
            if (full[i] < 0) fail("negative extent in shape ", shape_str(full));
            if (static_extents[i] != dyn && static_extents[i] != full[i])
                fail("shape mismatch: got ", shape_str(full), ", expected ", shape_str(static_extents),
                     " (dim ", i, ")");
            if (static_extents[i] == dyn) e.dyn_[slot_[i]] = full[i];
        }
        return e;
    }
    static Extents from_dims(std::initializer_list<index_t> full) {
        return from_dims(std::span<const index_t>(full.begin(), full.size()));
    }

    /// Conversion between extents of the same rank: static/static mismatches do not compile.
    template <index_t... Fs>
    constexpr Extents(const Extents<Fs...>& other) : Extents(from_dims(other.dims())) {  // NOLINT
        static_assert(sizeof...(Fs) == rank, "cascadev: rank mismatch between extents");
        static_assert(detail::static_compatible<rank>(static_extents, Extents<Fs...>::static_extents),
                      "cascadev: static extent mismatch (a compile-time dim differs between shapes)");
    }

    constexpr index_t extent(std::size_t i) const {
        return static_extents[i] == dyn ? dyn_[slot_[i]] : static_extents[i];
    }
    static constexpr index_t static_extent(std::size_t i) { return static_extents[i]; }

    constexpr std::array<index_t, rank> dims() const {
        std::array<index_t, rank> d{};
        for (std::size_t i = 0; i < rank; ++i) d[i] = extent(i);
        return d;
    }
    constexpr index_t size() const {
        index_t n = 1;
        for (std::size_t i = 0; i < rank; ++i) n *= extent(i);
        return n;
    }
    std::string str() const { return shape_str(dims()); }

    friend constexpr bool operator==(const Extents& a, const Extents& b) { return a.dyn_ == b.dyn_; }

private:
    static constexpr auto slot_ = detail::dynamic_slots<rank>(static_extents);
    static constexpr Extents uninitialized() {
        if constexpr (rank_dynamic == 0) return Extents();
        else { Extents e(std::array<index_t, rank_dynamic>{}); return e; }
    }
    constexpr explicit Extents(std::array<index_t, rank_dynamic> d) : dyn_(d) {}

    std::array<index_t, rank_dynamic> dyn_{};

    template <index_t...> friend class Extents;
};

namespace detail {
template <std::size_t N, index_t... Es>
struct make_dextents : make_dextents<N - 1, dyn, Es...> {};
template <index_t... Es>
struct make_dextents<0, Es...> { using type = Extents<Es...>; };
}  // namespace detail

/// Extents with every dim dynamic.
template <std::size_t Rank>
using DExtents = typename detail::make_dextents<Rank>::type;

template <class E> struct is_extents : std::false_type {};
template <index_t... Es> struct is_extents<Extents<Es...>> : std::true_type {};
template <class E> concept ExtentsType = is_extents<E>::value;

/// Row-major (C order) strides of a shape.
template <std::size_t N>
constexpr std::array<index_t, N> row_major_strides(const std::array<index_t, N>& dims) {
    std::array<index_t, N> s{};
    index_t acc = 1;
    for (std::size_t i = N; i-- > 0;) { s[i] = acc; acc *= dims[i]; }
    return s;
}

}  // namespace cascadev
