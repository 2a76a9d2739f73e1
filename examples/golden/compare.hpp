#pragma once
// The golden tolerance rule (FORMAT.md): rel-L2 in double over the whole tensor, an
// optional element-wise max_abs bound, integer outputs exact unless tol says otherwise.
#include <cmath>
#include <string>

#include "golden_case.hpp"

namespace cascadev::golden {

struct Comparison {
    bool pass = false;
    double rel_l2 = 0;
    double max_abs_err = 0;
    std::string detail;  // why it failed, when it did
};

inline std::vector<double> as_doubles(DType dtype, std::span<const std::byte> bytes, std::size_t n) {
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = load_as<double>(bytes.data(), dtype, i);
    return v;
}


inline Comparison compare(const NamedArray& got, const io::SafetensorsReader& io, const ExpectedOutput& want) {
    Comparison c;
    const io::TensorInfo& ref = io.info(want.name);
    if (got.shape != ref.shape) {
        c.detail = "shape " + shape_str(got.shape) + " but expected " + shape_str(ref.shape);
        return c;
    }
    const std::size_t n = std::size_t(ref.numel());
    const auto a = as_doubles(got.dtype, got.bytes, n);
    const auto b = as_doubles(ref.dtype, io.bytes(want.name), n);
    double num = 0, den = 0;
    bool finite = true;
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(a[i])) finite = false;
        const double d = a[i] - b[i];
        num += d * d;
        den += b[i] * b[i];
        c.max_abs_err = std::max(c.max_abs_err, std::abs(d));
    }
    c.rel_l2 = std::sqrt(num) / std::max(std::sqrt(den), 1e-12);
    c.pass = finite && c.rel_l2 <= want.tol;
    if (!finite) c.detail = "non-finite values in the output";
    if (!is_floating(ref.dtype) && want.tol == 0 && c.max_abs_err != 0) {
        c.pass = false;
        c.detail = "integer output differs (exact comparison)";
    }
    if (want.max_abs && c.max_abs_err > *want.max_abs) {
        c.pass = false;
        c.detail = "max |error| above the element-wise bound";
    }
    return c;
}

}  // namespace cascadev::golden
