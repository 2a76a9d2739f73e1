// CUB reductions and the row softmax against double loops.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common.hpp"

using namespace cascadev_test;

BOOST_AUTO_TEST_SUITE(cuda_reduce)

BOOST_AUTO_TEST_CASE_TEMPLATE(sum_and_sum_squares, T, float_types) {
    for (const std::int64_t n : {std::int64_t(1), std::int64_t(7), std::int64_t(1000), std::int64_t((1 << 20) + 3),
                                 std::int64_t(5'000'011)}) {
        const auto h = random_vector<T>(n, unsigned(n), -1.0f, 1.0f);
        const auto d = cascadev::to_device(h);
        double sum = 0, abs_sum = 0, sq = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            const double v = value(h.data()[i]);
            sum += v;
            abs_sum += std::abs(v);
            sq += v * v;
        }
        // fp32 accumulation over a tree: error well under 1e-5 of the sum of magnitudes.
        const double got_sum = cascadev::sum(d);
        BOOST_CHECK_MESSAGE(std::abs(got_sum - sum) <= 1e-5 * abs_sum + 1e-6,
                   "sum n=" << n << ": got " << got_sum << ", expected " << sum);
        const double got_sq = cascadev::sum_squares(d.view());
        BOOST_CHECK_MESSAGE(std::abs(got_sq - sq) <= 1e-5 * sq + 1e-6,
                   "sum_squares n=" << n << ": got " << got_sq << ", expected " << sq);
    }
}

BOOST_AUTO_TEST_CASE(empty_and_non_contiguous) {
    Tensor<float, DExtents<1>, Dev> empty;
    BOOST_CHECK(cascadev::sum(empty) == 0.0f);
    Tensor<float, DExtents<2>, Dev> m(3, 4);
    BOOST_CHECK(cascadev::sum_squares(m) == 0.0f);
    BOOST_CHECK_THROW((void)cascadev::sum(m.view().permute<1, 0>()), cascadev::Error);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

/// Softmax of each row of host values in double.
std::vector<double> softmax_ref(const std::vector<double>& x, std::int64_t rows, std::int64_t cols) {
    std::vector<double> y(x.size());
    for (std::int64_t r = 0; r < rows; ++r) {
        const double* xr = x.data() + r * cols;
        double m = -INFINITY;
        for (std::int64_t c = 0; c < cols; ++c) m = std::max(m, xr[c]);
        double s = 0;
        for (std::int64_t c = 0; c < cols; ++c) s += std::exp(xr[c] - m);
        for (std::int64_t c = 0; c < cols; ++c) y[std::size_t(r * cols + c)] = std::exp(xr[c] - m) / s;
    }
    return y;
}

const std::int64_t softmax_cols[] = {1, 3, 31, 32, 33, 257, 1024, 1025, 4099};

}  // namespace

BOOST_AUTO_TEST_SUITE(cuda_softmax)

BOOST_AUTO_TEST_CASE_TEMPLATE(rows_against_double, T, float_types) {
    const std::int64_t rows = 37;
    for (const std::int64_t cols : softmax_cols) {
        Tensor<T, DExtents<2>> h(rows, cols);
        fill_random(h, unsigned(cols), -8.0f, 8.0f);
        std::vector<double> x(std::size_t(h.size()));
        for (std::int64_t i = 0; i < h.size(); ++i) x[std::size_t(i)] = value(h.data()[i]);
        const auto want = softmax_ref(x, rows, cols);

        auto d = cascadev::to_device(h);
        Tensor<T, DExtents<2>, Dev> y(rows, cols);
        cascadev::softmax(d, y);
        check_close(cascadev::to_host(y).data(), want, 2 * rtol_of<T>(), atol_of<T>(),
                    "softmax cols=" + std::to_string(cols));

        cascadev::softmax(d.view(), d.view());  // in place
        check_close(cascadev::to_host(d).data(), want, 2 * rtol_of<T>(), atol_of<T>(),
                    "softmax in place cols=" + std::to_string(cols));
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(strided_rows, T, float_types) {
    // The input is columns [2, 2 + cols) of a wider matrix: rows are strided, the last dim contiguous.
    const std::int64_t rows = 5, pad = 7;
    for (const std::int64_t cols : softmax_cols) {
        Tensor<T, DExtents<2>> h(rows, cols + pad);
        fill_random(h, unsigned(cols + 100), -8.0f, 8.0f);
        std::vector<double> x;
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t c = 0; c < cols; ++c) x.push_back(value(h(r, c + 2)));
        const auto want = softmax_ref(x, rows, cols);

        const auto d = cascadev::to_device(h);
        Tensor<T, DExtents<2>, Dev> y(rows, cols);
        cascadev::softmax(d.view().template slice<1>(2, 2 + cols), y);
        check_close(cascadev::to_host(y).data(), want, 2 * rtol_of<T>(), atol_of<T>(),
                    "softmax strided cols=" + std::to_string(cols));
    }
}

BOOST_AUTO_TEST_CASE(masked_entries) {
    // -inf entries (attention masks) get probability 0; a row's first entry may be masked.
    const std::int64_t rows = 9;
    for (const std::int64_t cols : softmax_cols) {
        Tensor<float, DExtents<2>> h(rows, cols);
        fill_random(h, unsigned(cols + 7), -8.0f, 8.0f);
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t c = 0; c + 1 < cols; c += 3) h(r, c) = -std::numeric_limits<float>::infinity();
        std::vector<double> x(h.data(), h.data() + h.size());
        const auto want = softmax_ref(x, rows, cols);
        const auto d = cascadev::to_device(h);
        Tensor<float, DExtents<2>, Dev> y(rows, cols);
        cascadev::softmax(d, y);
        check_close(cascadev::to_host(y).data(), want, 2e-5, 1e-8, "softmax masked cols=" + std::to_string(cols));
    }
}

BOOST_AUTO_TEST_CASE(shape_checks) {
    Tensor<float, DExtents<2>, Dev> x(4, 6), y(4, 5);
    BOOST_CHECK_THROW(cascadev::softmax(x, y), cascadev::Error);
    Tensor<float, DExtents<2>, Dev> t(6, 4);
    BOOST_CHECK_THROW(cascadev::softmax(x.view().permute<1, 0>(), t), cascadev::Error);  // last dim strided
}

BOOST_AUTO_TEST_SUITE_END()
