// Device storage, host <-> device copies and the elementwise kernels against double loops.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "common.hpp"

using namespace cascadev_test;

BOOST_AUTO_TEST_SUITE(cuda_storage)

BOOST_AUTO_TEST_CASE(zero_filled_and_round_trip) {
    Tensor<float, DExtents<2>, Dev> z(3, 5);
    BOOST_CHECK(z.size() == 15);
    const auto hz = cascadev::to_host(z);
    for (std::int64_t i = 0; i < hz.size(); ++i) BOOST_CHECK(hz.data()[i] == 0.0f);

    auto h = random_vector<bfloat16>(1001, 1);
    const auto d = cascadev::to_device(h);
    const auto back = cascadev::to_host(d);
    BOOST_CHECK(back.dims() == h.dims());
    std::size_t differ = 0;
    for (std::int64_t i = 0; i < h.size(); ++i) differ += back.data()[i].bits != h.data()[i].bits;
    BOOST_CHECK(differ == 0u);
}

BOOST_AUTO_TEST_CASE(static_extents_move_and_clone) {
    Tensor<float, cascadev::Extents<2, 3>> h;
    for (int i = 0; i < 6; ++i) h.data()[i] = float(i) - 2.5f;
    auto d = cascadev::to_device(h);
    const float* p = d.data();
    Tensor<float, cascadev::Extents<2, 3>, Dev> moved(std::move(d));
    BOOST_CHECK(moved.data() == p);
    const auto c = cascadev::clone(moved);
    BOOST_CHECK(c.data() != p);
    const auto back = cascadev::to_host(c);
    for (int i = 0; i < 6; ++i) BOOST_CHECK(back.data()[i] == float(i) - 2.5f);

    Tensor<float, DExtents<1>, Dev> empty;
    BOOST_CHECK(empty.size() == 0);
    BOOST_CHECK(cascadev::to_host(empty).size() == 0);
}

BOOST_AUTO_TEST_CASE(errors_name_the_call) {
    try {
        CASCADEV_CUDA_CHECK(cudaSetDevice(-1));
        BOOST_FAIL("cudaSetDevice(-1) did not throw");
    } catch (const cascadev::Error& e) {
        const std::string what = e.what();
        BOOST_CHECK_MESSAGE(what.find("cudaSetDevice(-1)") != std::string::npos, what);
        BOOST_CHECK_MESSAGE(what.find("cudaErrorInvalidDevice") != std::string::npos, what);
    }
    BOOST_CHECK(cudaGetLastError() == cudaSuccess);  // the check cleared it

    Tensor<float, DExtents<1>> h(4);
    Tensor<float, DExtents<1>, Dev> d(5);
    BOOST_CHECK_THROW(cascadev::copy(h.view(), d.view()), cascadev::Error);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

const std::int64_t sizes[] = {1, 7, 33, 1000, (1 << 20) + 3};

/// Runs dev_op(x_view, y_view) on [offset, offset + n) of device copies (offset 1 makes
/// the pointers unaligned: the scalar path) and compares with ref on the host.
template <class T, class DevOp, class RefOp>
void check_unary(const std::string& name, std::int64_t n, std::int64_t offset, bool in_place, DevOp dev_op,
                 RefOp ref) {
    const auto hx = random_vector<T>(n + offset, unsigned(n * 31 + offset));
    auto dx = cascadev::to_device(hx);
    Tensor<T, DExtents<1>, Dev> dy(n + offset);
    auto xv = dx.view().template slice<0>(offset, offset + n);
    auto yv = (in_place ? dx.view() : dy.view()).template slice<0>(offset, offset + n);
    dev_op(xv, yv);
    CASCADEV_CUDA_CHECK(cudaDeviceSynchronize());
    const auto hy = cascadev::to_host(in_place ? dx : dy);
    std::vector<double> want(static_cast<std::size_t>(n));
    const T* xs = hx.data() + offset;
    for (std::int64_t i = 0; i < n; ++i) want[std::size_t(i)] = ref(value(xs[i]));
    check_close(hy.data() + offset, want, rtol_of<T>(), atol_of<T>(),
                name + " n=" + std::to_string(n) + " offset=" + std::to_string(offset) +
                    (in_place ? " in place" : ""));
}

template <class T, class DevOp, class RefOp>
void check_binary(const std::string& name, std::int64_t n, std::int64_t offset, DevOp dev_op, RefOp ref) {
    const auto ha = random_vector<T>(n + offset, unsigned(n * 7 + offset));
    const auto hb = random_vector<T>(n + offset, unsigned(n * 7 + offset + 1));
    const auto da = cascadev::to_device(ha);
    const auto db = cascadev::to_device(hb);
    Tensor<T, DExtents<1>, Dev> dy(n + offset);
    dev_op(da.view().template slice<0>(offset, offset + n), db.view().template slice<0>(offset, offset + n),
           dy.view().template slice<0>(offset, offset + n));
    CASCADEV_CUDA_CHECK(cudaDeviceSynchronize());
    const auto hy = cascadev::to_host(dy);
    std::vector<double> want(static_cast<std::size_t>(n));
    const T* as = ha.data() + offset;
    const T* bs = hb.data() + offset;
    for (std::int64_t i = 0; i < n; ++i) want[std::size_t(i)] = ref(value(as[i]), value(bs[i]));
    check_close(hy.data() + offset, want, rtol_of<T>(), atol_of<T>(),
                name + " n=" + std::to_string(n) + " offset=" + std::to_string(offset));
}

const auto silu_ref = [](double x) { return x / (1.0 + std::exp(-x)); };
const auto gelu_ref = [](double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); };
const auto gelu_tanh_ref = [](double x) {
    const double k = std::sqrt(2.0 / 3.14159265358979323846);
    return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
};

}  // namespace

