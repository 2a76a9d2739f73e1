// float16 / bfloat16 conversions checked against an independent reference.
//
// The reference never looks at the implementation's bit tricks: widening is the textbook
// formula (-1)^s * 2^(e-bias) * (1.m) evaluated in double; narrowing scales |f| so that
// the target's unit in the last place becomes 1, rounds that (exact) double with
// std::nearbyint under FE_TONEAREST (ties to even), scales back, and re-encodes the
// double by the same formula.
#include <boost/test/unit_test.hpp>

#include <cfenv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <vector>

#include "cascadev/core/dtype.hpp"

using namespace cascadev;

namespace {

// ---- format descriptions -------------------------------------------------------------
struct F16Fmt {
    static constexpr int exp_bits = 5, man_bits = 10, bias = 15;
    using type = float16;
    static std::uint16_t narrow(float f) { return float16(f).bits; }
    static float widen(std::uint16_t b) { return float(float16::from_bits(b)); }
};
struct BF16Fmt {
    static constexpr int exp_bits = 8, man_bits = 7, bias = 127;
    using type = bfloat16;
    static std::uint16_t narrow(float f) { return bfloat16(f).bits; }
    static float widen(std::uint16_t b) { return float(bfloat16::from_bits(b)); }
};

template <class Fmt>
constexpr std::uint16_t exp_max() { return std::uint16_t((1u << Fmt::exp_bits) - 1u); }
template <class Fmt>
constexpr std::uint16_t inf_bits() { return std::uint16_t(exp_max<Fmt>() << Fmt::man_bits); }
template <class Fmt>
constexpr std::uint16_t max_finite_bits() { return std::uint16_t(inf_bits<Fmt>() - 1u); }
template <class Fmt>
constexpr int emin() { return 1 - Fmt::bias; }  // exponent of the smallest normal

/// Value of a 16-bit pattern from the sign/exponent/mantissa formula.
template <class Fmt>
double ref_widen(std::uint16_t b) {
    const bool neg = (b >> 15) & 1u;
    const unsigned e = (b >> Fmt::man_bits) & exp_max<Fmt>();
    const unsigned m = b & ((1u << Fmt::man_bits) - 1u);
    double v;
    if (e == exp_max<Fmt>())
        v = m == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
    else if (e == 0)
        v = std::ldexp(double(m), emin<Fmt>() - Fmt::man_bits);
    else
        v = std::ldexp(double((1u << Fmt::man_bits) + m), int(e) - Fmt::bias - Fmt::man_bits);
    return neg ? -v : v;
}

bool is_nan_bits16(std::uint16_t b, int man_bits, unsigned emax) {
    return ((b >> man_bits) & emax) == emax && (b & ((1u << man_bits) - 1u)) != 0;
}
template <class Fmt>
bool is_nan_bits(std::uint16_t b) { return is_nan_bits16(b, Fmt::man_bits, exp_max<Fmt>()); }

/// Encodes a non-negative double that is exactly representable (or >= 2^(emax+1): inf).
template <class Fmt>
std::uint16_t ref_encode_abs(double v) {
    if (v == 0) return 0;
    const int emax_unbiased = int(exp_max<Fmt>()) - 1 - Fmt::bias;
    if (v >= std::ldexp(1.0, emax_unbiased + 1)) return inf_bits<Fmt>();
    if (v < std::ldexp(1.0, emin<Fmt>())) {
        const double q = std::ldexp(v, Fmt::man_bits - emin<Fmt>());
        if (q != std::floor(q)) throw std::logic_error("ref_encode_abs: not representable (subnormal)");
        return std::uint16_t(q);
    }
    int e2 = 0;
    (void)std::frexp(v, &e2);  // v = f * 2^e2, f in [0.5, 1)
    const int e = e2 - 1;
    const double q = std::ldexp(v, Fmt::man_bits - e);  // in [2^man, 2^(man+1))
    if (q != std::floor(q)) throw std::logic_error("ref_encode_abs: not representable (normal)");
    const unsigned m = unsigned(q) - (1u << Fmt::man_bits);
    return std::uint16_t((unsigned(e + Fmt::bias) << Fmt::man_bits) | m);
}

/// Reference narrowing of a float (non-NaN): round to nearest, ties to even, overflow to inf.
template <class Fmt>
std::uint16_t ref_narrow(float f) {
    const std::uint16_t sign = std::signbit(f) ? 0x8000u : 0u;
    const double a = std::fabs(double(f));
    if (std::isinf(a)) return std::uint16_t(sign | inf_bits<Fmt>());
    if (a == 0) return sign;
    int e2 = 0;
    (void)std::frexp(a, &e2);
    const int e = std::max(e2 - 1, emin<Fmt>());        // binade (subnormals share emin's ulp)
    const double scaled = std::ldexp(a, Fmt::man_bits - e);  // exact: a power-of-two scaling
    const double r = std::nearbyint(scaled);              // FE_TONEAREST: ties to even
    const double v = std::ldexp(r, e - Fmt::man_bits);
    return std::uint16_t(sign | ref_encode_abs<Fmt>(v));
}

std::string hex(std::uint32_t v) {
    std::ostringstream os;
    os << "0x" << std::hex << v;
    return os.str();
}

float f_of(std::uint32_t u) { return std::bit_cast<float>(u); }
std::uint32_t u_of(float f) { return std::bit_cast<std::uint32_t>(f); }

/// Checks the implementation against the reference for one float; counts failures and
/// reports only the first few, so a systematic bug does not flood the log.
template <class Fmt>
struct Checker {
    std::size_t checked = 0, failures = 0;
    void operator()(float f) {
        ++checked;
        const std::uint16_t got = Fmt::narrow(f);
        if (std::isnan(f)) {
            const bool ok = is_nan_bits<Fmt>(got) && ((got >> 15) != 0) == std::signbit(f);
            if (!ok && failures++ < 10)
                BOOST_ERROR("NaN input " << hex(u_of(f)) << " narrowed to " << hex(got));
            return;
        }
        const std::uint16_t want = ref_narrow<Fmt>(f);
        if (got != want && failures++ < 10)
            BOOST_ERROR("narrow(" << hex(u_of(f)) << " = " << double(f) << ") gave " << hex(got)
                                  << ", reference " << hex(want));
    }
};

struct RoundingModeGuard {
    int saved = std::fegetround();
    RoundingModeGuard() { std::fesetround(FE_TONEAREST); }
    ~RoundingModeGuard() { std::fesetround(saved); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(dtype)

// ---- the reference itself ----------------------------------------------------------------
BOOST_AUTO_TEST_CASE(reference_self_check) {
    // Hand-computed anchors, so a wrong reference cannot agree with a wrong implementation.
    BOOST_TEST(ref_widen<F16Fmt>(0x3c00) == 1.0);
    BOOST_TEST(ref_widen<F16Fmt>(0x7bff) == 65504.0);
    BOOST_TEST(ref_widen<F16Fmt>(0x0001) == std::ldexp(1.0, -24));
    BOOST_TEST(ref_widen<F16Fmt>(0x03ff) == std::ldexp(1023.0, -24));
    BOOST_TEST(ref_widen<F16Fmt>(0x0400) == std::ldexp(1.0, -14));
    BOOST_TEST(ref_widen<F16Fmt>(0xc000) == -2.0);
    BOOST_TEST(ref_widen<F16Fmt>(0x3555) == 0.333251953125);
    BOOST_TEST(ref_widen<BF16Fmt>(0x3f80) == 1.0);
    BOOST_TEST(ref_widen<BF16Fmt>(0x7f7f) == std::ldexp(255.0, 120));
    BOOST_TEST(ref_widen<BF16Fmt>(0x0001) == std::ldexp(1.0, -133));
    BOOST_TEST(ref_widen<BF16Fmt>(0xc049) == -3.140625);
    BOOST_TEST(ref_narrow<F16Fmt>(65519.0f) == 0x7bff);
    BOOST_TEST(ref_narrow<F16Fmt>(65520.0f) == 0x7c00);
    BOOST_TEST(ref_narrow<F16Fmt>(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);
    BOOST_TEST(ref_narrow<F16Fmt>(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);
    BOOST_TEST(ref_narrow<F16Fmt>(std::ldexp(1.0f, -25)) == 0x0000);
    BOOST_TEST(ref_narrow<F16Fmt>(std::ldexp(3.0f, -25)) == 0x0002);
    BOOST_TEST(ref_narrow<BF16Fmt>(f_of(0x3f808000)) == 0x3f80);
    BOOST_TEST(ref_narrow<BF16Fmt>(f_of(0x3f818000)) == 0x3f82);
    BOOST_TEST(ref_narrow<BF16Fmt>(std::numeric_limits<float>::max()) == 0x7f80);
}

// ---- (a) every 16-bit pattern widens to its exact value ----------------------------------
template <class Fmt>
void check_all_widen() {
    std::size_t bad = 0;
    for (std::uint32_t b = 0; b <= 0xffff; ++b) {
        const float got = Fmt::widen(std::uint16_t(b));
        const double want = ref_widen<Fmt>(std::uint16_t(b));
        bool ok;
        if (std::isnan(want))
            ok = std::isnan(got) && std::signbit(got) == bool(b & 0x8000u);
        else
            ok = double(got) == want && std::signbit(got) == std::signbit(want);  // -0 stays -0
        if (!ok && bad++ < 10) BOOST_ERROR("widen(" << hex(b) << ") = " << got << ", expected " << want);
    }
    BOOST_TEST(bad == 0u);
}
BOOST_AUTO_TEST_CASE(f16_widen_all_patterns) { check_all_widen<F16Fmt>(); }
BOOST_AUTO_TEST_CASE(bf16_widen_all_patterns) { check_all_widen<BF16Fmt>(); }

// ---- (b) widen -> narrow is the identity for every non-NaN pattern ------------------------
template <class Fmt>
void check_all_roundtrip() {
    std::size_t bad = 0, nans = 0;
    for (std::uint32_t b = 0; b <= 0xffff; ++b) {
        const auto h = std::uint16_t(b);
        const std::uint16_t back = Fmt::narrow(Fmt::widen(h));
        if (is_nan_bits<Fmt>(h)) {
            ++nans;
            if ((!is_nan_bits<Fmt>(back) || (back & 0x8000u) != (h & 0x8000u)) && bad++ < 10)
                BOOST_ERROR("NaN " << hex(h) << " came back as " << hex(back));
            continue;
        }
        if (back != h && bad++ < 10) BOOST_ERROR("round trip " << hex(h) << " -> " << hex(back));
    }
    BOOST_TEST(bad == 0u);
    BOOST_TEST(nans == 2u * ((1u << Fmt::man_bits) - 1u));
}
BOOST_AUTO_TEST_CASE(f16_roundtrip_all_patterns) { check_all_roundtrip<F16Fmt>(); }
BOOST_AUTO_TEST_CASE(bf16_roundtrip_all_patterns) { check_all_roundtrip<BF16Fmt>(); }

// ---- (c) narrowing against the reference ---------------------------------------------------
/// Every exact midpoint between consecutive representable values (both signs), the float
/// just below and above each, and the midpoint between max finite and 2^(emax+1).
template <class Fmt>
void check_all_midpoints() {
    RoundingModeGuard g;
    Checker<Fmt> check;
    const std::uint16_t top = max_finite_bits<Fmt>();
    for (std::uint32_t b = 0; b <= top; ++b) {
        const double lo = ref_widen<Fmt>(std::uint16_t(b));
        const double hi = b == top ? std::ldexp(1.0, int(exp_max<Fmt>()) - 1 - Fmt::bias + 1)
                                   : ref_widen<Fmt>(std::uint16_t(b + 1));
        const double mid = (lo + hi) / 2;
        const float fm = float(mid);
        BOOST_REQUIRE(double(fm) == mid);  // midpoints need man_bits+2 bits: floats hold them
        for (float f : {fm, std::nextafter(fm, 0.0f), std::nextafter(fm, std::numeric_limits<float>::infinity()),
                        float(lo)}) {
            check(f);
            check(-f);
        }
        // Ties go to even: the midpoint lands on whichever neighbour has an even pattern.
        const std::uint16_t tie = Fmt::narrow(fm);
        const std::uint16_t even = (b & 1u) ? std::uint16_t(b + 1) : std::uint16_t(b);
        if (tie != even) BOOST_ERROR("tie at " << mid << " gave " << hex(tie) << ", expected even " << hex(even));
    }
    BOOST_TEST(check.failures == 0u, "checked " << check.checked);
}
BOOST_AUTO_TEST_CASE(f16_all_midpoints) { check_all_midpoints<F16Fmt>(); }
BOOST_AUTO_TEST_CASE(bf16_all_midpoints) { check_all_midpoints<BF16Fmt>(); }

/// Every float whose bits below the target's rounding position are one of the critical
/// patterns (0, 1, half-1, half, half+1, all ones), for every value of the bits above.
/// For bf16 this covers every float pattern's rounding decision class.
BOOST_AUTO_TEST_CASE(bf16_critical_low_bits_all_high_bits) {
    RoundingModeGuard g;
    Checker<BF16Fmt> check;
    for (std::uint32_t hi = 0; hi <= 0xffff; ++hi)
        for (std::uint32_t lo : {0x0000u, 0x0001u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu, 0x4000u, 0xc000u})
            check(f_of((hi << 16) | lo));
    BOOST_TEST(check.failures == 0u, "checked " << check.checked);
}

BOOST_AUTO_TEST_CASE(f16_critical_low_bits_all_high_bits) {
    RoundingModeGuard g;
    Checker<F16Fmt> check;
    // Normal halves round at bit 13 of the float mantissa; subnormal halves further up:
    // vary the low 16 bits over critical values at every shift the subnormal range uses.
    for (std::uint32_t hi = 0; hi < (1u << 19); ++hi)
        for (std::uint32_t lo : {0x0000u, 0x0001u, 0x0fffu, 0x1000u, 0x1001u, 0x1fffu})
            check(f_of((hi << 13) | lo));
    for (std::uint32_t e = 100; e <= 113; ++e)  // floats near / in the half subnormal range
        for (std::uint32_t m = 0; m < (1u << 23); m += 97) {
            check(f_of((e << 23) | m));
            check(f_of(0x80000000u | (e << 23) | m));
        }
    BOOST_TEST(check.failures == 0u, "checked " << check.checked);
}

template <class Fmt>
void check_random(std::size_t n, std::uint64_t seed) {
    RoundingModeGuard g;
    Checker<Fmt> check;
    std::mt19937_64 rng(seed);
    // Uniform bit patterns (all binades, NaNs, infs, subnormals) ...
    for (std::size_t i = 0; i < n; ++i) check(f_of(std::uint32_t(rng())));
    // ... and values concentrated in the target's finite range.
    std::uniform_real_distribution<float> expo(-30.f, 17.f);
    std::uniform_int_distribution<std::uint32_t> any;
    for (std::size_t i = 0; i < n; ++i) {
        const float f = std::exp2(expo(rng)) * ((any(rng) & 1u) ? -1.f : 1.f);
        check(f);
    }
    // ... and a strided sweep over all 2^32 patterns.
    for (std::uint64_t u = 0; u < (std::uint64_t(1) << 32); u += 1021) check(f_of(std::uint32_t(u)));
    BOOST_TEST(check.failures == 0u, "checked " << check.checked);
}
BOOST_AUTO_TEST_CASE(f16_random_and_strided) { check_random<F16Fmt>(3'000'000, 0xf16f16); }
BOOST_AUTO_TEST_CASE(bf16_random_and_strided) { check_random<BF16Fmt>(3'000'000, 0xbf16bf16); }

// ---- explicit boundaries -------------------------------------------------------------------
BOOST_AUTO_TEST_CASE(f16_boundaries) {
    auto n = [](float f) { return float16(f).bits; };
    const float inf = std::numeric_limits<float>::infinity();
    BOOST_TEST(n(0.0f) == 0x0000);
    BOOST_TEST(n(-0.0f) == 0x8000);
    BOOST_TEST(n(1.0f) == 0x3c00);
    BOOST_TEST(n(-2.0f) == 0xc000);
    BOOST_TEST(n(65504.0f) == 0x7bff);                          // max finite
    BOOST_TEST(n(std::nextafter(65520.0f, 0.0f)) == 0x7bff);    // just below the overflow tie
    BOOST_TEST(n(65520.0f) == 0x7c00);                          // tie -> even -> inf
    BOOST_TEST(n(-65520.0f) == 0xfc00);
    BOOST_TEST(n(1e10f) == 0x7c00);
    BOOST_TEST(n(std::numeric_limits<float>::max()) == 0x7c00);
    BOOST_TEST(n(inf) == 0x7c00);
    BOOST_TEST(n(-inf) == 0xfc00);
    BOOST_TEST(n(std::ldexp(1.0f, -14)) == 0x0400);             // smallest normal
    BOOST_TEST(n(std::ldexp(1023.0f, -24)) == 0x03ff);          // largest subnormal
    BOOST_TEST(n(std::ldexp(2047.0f, -25)) == 0x0400);          // tie between them -> even (0x400)
    BOOST_TEST(n(std::ldexp(1.0f, -24)) == 0x0001);             // smallest subnormal
    BOOST_TEST(n(std::ldexp(1.0f, -25)) == 0x0000);             // half of it: tie -> 0
    BOOST_TEST(n(-std::ldexp(1.0f, -25)) == 0x8000);
    BOOST_TEST(n(std::nextafter(std::ldexp(1.0f, -25), 1.0f)) == 0x0001);
    BOOST_TEST(n(std::ldexp(3.0f, -25)) == 0x0002);             // 1.5 ulp: tie -> even 2
    BOOST_TEST(n(std::ldexp(5.0f, -25)) == 0x0002);             // 2.5 ulp: tie -> even 2
    BOOST_TEST(n(std::numeric_limits<float>::denorm_min()) == 0x0000);
    BOOST_TEST(n(-std::numeric_limits<float>::denorm_min()) == 0x8000);
    BOOST_TEST(n(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);      // tie -> even
    BOOST_TEST(n(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);  // tie -> even (up)
    BOOST_TEST(n(2047.0f / 1024.0f * 32768.0f) == 0x7bff);
    for (std::uint32_t nan : {0x7fc00000u, 0x7f800001u, 0x7fbfffffu, 0xffc00000u, 0xff800001u, 0x7f802000u}) {
        const std::uint16_t h = n(f_of(nan));
        BOOST_TEST(is_nan_bits<F16Fmt>(h), hex(nan) << " -> " << hex(h));
        BOOST_TEST(bool(h & 0x8000u) == bool(nan & 0x80000000u));
    }
    BOOST_TEST(std::isnan(float(float16::from_bits(0x7e00))));
    BOOST_TEST(float(float16::from_bits(0x7c00)) == inf);
    BOOST_TEST(float(float16::from_bits(0xfc00)) == -inf);
    BOOST_TEST(std::signbit(float(float16::from_bits(0x8000))));
}

BOOST_AUTO_TEST_CASE(bf16_boundaries) {
    auto n = [](float f) { return bfloat16(f).bits; };
    const float inf = std::numeric_limits<float>::infinity();
    BOOST_TEST(n(0.0f) == 0x0000);
    BOOST_TEST(n(-0.0f) == 0x8000);
    BOOST_TEST(n(1.0f) == 0x3f80);
    BOOST_TEST(n(f_of(0x3f808000)) == 0x3f80);  // tie -> even (down)
    BOOST_TEST(n(f_of(0x3f818000)) == 0x3f82);  // tie -> even (up)
    BOOST_TEST(n(f_of(0x3f808001)) == 0x3f81);
    BOOST_TEST(n(f_of(0x7f7f0000)) == 0x7f7f);  // max finite
    BOOST_TEST(n(f_of(0x7f7f7fff)) == 0x7f7f);
    BOOST_TEST(n(f_of(0x7f7f8000)) == 0x7f80);  // tie -> even -> inf
    BOOST_TEST(n(std::numeric_limits<float>::max()) == 0x7f80);
    BOOST_TEST(n(-std::numeric_limits<float>::max()) == 0xff80);
    BOOST_TEST(n(inf) == 0x7f80);
    BOOST_TEST(n(-inf) == 0xff80);
    BOOST_TEST(n(std::numeric_limits<float>::denorm_min()) == 0x0000);  // 2^-149 < 2^-134
    BOOST_TEST(n(f_of(0x00008000)) == 0x0000);  // tie -> 0
    BOOST_TEST(n(f_of(0x00018000)) == 0x0002);  // tie -> even 2
    BOOST_TEST(n(f_of(0x00008001)) == 0x0001);
    BOOST_TEST(n(f_of(0x007fffff)) == 0x0080);  // largest float subnormal rounds to min normal
    BOOST_TEST(n(f_of(0x807fffff)) == 0x8080);
    for (std::uint32_t nan : {0x7fc00000u, 0x7f800001u, 0x7fbfffffu, 0xffc00000u, 0xff800001u, 0x7f80ffffu}) {
        const std::uint16_t h = n(f_of(nan));
        BOOST_TEST(is_nan_bits<BF16Fmt>(h), hex(nan) << " -> " << hex(h));
        BOOST_TEST(bool(h & 0x8000u) == bool(nan & 0x80000000u));
    }
}

// ---- dtype table, names and raw loads --------------------------------------------------------
BOOST_AUTO_TEST_CASE(dtype_table) {
    BOOST_TEST(sizeof(float16) == 2u);
    BOOST_TEST(sizeof(bfloat16) == 2u);
    for (DType d : {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64, DType::I32, DType::U8,
                    DType::BOOL})
        BOOST_TEST((dtype_from_name(dtype_name(d)) == d));
    BOOST_TEST(dtype_size(DType::F64) == 8u);
    BOOST_TEST(dtype_size(DType::I64) == 8u);
    BOOST_TEST(dtype_size(DType::F32) == 4u);
    BOOST_TEST(dtype_size(DType::I32) == 4u);
    BOOST_TEST(dtype_size(DType::F16) == 2u);
    BOOST_TEST(dtype_size(DType::BF16) == 2u);
    BOOST_TEST(dtype_size(DType::U8) == 1u);
    BOOST_TEST(dtype_size(DType::BOOL) == 1u);
    static_assert(dtype_v<float> == DType::F32 && dtype_v<float16> == DType::F16 &&
                  dtype_v<bfloat16> == DType::BF16 && dtype_v<std::int64_t> == DType::I64);
    BOOST_TEST(is_floating(DType::BF16));
    BOOST_TEST(!is_floating(DType::I32));
    for (const char* bad : {"f32", "F8_E4M3", "", "FLOAT", "F32 "}) {
        try {
            (void)dtype_from_name(bad);
            BOOST_ERROR("accepted dtype '" << bad << "'");
        } catch (const Error& e) {
            BOOST_TEST(std::string(e.what()).find(std::string("\"") + bad + "\"") != std::string::npos, e.what());
        }
    }
}

BOOST_AUTO_TEST_CASE(load_as_every_dtype) {
    alignas(8) std::byte buf[64]{};
    auto put = [&](std::size_t off, auto v) { std::memcpy(buf + off, &v, sizeof v); };
    // Unaligned reads: element 1 of each type sits at an odd address (buf + 1).
    put(1 + 4, 2.5f);
    BOOST_TEST(load_as<double>(buf + 1, DType::F32, 1) == 2.5);
    put(1 + 8, -7.25);
    BOOST_TEST(load_as<float>(buf + 1, DType::F64, 1) == -7.25f);
    put(1 + 2, std::uint16_t(0xc100));  // f16 -2.5
    BOOST_TEST(load_as<float>(buf + 1, DType::F16, 1) == -2.5f);
    put(1 + 2, std::uint16_t(0x4049));  // bf16 3.140625
    BOOST_TEST(load_as<double>(buf + 1, DType::BF16, 1) == 3.140625);
    put(1 + 8, std::int64_t(-123456789012345));
    BOOST_TEST(load_as<std::int64_t>(buf + 1, DType::I64, 1) == -123456789012345);
    put(1 + 4, std::int32_t(-42));
    BOOST_TEST(load_as<float>(buf + 1, DType::I32, 1) == -42.f);
    buf[5] = std::byte{200};
    BOOST_TEST(load_as<int>(buf, DType::U8, 5) == 200);
    buf[6] = std::byte{7};
    BOOST_TEST(load_as<int>(buf, DType::BOOL, 6) == 1);
    buf[6] = std::byte{0};
    BOOST_TEST(load_as<int>(buf, DType::BOOL, 6) == 0);
}

BOOST_AUTO_TEST_CASE(struct_conversions) {
    const float16 h(0.1f);
    BOOST_TEST(h.bits == 0x2e66);
    BOOST_TEST(float(h) == float(ref_widen<F16Fmt>(0x2e66)));
    const bfloat16 b(0.1f);
    BOOST_TEST(b.bits == 0x3dcd);
    static_assert(float16::from_bits(0x1234).bits == 0x1234);
    static_assert(bfloat16::from_bits(0x4321).bits == 0x4321);
    BOOST_TEST(float16().bits == 0);
    BOOST_TEST(bfloat16().bits == 0);
}

BOOST_AUTO_TEST_SUITE_END()
