#pragma once
// Storage types: float16 and bfloat16 as 16-bit bit patterns with exact
// round-to-nearest-even conversion from float (NaN stays NaN, overflow goes to inf).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "cascadev/core/error.hpp"

namespace cascadev {

struct bfloat16 {
    std::uint16_t bits = 0;

    static constexpr bfloat16 from_bits(std::uint16_t b) { bfloat16 h; h.bits = b; return h; }
    constexpr bfloat16() = default;
    explicit bfloat16(float f) : bits(round(f)) {}
    operator float() const { return std::bit_cast<float>(std::uint32_t(bits) << 16); }

    static std::uint16_t round(float f) {
        const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
        if ((u & 0x7fffffffu) > 0x7f800000u) return std::uint16_t((u >> 16) | 0x40u);  // quiet NaN
        const std::uint32_t lsb = (u >> 16) & 1u;
        return std::uint16_t((u + 0x7fffu + lsb) >> 16);
    }
};

struct float16 {
    std::uint16_t bits = 0;

    static constexpr float16 from_bits(std::uint16_t b) { float16 h; h.bits = b; return h; }
    constexpr float16() = default;
    explicit float16(float f) : bits(round(f)) {}
    operator float() const { return widen(bits); }

    static float widen(std::uint16_t h) {
        const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
        const std::uint32_t exp = (h >> 10) & 0x1fu;
        std::uint32_t man = h & 0x3ffu;
        std::uint32_t u;
        if (exp == 0x1f) {
            u = sign | 0x7f800000u | (man << 13);
        } else if (exp != 0) {
            u = sign | ((exp + 112u) << 23) | (man << 13);
        } else if (man == 0) {
            u = sign;
        } else {  // subnormal: normalise
            int e = -1;
            do { ++e; man <<= 1; } while ((man & 0x400u) == 0);
            u = sign | (std::uint32_t(112 - e) << 23) | ((man & 0x3ffu) << 13);
        }
        return std::bit_cast<float>(u);
    }

    static std::uint16_t round(float f) {
        const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
        const std::uint16_t sign = std::uint16_t((u >> 16) & 0x8000u);
        const std::uint32_t a = u & 0x7fffffffu;
        if (a > 0x7f800000u) return std::uint16_t(sign | 0x7e00u | ((a >> 13) & 0x3ffu));  // NaN
        if (a >= 0x477ff000u) return std::uint16_t(sign | 0x7c00u);  // rounds to >= 65520: inf
        if (a >= 0x38800000u) {  // normal half
            const std::uint32_t lsb = (a >> 13) & 1u;
            return std::uint16_t(sign | ((a - 0x38000000u + 0xfffu + lsb) >> 13));
        }
        if (a < 0x33000000u) return sign;  // below half the smallest subnormal: zero
        // Subnormal half: shift the full mantissa, round to nearest even.
        const std::uint32_t exp = a >> 23;
        const std::uint32_t man = (a & 0x7fffffu) | 0x800000u;
        const std::uint32_t shift = 126u - exp;  // 14..24
        const std::uint32_t q = man >> shift;
        const std::uint32_t rem = man & ((1u << shift) - 1u);
        const std::uint32_t half = 1u << (shift - 1u);
        const std::uint32_t r = q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
        return std::uint16_t(sign | r);
    }
};

enum class DType { F32, F16, BF16, F64, I64, I32, U8, BOOL };

constexpr std::size_t dtype_size(DType d) {
    switch (d) {
        case DType::F64: case DType::I64: return 8;
        case DType::F32: case DType::I32: return 4;
        case DType::F16: case DType::BF16: return 2;
        case DType::U8: case DType::BOOL: return 1;
    }
    return 0;
}

constexpr std::string_view dtype_name(DType d) {
    switch (d) {
        case DType::F32: return "F32";
        case DType::F16: return "F16";
        case DType::BF16: return "BF16";
        case DType::F64: return "F64";
        case DType::I64: return "I64";
        case DType::I32: return "I32";
        case DType::U8: return "U8";
        case DType::BOOL: return "BOOL";
    }
    return "?";
}

/// Parses a safetensors dtype string; throws naming it when unknown.
inline DType dtype_from_name(std::string_view s) {
    for (DType d : {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64, DType::I32,
                    DType::U8, DType::BOOL})
        if (dtype_name(d) == s) return d;
    fail("unsupported dtype \"", s, "\"");
}

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::F32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::F64; };
template <> struct dtype_of<float16> { static constexpr DType value = DType::F16; };
template <> struct dtype_of<bfloat16> { static constexpr DType value = DType::BF16; };
template <> struct dtype_of<std::int64_t> { static constexpr DType value = DType::I64; };
template <> struct dtype_of<std::int32_t> { static constexpr DType value = DType::I32; };
template <> struct dtype_of<std::uint8_t> { static constexpr DType value = DType::U8; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::BOOL; };
template <class T> inline constexpr DType dtype_v = dtype_of<T>::value;

constexpr bool is_floating(DType d) {
    return d == DType::F32 || d == DType::F16 || d == DType::BF16 || d == DType::F64;
}

/// Reads element i of a raw little-endian buffer of dtype `d` as U.
/// memcpy, not a cast, so an unaligned source is still read safely.
template <class U>
U load_as(const std::byte* p, DType d, std::size_t i) {
    switch (d) {
        case DType::F32: { float v; std::memcpy(&v, p + 4 * i, 4); return static_cast<U>(v); }
        case DType::F64: { double v; std::memcpy(&v, p + 8 * i, 8); return static_cast<U>(v); }
        case DType::F16: { std::uint16_t v; std::memcpy(&v, p + 2 * i, 2);
                           return static_cast<U>(float(float16::from_bits(v))); }
        case DType::BF16: { std::uint16_t v; std::memcpy(&v, p + 2 * i, 2);
                            return static_cast<U>(float(bfloat16::from_bits(v))); }
        case DType::I64: { std::int64_t v; std::memcpy(&v, p + 8 * i, 8); return static_cast<U>(v); }
        case DType::I32: { std::int32_t v; std::memcpy(&v, p + 4 * i, 4); return static_cast<U>(v); }
        case DType::U8: return static_cast<U>(std::to_integer<std::uint8_t>(p[i]));
        case DType::BOOL: return static_cast<U>(p[i] != std::byte{0});
    }
    return U{};
}

}  // namespace cascadev
