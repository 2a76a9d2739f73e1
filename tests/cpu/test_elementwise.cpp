// Elementwise and broadcasting ops (through xtensor adaptors) against naive double loops.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <random>
#include <string>

#include "cascadev/backend/cpu/elementwise.hpp"
#include "cascadev/backend/cpu/xtensor_adapt.hpp"

using namespace cascadev;

namespace {

using T3 = Tensor<float, DExtents<3>>;
using V3 = View<float, DExtents<3>>;

template <class TT>
void randomize(TT& t, std::mt19937& rng, float lo = -2.f, float hi = 2.f) {
    std::uniform_real_distribution<float> d(lo, hi);
    for (index_t i = 0; i < t.size(); ++i) t.data()[i] = d(rng);
}

/// Element (i, j, k) of the rank-3 output as seen through numpy broadcasting of v.
template <class V>
double bcast(const V& v, index_t i, index_t j, index_t k) {
    const std::array<index_t, 3> idx{i, j, k};
    std::array<index_t, V::rank> vi{};
    for (std::size_t d = 0; d < V::rank; ++d) {
        const index_t od = idx[3 - V::rank + d];
        vi[d] = v.extent(d) == 1 ? 0 : od;
    }
    return std::apply([&](auto... q) { return double(v(q...)); }, vi);
}

/// Checks out(i,j,k) == ref(i,j,k) within tol(ref) everywhere.
template <class VO, class Ref, class Tol>
void check_all(const VO& out, Ref ref, Tol tol, const char* what) {
    for (index_t i = 0; i < out.extent(0); ++i)
        for (index_t j = 0; j < out.extent(1); ++j)
            for (index_t k = 0; k < out.extent(2); ++k) {
                const double r = ref(i, j, k), got = out(i, j, k);
                if (!(std::abs(got - r) <= tol(r)))
                    BOOST_FAIL(what << " mismatch at (" << i << ", " << j << ", " << k << "): got " << got
                                    << ", want " << r);
            }
    BOOST_TEST(true);
}

// +, -, *, / of two floats computed in double and rounded once to float give exactly the
// correctly rounded float result (double has more than 2 * 24 + 2 bits), which is what
// float arithmetic produces: so the single-op results must match *exactly*.
const auto exact = [](double) { return 0.0; };
// Compound expressions (a*x + b, y + alpha*x) round twice in float (or once with FMA):
// allow 2 ulp of the operands' magnitude.
const auto two_ulp = [](double r) { return 2.0 * FLT_EPSILON * std::max(1.0, std::abs(r)); };

struct BinaryCase {
    std::array<index_t, 3> out;
    std::vector<index_t> a, b;  // input shapes (rank 1..3), numpy-broadcastable to out
};

template <class F>
void with_view(std::mt19937& rng, const std::vector<index_t>& shape, F&& f) {
    // Builds a random tensor of rank shape.size() and calls f with its view.
    if (shape.size() == 1) {
        Tensor<float, DExtents<1>> t(shape[0]);
        randomize(t, rng);
        f(t.view());
    } else if (shape.size() == 2) {
        Tensor<float, DExtents<2>> t(shape[0], shape[1]);
        randomize(t, rng);
        f(t.view());
    } else {
        T3 t(shape[0], shape[1], shape[2]);
        randomize(t, rng);
        f(t.view());
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cpu_elementwise)

BOOST_AUTO_TEST_CASE(binary_ops_broadcast) {
    std::mt19937 rng(2024);
    const std::vector<BinaryCase> cases = {
        {{4, 5, 6}, {4, 5, 6}, {4, 5, 6}},
        {{4, 5, 6}, {4, 5, 6}, {6}},
        {{4, 5, 6}, {4, 1, 6}, {5, 1}},
        {{4, 5, 6}, {1}, {4, 5, 6}},
        {{7, 13, 3}, {7, 1, 1}, {13, 3}},
        {{1, 1, 1}, {1}, {1, 1, 1}},
        {{3, 129, 97}, {3, 129, 97}, {129, 1}},  // large: parallel blocks
        {{1, 2, 40000}, {1, 2, 40000}, {40000}},  // large, leading dims 1: cut along the last
        {{5, 4, 3}, {1, 1}, {1}},                  // output larger than the inputs' shape
    };
    for (const auto& c : cases)
        with_view(rng, c.a, [&](auto a) {
            with_view(rng, c.b, [&](auto b) {
                T3 out(c.out[0], c.out[1], c.out[2]);
                const auto ov = out.view();
                add(a, b, out);
                check_all(ov, [&](auto i, auto j, auto k) { return double(float(bcast(a, i, j, k) + bcast(b, i, j, k))); }, exact, "add");
                sub(a, b, out);
                check_all(ov, [&](auto i, auto j, auto k) { return double(float(bcast(a, i, j, k) - bcast(b, i, j, k))); }, exact, "sub");
                mul(a, b, out);
                check_all(ov, [&](auto i, auto j, auto k) { return double(float(bcast(a, i, j, k) * bcast(b, i, j, k))); }, exact, "mul");
                div(a, b, out);
                check_all(ov, [&](auto i, auto j, auto k) { return double(float(bcast(a, i, j, k) / bcast(b, i, j, k))); }, exact, "div");
            });
        });
}

BOOST_AUTO_TEST_CASE(strided_inputs_and_outputs) {
    std::mt19937 rng(8);
    for (const auto& d : std::vector<std::array<index_t, 3>>{{3, 4, 5}, {9, 1, 17}, {40, 33, 31}}) {
        // a: permuted view of a [d2, d0, d1] tensor.
        T3 astore(d[2], d[0], d[1]);
        randomize(astore, rng);
        const auto a = astore.view().permute<1, 2, 0>();
        // b: every other element along a longer last dim.
        const index_t L = 2 * d[2] + 1;
        T3 bstore(d[0], d[1], L);
        randomize(bstore, rng);
        const V3 b(bstore.data() + 1, DExtents<3>(d[0], d[1], d[2]), {d[1] * L, L, 2});
        // out: permuted view of a [d2, d1, d0] tensor.
        T3 ostore(d[2], d[1], d[0]);
        const auto out = ostore.view().permute<2, 1, 0>();
        BOOST_TEST(!a.is_contiguous());
        BOOST_TEST(!b.is_contiguous());
        BOOST_TEST(!out.is_contiguous());
        mul(a, b, out);
        check_all(out, [&](auto i, auto j, auto k) { return double(float(double(a(i, j, k)) * double(b(i, j, k)))); }, exact, "strided mul");
        // copy a permuted view into a contiguous tensor (gather).
        T3 dense(d[0], d[1], d[2]);
        copy(a, dense);
        check_all(dense.view(), [&](auto i, auto j, auto k) { return double(a(i, j, k)); }, exact, "copy");
        // b's skipped elements (odd offsets from 1) were not written by anything above.
    }
}

BOOST_AUTO_TEST_CASE(in_place_and_scalar_ops) {
    std::mt19937 rng(77);
    for (const auto& d : std::vector<std::array<index_t, 3>>{{2, 3, 4}, {5, 7, 11}, {64, 32, 33}}) {
        T3 x(d[0], d[1], d[2]), y(d[0], d[1], d[2]), out(d[0], d[1], d[2]);
        Tensor<float, DExtents<1>> row(d[2]);
        randomize(x, rng);
        randomize(y, rng);
        randomize(row, rng);
        const T3 x0 = x.clone(), y0 = y.clone();
        const auto xv = x.view(), yv = y.view();
        const auto x0v = x0.view(), y0v = y0.view();

        add(x, row, x);  // in place, broadcasting a row
        check_all(xv, [&](auto i, auto j, auto k) { return double(float(double(x0v(i, j, k)) + double(row(k)))); }, exact, "in-place add");
        copy(x0, x);

        scale(x, 0.37f, out);
        check_all(out.view(), [&](auto i, auto j, auto k) { return double(float(double(x0v(i, j, k)) * double(0.37f))); }, exact, "scale");
        scale(x, -3.f);
        check_all(xv, [&](auto i, auto j, auto k) { return double(float(double(x0v(i, j, k)) * -3.0)); }, exact, "scale in place");
        copy(x0, x);

        add_scaled(y, 0.25f, x);
        check_all(yv, [&](auto i, auto j, auto k) { return double(y0v(i, j, k)) + 0.25 * double(x0v(i, j, k)); }, two_ulp, "add_scaled");

        affine(x, 2.f, -1.f, out);
        check_all(out.view(), [&](auto i, auto j, auto k) { return 2.0 * double(x0v(i, j, k)) - 1.0; }, two_ulp, "affine");

        map(x, out, [](float v) { return v * v + 1.f; });
        check_all(out.view(), [&](auto i, auto j, auto k) { const double v = x0v(i, j, k); return v * v + 1.0; }, two_ulp, "map unary");

        map(x, row, out, [](float p, float q) { return std::max(p, q); });
        check_all(out.view(), [&](auto i, auto j, auto k) { return std::max(double(x0v(i, j, k)), double(row(k))); }, exact, "map binary");

        map_inplace(x, [](float v) { return -v; });
        check_all(xv, [&](auto i, auto j, auto k) { return -double(x0v(i, j, k)); }, exact, "map_inplace");
    }
}

BOOST_AUTO_TEST_CASE(fill_strided_view_leaves_the_rest) {
    for (index_t n : {3, 50, 200}) {
        Tensor<float, DExtents<2>> t(n, n);
        std::fill_n(t.data(), t.size(), 1.f);
        // Every other column of rows [1, n-1).
        const View<float, DExtents<2>> v(t.data() + n, DExtents<2>(n - 2, (n + 1) / 2), {n, 2});
        fill(v, 5.f);
        for (index_t i = 0; i < n; ++i)
            for (index_t j = 0; j < n; ++j) {
                const bool inside = i >= 1 && i < n - 1 && j % 2 == 0;
                BOOST_TEST(t(i, j) == (inside ? 5.f : 1.f));
            }
    }
}

BOOST_AUTO_TEST_CASE(xtensor_adaptor_is_a_window_not_a_copy) {
    T3 t(2, 3, 4);
    for (index_t i = 0; i < t.size(); ++i) t.data()[i] = float(i);
    const auto p = t.view().permute<2, 0, 1>();  // [4, 2, 3]
    auto a = as_xtensor(p);
    BOOST_TEST(a.shape()[0] == 4u);
    BOOST_TEST(a.shape()[1] == 2u);
    BOOST_TEST(a.shape()[2] == 3u);
    for (index_t i = 0; i < 4; ++i)
        for (index_t j = 0; j < 2; ++j)
            for (index_t k = 0; k < 3; ++k) {
                BOOST_TEST(a(i, j, k) == p(i, j, k));
                BOOST_TEST(&a(i, j, k) == &p(i, j, k));  // same memory
            }
    a(3, 1, 2) = -1.f;  // writes through
    BOOST_TEST(t(1, 2, 3) == -1.f);

    const T3& ct = t;
    auto ca = as_xtensor(ct);  // read-only adaptor of a const tensor
    static_assert(std::is_const_v<std::remove_reference_t<decltype(ca(0, 0, 0))>>);
    BOOST_TEST(ca(1, 2, 3) == -1.f);
    BOOST_TEST(ca.data() == t.data());
}

BOOST_AUTO_TEST_CASE(static_extents_and_mismatch_messages) {
    Tensor<float, Extents<dyn, 8>> a(3);
    Tensor<float, Extents<8>> b;
    Tensor<float, Extents<dyn, 8>> out(3);
    std::fill_n(a.data(), a.size(), 1.5f);
    std::fill_n(b.data(), b.size(), 0.5f);
    add(a, b, out);
    for (index_t i = 0; i < out.size(); ++i) BOOST_TEST(out.data()[i] == 2.f);

    Tensor<float, DExtents<2>> x(2, 3), o(2, 3);
    Tensor<float, DExtents<1>> y(4);
    try {
        add(x, y, o);
        BOOST_FAIL("expected cascadev::Error");
    } catch (const Error& e) {
        const std::string m = e.what();
        BOOST_TEST(m.find("[2, 3]") != std::string::npos);
        BOOST_TEST(m.find("[4]") != std::string::npos);
        BOOST_TEST(m.find("add") != std::string::npos);
    }
    Tensor<float, DExtents<2>> small(2, 1);
    BOOST_CHECK_THROW(copy(x, small), Error);  // the output never broadcasts
    // An input of higher rank than the output is a compile error (static_assert).
}

BOOST_AUTO_TEST_SUITE_END()