BOOST_AUTO_TEST_SUITE(cuda_elementwise)

BOOST_AUTO_TEST_CASE_TEMPLATE(unary_ops, T, float_types) {
    for (const std::int64_t n : sizes)
        for (const std::int64_t offset : {0, 1}) {
            check_unary<T>("silu", n, offset, false, [](auto x, auto y) { cascadev::silu(x, y); }, silu_ref);
            check_unary<T>("gelu", n, offset, false, [](auto x, auto y) { cascadev::gelu(x, y); }, gelu_ref);
            check_unary<T>("gelu_tanh", n, offset, false, [](auto x, auto y) { cascadev::gelu_tanh(x, y); },
                           gelu_tanh_ref);
            check_unary<T>("scale", n, offset, false, [](auto x, auto y) { cascadev::scale(x, -1.7f, y); },
                           [](double x) { return double(-1.7f) * x; });
        }
    check_unary<T>("silu", 1001, 0, true, [](auto x, auto y) { cascadev::silu(x, y); }, silu_ref);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(binary_ops, T, float_types) {
    for (const std::int64_t n : sizes)
        for (const std::int64_t offset : {0, 1}) {
            check_binary<T>("add", n, offset, [](auto a, auto b, auto y) { cascadev::add(a, b, y); },
                            [](double a, double b) { return a + b; });
            check_binary<T>("mul", n, offset, [](auto a, auto b, auto y) { cascadev::mul(a, b, y); },
                            [](double a, double b) { return a * b; });
        }
}

BOOST_AUTO_TEST_CASE(tensors_pass_where_views_go_and_shapes_are_checked) {
    auto h = Tensor<float, DExtents<2>>(3, 4);
    fill_random(h, 5);
    const auto x = cascadev::to_device(h);
    Tensor<float, DExtents<2>, Dev> y(3, 4);
    cascadev::silu(x, y);
    const auto hy = cascadev::to_host(y);
    std::vector<double> want(12);
    for (int i = 0; i < 12; ++i) want[std::size_t(i)] = silu_ref(h.data()[i]);
    check_close(hy.data(), want, 1e-5, 1e-8, "silu on tensors");

    Tensor<float, DExtents<2>, Dev> wrong(4, 3);
    BOOST_CHECK_THROW(cascadev::silu(x, wrong), cascadev::Error);
    // A transposed view is not contiguous: the CUDA elementwise ops refuse it.
    BOOST_CHECK_THROW(cascadev::silu(x.view().permute<1, 0>(), wrong), cascadev::Error);
}

BOOST_AUTO_TEST_SUITE_END()
