// Extents, View and Tensor: addressing checked against explicit index arithmetic,
// and every run-time error checked for a message that names the shapes involved.
#include <boost/test/unit_test.hpp>

#include <numeric>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cascadev/core.hpp"

using namespace cascadev;

namespace {

/// Runs f, which must throw cascadev::Error whose message contains every needle.
template <class F>
void expect_error(F&& f, std::initializer_list<std::string> needles) {
    try {
        f();
    } catch (const Error& e) {
        const std::string msg = e.what();
        for (const auto& n : needles)
            BOOST_TEST(msg.find(n) != std::string::npos, "message \"" << msg << "\" lacks \"" << n << "\"");
        return;
    }
    BOOST_ERROR("no cascadev::Error thrown");
}

/// A buffer 0, 1, 2, ... of n floats.
std::vector<float> iota_buf(std::size_t n) {
    std::vector<float> v(n);
    std::iota(v.begin(), v.end(), 0.0f);
    return v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(extents)

BOOST_AUTO_TEST_CASE(extents_smoke) {  // moved from test_extents.cpp
    Extents<dyn, 3> e(2);
    BOOST_TEST(e.size() == 6);
}

BOOST_AUTO_TEST_CASE(static_and_dynamic_mixes) {
    using S = Extents<2, 3, 4>;
    static_assert(S::rank == 3 && S::rank_dynamic == 0 && S::is_static);
    static_assert(S().size() == 24);
    static_assert(S().extent(1) == 3);
    static_assert(sizeof(S) <= 1);  // no run-time storage for static dims

    using M = Extents<dyn, 3, dyn>;
    static_assert(M::rank == 3 && M::rank_dynamic == 2 && !M::is_static);
    static_assert(M::static_extent(0) == dyn && M::static_extent(1) == 3);
    static_assert(!std::is_default_constructible_v<M>);
    static_assert(!std::is_constructible_v<M, int>);            // needs both dynamic dims
    static_assert(!std::is_constructible_v<M, int, int, int>);  // not the full shape
    static_assert(!std::is_convertible_v<int, Extents<dyn>>);   // explicit
    const M m(5, 7);
    BOOST_TEST(m.extent(0) == 5);
    BOOST_TEST(m.extent(1) == 3);
    BOOST_TEST(m.extent(2) == 7);
    BOOST_TEST(m.size() == 105);
    BOOST_TEST(m.str() == "[5, 3, 7]");
    BOOST_TEST((m.dims() == std::array<index_t, 3>{5, 3, 7}));

    using D = DExtents<4>;
    static_assert(std::is_same_v<D, Extents<dyn, dyn, dyn, dyn>>);
    static_assert(std::is_same_v<DExtents<0>, Extents<>>);
    const D d(1, 2, 0, 4);
    BOOST_TEST(d.size() == 0);

    using R0 = Extents<>;
    static_assert(R0::rank == 0 && R0().size() == 1);
    BOOST_TEST(R0().str() == "[]");

    BOOST_TEST(shape_str(std::array<index_t, 3>{2, dyn, 4}) == "[2, ?, 4]");
    BOOST_TEST((row_major_strides<3>({2, 3, 4}) == std::array<index_t, 3>{12, 4, 1}));
    BOOST_TEST((row_major_strides<1>({9}) == std::array<index_t, 1>{1}));

    expect_error([] { Extents<dyn, 3> bad(-2); (void)bad; }, {"negative"});
    expect_error([] { DExtents<2> bad(3, -5); (void)bad; }, {"negative", "-5"});
}

BOOST_AUTO_TEST_CASE(from_dims_checks_and_names_both_shapes) {
    const auto e = Extents<dyn, 3>::from_dims({4, 3});
    BOOST_TEST(e.extent(0) == 4);
    const auto s = Extents<2, 3>::from_dims({2, 3});
    BOOST_TEST(s.size() == 6);
    std::vector<index_t> v{8, 3};
    BOOST_TEST((Extents<dyn, dyn>::from_dims(v).size() == 24));

    expect_error([] { (void)Extents<dyn, 3>::from_dims({4, 5}); }, {"[4, 5]", "[?, 3]", "dim 1"});
    expect_error([] { (void)Extents<2, 3>::from_dims({3, 3}); }, {"[3, 3]", "[2, 3]", "dim 0"});
    expect_error([] { (void)Extents<dyn, 3>::from_dims({4, 3, 1}); }, {"rank 3", "[4, 3, 1]", "rank 2", "[?, 3]"});
    expect_error([] { (void)Extents<dyn>::from_dims({}); }, {"rank 0", "[]", "rank 1", "[?]"});
    expect_error([] { (void)Extents<dyn, 3>::from_dims({-1, 3}); }, {"negative"});
    expect_error([] { (void)Extents<dyn, 3>::from_dims({-4, 3}); }, {"negative", "[-4, 3]"});
}

BOOST_AUTO_TEST_CASE(conversions) {
    // static -> dynamic: always fine.
    const Extents<4, 3> s;
    const Extents<dyn, dyn> d = s;
    BOOST_TEST(d.extent(0) == 4);
    BOOST_TEST(d.extent(1) == 3);
    // partially static -> other partially static: run-time check.
    const Extents<dyn, 3> a(4);
    const Extents<4, dyn> b = a;
    BOOST_TEST(b.extent(1) == 3);
    // dynamic -> static: checked at run time, message names both shapes.
    const Extents<dyn, 3> wrong(5);
    expect_error([&] { const Extents<4, 3> x = wrong; (void)x; }, {"[5, 3]", "[4, 3]"});
    const DExtents<2> dd(7, 2);
    expect_error([&] { const Extents<dyn, 3> x = dd; (void)x; }, {"[7, 2]", "[?, 3]"});
    // Type traits: static mismatches are not even viable conversions at the type level for
    // different ranks (View requires equal rank).
    static_assert(!std::is_constructible_v<View<float, Extents<4, 3>>, View<float, Extents<4, 3, 1>>>);
    // Equality.
    BOOST_TEST((Extents<dyn, 3>(4) == Extents<dyn, 3>(4)));
    BOOST_TEST(!(Extents<dyn, 3>(4) == Extents<dyn, 3>(5)));
    BOOST_TEST((Extents<2, 3>() == Extents<2, 3>()));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(view)

BOOST_AUTO_TEST_CASE(contiguous_addressing) {
    auto buf = iota_buf(2 * 3 * 4);
    View<float, Extents<2, dyn, 4>> v(buf.data(), Extents<2, dyn, 4>(3));
    BOOST_TEST(v.is_contiguous());
    BOOST_TEST(v.size() == 24);
    BOOST_TEST(!v.empty());
    BOOST_TEST((v.strides() == std::array<index_t, 3>{12, 4, 1}));
    for (index_t i = 0; i < 2; ++i)
        for (index_t j = 0; j < 3; ++j)
            for (index_t k = 0; k < 4; ++k) {
                BOOST_TEST(v.offset(i, j, k) == i * 12 + j * 4 + k);
                BOOST_TEST(v(i, j, k) == float(i * 12 + j * 4 + k));
            }
    v(1, 2, 3) = -1.0f;
    BOOST_TEST(buf[23] == -1.0f);

    // Adding const, and a dynamic view of a static one.
    View<const float, Extents<2, dyn, 4>> c = v;
    View<const float, DExtents<3>> cd = c;
    BOOST_TEST(cd(1, 1, 1) == 17.0f);
    static_assert(!std::is_constructible_v<View<float, Extents<2, dyn, 4>>, View<const float, Extents<2, dyn, 4>>>);
    // Dynamic -> static conversion with the wrong run-time shape throws naming both shapes.
    View<float, DExtents<2>> d2(buf.data(), DExtents<2>(6, 4));
    expect_error([&] { View<float, Extents<6, 3>> bad = d2; (void)bad; }, {"[6, 4]", "[6, 3]"});
    View<float, Extents<6, 4>> good = d2;
    BOOST_TEST(good(5, 3) == -1.0f);

    // Default view: null data, zero dynamic dims, static dims kept.
    View<float, Extents<dyn, 3>> def;
    BOOST_TEST(def.data() == nullptr);
    BOOST_TEST(def.extent(0) == 0);
    BOOST_TEST(def.extent(1) == 3);
    BOOST_TEST(def.empty());
}

BOOST_AUTO_TEST_CASE(reshape) {
    auto buf = iota_buf(24);
    View<float, Extents<2, 3, 4>> v(buf.data(), {});
    auto r = v.reshape<6, 4>();
    static_assert(std::is_same_v<decltype(r), View<float, Extents<6, 4>>>);
    for (index_t i = 0; i < 6; ++i)
        for (index_t j = 0; j < 4; ++j) BOOST_TEST(r(i, j) == float(i * 4 + j));
    auto flat = v.reshape(DExtents<1>(24));
    for (index_t i = 0; i < 24; ++i) BOOST_TEST(flat(i) == float(i));
    BOOST_TEST(flat.data() == buf.data());
    auto m = v.reshape(Extents<dyn, 2, dyn>(3, 4));
    BOOST_TEST(m(2, 1, 3) == float(2 * 8 + 1 * 4 + 3));
    auto scalarish = v.reshape(Extents<24, 1>());
    BOOST_TEST(scalarish(23, 0) == 23.0f);

    // Wrong element count (dynamic): both shapes and both counts in the message.
    expect_error([&] { (void)v.reshape(DExtents<2>(5, 5)); }, {"[2, 3, 4]", "24", "[5, 5]", "25"});
    // Non-contiguous source.
    auto t = v.permute<2, 1, 0>();
    expect_error([&] { (void)t.reshape(DExtents<1>(24)); }, {"not contiguous", "[4, 3, 2]"});
    auto sl = v.slice<2>(0, 2);  // [2, 3, 2] with strides 12, 4, 1
    expect_error([&] { (void)sl.reshape(DExtents<1>(12)); }, {"not contiguous"});
    // A slice along the outermost dim stays contiguous and reshapes fine.
    auto outer = v.slice<0>(1, 2);
    BOOST_TEST(outer.is_contiguous());
    auto o2 = outer.reshape(DExtents<2>(3, 4));
    BOOST_TEST(o2(0, 0) == 12.0f);
    BOOST_TEST(o2(2, 3) == 23.0f);
}

BOOST_AUTO_TEST_CASE(permute_addressing) {
    constexpr index_t A = 2, B = 3, C = 4, D = 5;
    auto buf = iota_buf(A * B * C * D);
    View<float, Extents<A, dyn, C, dyn>> v(buf.data(), Extents<A, dyn, C, dyn>(B, D));
    auto p = v.permute<3, 0, 2, 1>();
    static_assert(std::is_same_v<decltype(p), View<float, Extents<dyn, A, C, dyn>>>);
    BOOST_TEST((p.dims() == std::array<index_t, 4>{D, A, C, B}));
    BOOST_TEST(!p.is_contiguous());
    BOOST_TEST(p.data() == buf.data());
    for (index_t l = 0; l < D; ++l)
        for (index_t i = 0; i < A; ++i)
            for (index_t k = 0; k < C; ++k)
                for (index_t j = 0; j < B; ++j)
                    BOOST_TEST(p(l, i, k, j) == float(((i * B + j) * C + k) * D + l));
    // Permuting back restores the original view exactly.
    auto back = p.permute<1, 3, 2, 0>();
    BOOST_TEST((back.strides() == v.strides()));
    BOOST_TEST((back.dims() == v.dims()));
    BOOST_TEST(back.is_contiguous());
    // Identity permutation.
    auto id = v.permute<0, 1, 2, 3>();
    BOOST_TEST(id.is_contiguous());
}

BOOST_AUTO_TEST_CASE(slice_addressing_and_errors) {
    auto buf = iota_buf(4 * 5 * 6);
    View<float, Extents<4, 5, 6>> v(buf.data(), {});
    auto s = v.slice<1>(1, 4);
    static_assert(std::is_same_v<decltype(s), View<float, Extents<4, dyn, 6>>>);
    BOOST_TEST((s.dims() == std::array<index_t, 3>{4, 3, 6}));
    BOOST_TEST((s.strides() == v.strides()));
    BOOST_TEST(!s.is_contiguous());
    for (index_t i = 0; i < 4; ++i)
        for (index_t j = 0; j < 3; ++j)
            for (index_t k = 0; k < 6; ++k) BOOST_TEST(s(i, j, k) == float(i * 30 + (j + 1) * 6 + k));
    // Slice of a slice, on a different dim, then a permute: composed index math.
    auto ss = s.slice<2>(2, 5).permute<2, 0, 1>();
    BOOST_TEST((ss.dims() == std::array<index_t, 3>{3, 4, 3}));
    for (index_t k = 0; k < 3; ++k)
        for (index_t i = 0; i < 4; ++i)
            for (index_t j = 0; j < 3; ++j) BOOST_TEST(ss(k, i, j) == float(i * 30 + (j + 1) * 6 + (k + 2)));
    // Empty slices are allowed, at both ends.
    BOOST_TEST(v.slice<0>(0, 0).empty());
    BOOST_TEST(v.slice<0>(4, 4).empty());
    BOOST_TEST(v.slice<2>(0, 6).is_contiguous());
    // Out of range: the message names the range, the dim and the shape.
    expect_error([&] { (void)v.slice<1>(3, 6); }, {"[3, 6)", "dim 1", "[4, 5, 6]"});
    expect_error([&] { (void)v.slice<0>(-1, 2); }, {"[-1, 2)", "dim 0", "[4, 5, 6]"});
    expect_error([&] { (void)v.slice<2>(4, 3); }, {"[4, 3)", "dim 2", "[4, 5, 6]"});
    expect_error([&] { (void)s.slice<1>(0, 4); }, {"[0, 4)", "dim 1", "[4, 3, 6]"});
}

BOOST_AUTO_TEST_CASE(select_addressing_and_errors) {
    auto buf = iota_buf(3 * 4 * 5);
    View<float, Extents<3, dyn, 5>> v(buf.data(), Extents<3, dyn, 5>(4));
    auto a = v.select<0>(2);
    static_assert(std::is_same_v<decltype(a), View<float, Extents<dyn, 5>>>);
    auto b = v.select<1>(3);
    static_assert(std::is_same_v<decltype(b), View<float, Extents<3, 5>>>);
    auto c = v.select<2>(4);
    static_assert(std::is_same_v<decltype(c), View<float, Extents<3, dyn>>>);
    for (index_t i = 0; i < 4; ++i)
        for (index_t k = 0; k < 5; ++k) BOOST_TEST(a(i, k) == float(2 * 20 + i * 5 + k));
    for (index_t i = 0; i < 3; ++i)
        for (index_t k = 0; k < 5; ++k) BOOST_TEST(b(i, k) == float(i * 20 + 3 * 5 + k));
    for (index_t i = 0; i < 3; ++i)
        for (index_t j = 0; j < 4; ++j) BOOST_TEST(c(i, j) == float(i * 20 + j * 5 + 4));
    BOOST_TEST(a.is_contiguous());
    BOOST_TEST(!b.is_contiguous());
    BOOST_TEST(!c.is_contiguous());
    // Down to rank 0.
    auto e = v.select<0>(1).select<0>(2).select<0>(3);
    static_assert(decltype(e)::rank == 0);
    BOOST_TEST(e.size() == 1);
    BOOST_TEST(e() == float(1 * 20 + 2 * 5 + 3));
    BOOST_TEST(e.is_contiguous());
    expect_error([&] { (void)v.select<1>(4); }, {"index 4", "dim 1", "[3, 4, 5]"});
    expect_error([&] { (void)v.select<0>(-1); }, {"index -1", "dim 0", "[3, 4, 5]"});
}

BOOST_AUTO_TEST_CASE(contiguity_rules) {
    std::vector<float> buf(64);
    // Unit dims may carry any stride.
    View<float, DExtents<3>> u(buf.data(), DExtents<3>(4, 1, 3), {3, 999, 1});
    BOOST_TEST(u.is_contiguous());
    View<float, DExtents<2>> strided(buf.data(), DExtents<2>(4, 3), {6, 2});
    BOOST_TEST(!strided.is_contiguous());
    View<float, DExtents<2>> padded(buf.data(), DExtents<2>(4, 3), {4, 1});
    BOOST_TEST(!padded.is_contiguous());
    for (index_t i = 0; i < 4; ++i)
        for (index_t j = 0; j < 3; ++j) BOOST_TEST(strided.offset(i, j) == i * 6 + j * 2);
    BOOST_TEST((View<float, Extents<>>(buf.data(), {}).is_contiguous()));
}

BOOST_AUTO_TEST_CASE(check_same_shape_names_both) {
    std::vector<float> buf(64);
    View<float, DExtents<2>> a(buf.data(), DExtents<2>(4, 3));
    View<float, DExtents<2>> b(buf.data(), DExtents<2>(3, 4));
    View<const float, Extents<4, 3>> c(buf.data(), {});
    check_same_shape(a, c, "add");
    expect_error([&] { check_same_shape(a, b, "add"); }, {"add", "[4, 3]", "[3, 4]"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tensor)

BOOST_AUTO_TEST_CASE(construction) {
    Tensor<float, Extents<2, 3>> s;
    BOOST_TEST(s.size() == 6);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(s.data()) % 64 == 0u);
    for (index_t i = 0; i < 6; ++i) BOOST_TEST(s.data()[i] == 0.0f);  // zero-filled

    Tensor<double, Extents<dyn, 3, dyn>> d(4, 5);
    BOOST_TEST((d.dims() == std::array<index_t, 3>{4, 3, 5}));
    BOOST_TEST(d.size() == 60);
    d(3, 2, 4) = 7.0;
    BOOST_TEST(d.data()[59] == 7.0);
    const auto& cd = d;
    BOOST_TEST(cd(3, 2, 4) == 7.0);
    static_assert(std::is_same_v<decltype(cd.view()), View<const double, Extents<dyn, 3, dyn>>>);

    Tensor<float, DExtents<2>> empty;  // dynamic dims default to zero
    BOOST_TEST(empty.size() == 0);
    BOOST_TEST(empty.extent(0) == 0);
    Tensor<float, DExtents<2>> zero(0, 7);
    BOOST_TEST(zero.size() == 0);
    Tensor<std::int64_t, Extents<>> scalar;
    BOOST_TEST(scalar.size() == 1);
    scalar() = 5;
    BOOST_TEST(scalar() == 5);

    expect_error([] { Tensor<float, DExtents<2>> bad(3, -1); }, {"negative"});

    static_assert(!std::is_copy_constructible_v<Tensor<float, Extents<2>>>);
    static_assert(std::is_nothrow_move_constructible_v<Tensor<float, Extents<2>>>);
    Tensor<double, Extents<dyn, 3, dyn>> moved = std::move(d);
    BOOST_TEST(moved(3, 2, 4) == 7.0);

    // Tensors pass where views go.
    View<float, Extents<2, 3>> v = s;
    v(1, 2) = 3.0f;
    BOOST_TEST(s(1, 2) == 3.0f);
    View<const float, DExtents<2>> cv = std::as_const(s).view();
    BOOST_TEST(cv(1, 2) == 3.0f);
}

BOOST_AUTO_TEST_CASE(clone_is_deep) {
    Tensor<float, Extents<dyn, 4>> t(3);
    for (index_t i = 0; i < t.size(); ++i) t.data()[i] = float(i) * 0.5f;
    auto c = t.clone();
    static_assert(std::is_same_v<decltype(c), decltype(t)>);
    BOOST_TEST((c.dims() == t.dims()));
    BOOST_TEST(c.data() != t.data());
    for (index_t i = 0; i < t.size(); ++i) BOOST_TEST(c.data()[i] == t.data()[i]);
    t(0, 0) = 100.f;
    BOOST_TEST(c(0, 0) == 0.0f);
    Tensor<float, DExtents<1>> e(0);
    BOOST_TEST(e.clone().size() == 0);
}

BOOST_AUTO_TEST_CASE(contiguous_copy_of_strided_views) {
    Tensor<float, Extents<3, 4, 5>> t;
    for (index_t i = 0; i < t.size(); ++i) t.data()[i] = float(i);
    // Permuted + sliced: every element must land at its row-major position.
    auto v = t.view().permute<2, 0, 1>().slice<2>(1, 3);  // [5, 3, 2]
    auto c = contiguous_copy(v);
    static_assert(std::is_same_v<decltype(c), Tensor<float, Extents<5, 3, dyn>>>);
    BOOST_TEST((c.dims() == std::array<index_t, 3>{5, 3, 2}));
    BOOST_TEST(c.view().is_contiguous());
    index_t n = 0;
    for (index_t k = 0; k < 5; ++k)
        for (index_t i = 0; i < 3; ++i)
            for (index_t j = 0; j < 2; ++j, ++n) BOOST_TEST(c.data()[n] == float(i * 20 + (j + 1) * 5 + k));
    // From a const view, the copy is mutable.
    const auto& ct = t;
    auto cc = contiguous_copy(ct.view().select<1>(2));
    static_assert(std::is_same_v<decltype(cc), Tensor<float, Extents<3, 5>>>);
    for (index_t i = 0; i < 3; ++i)
        for (index_t k = 0; k < 5; ++k) BOOST_TEST(cc(i, k) == float(i * 20 + 2 * 5 + k));
    // Empty and rank-0 views.
    BOOST_TEST(contiguous_copy(t.view().slice<0>(1, 1)).size() == 0);
    auto s = contiguous_copy(t.view().select<0>(2).select<0>(3).select<0>(4));
    BOOST_TEST(s() == float(2 * 20 + 3 * 5 + 4));
}

BOOST_AUTO_TEST_SUITE_END()
