#pragma once
// DiT variants (docs/reference/dit.md §1, §14): structs of static constexpr widths, depths
// and the attention-layout schedule. A custom model is a new struct with the same members.
#include <array>
#include <cstddef>
#include <optional>
#include <type_traits>

#include "cascadev/attention/layout.hpp"
#include "cascadev/core/extents.hpp"

namespace cascadev::models {

/// One entry of attn_strides: [ts, xs] windows (cascadev::AttnStrides of the attention
/// layer), or full 3-D attention (nullopt, the reference's null).
using cascadev::AttnStrides;
using StridesEntry = std::optional<AttnStrides>;
inline constexpr StridesEntry full3d = std::nullopt;

/// What a DiT variant provides (all static constexpr).
template <class V>
concept DitVariant = requires {
    { V::hidden } -> std::convertible_to<index_t>;
    { V::depth } -> std::convertible_to<index_t>;
    { V::heads } -> std::convertible_to<index_t>;
    { V::head_dim } -> std::convertible_to<index_t>;
    { V::mlp_hidden } -> std::convertible_to<index_t>;
    { V::patch } -> std::convertible_to<index_t>;
    { V::in_channels } -> std::convertible_to<index_t>;
    { V::out_channels } -> std::convertible_to<index_t>;
    { V::input_size } -> std::convertible_to<index_t>;
    { V::lats_per_vid } -> std::convertible_to<index_t>;
    { V::pe_temporal } -> std::convertible_to<index_t>;
    { V::pe_spatial } -> std::convertible_to<index_t>;
    { V::pe_interpolation } -> std::convertible_to<double>;
    { V::freq_dim } -> std::convertible_to<index_t>;
    V::attn_strides.size();
} && V::hidden == V::heads * V::head_dim && V::pe_temporal + V::pe_spatial == V::hidden &&
    V::pe_temporal % 2 == 0 && V::pe_spatial % 4 == 0 && V::freq_dim % 2 == 0 && V::attn_strides.size() > 0;

/// The released CascadeV DiT (PixArt-Sigma XL/2 backbone): dit.xl2.
struct DitXL2 {
    static constexpr const char* name = "dit.xl2";
    static constexpr index_t hidden = 1152, depth = 28, heads = 16, head_dim = 72;
    static constexpr double mlp_ratio = 4.0;
    static constexpr index_t mlp_hidden = index_t(hidden * mlp_ratio);
    static constexpr index_t patch = 2, in_channels = 20, out_channels = 8;
    static constexpr index_t input_size = 128, lats_per_vid = 8;
    static constexpr index_t pe_temporal = 384, pe_spatial = 768;
    static constexpr double pe_interpolation = 2.0;
    static constexpr index_t freq_dim = 256;
    static constexpr double scale_factor = 0.13025;
    static constexpr StridesEntry a = AttnStrides{1, 4}, b = AttnStrides{4, 1}, n = full3d;
    static constexpr std::array<StridesEntry, 28> attn_strides = {
        a, b, a, b, a, b, a, b,  //
        n, n, n, n,              //
        a, b, a, b, a, b, a, b,  //
        n, n, n, n, n, n, n, n};
};

/// Released widths with depth 4 and input_size 16 (large golden cases): dit.xl2_d4.
struct DitXL2D4 : DitXL2 {
    static constexpr const char* name = "dit.xl2_d4";
    static constexpr index_t depth = 4, input_size = 16;
    static constexpr std::array<StridesEntry, 4> attn_strides = {AttnStrides{1, 4}, AttnStrides{4, 1}, full3d,
                                                                AttnStrides{1, 4}};
};

/// Test variant dit.tiny: C 24, 2 heads of 12, depth 4, S 16, L 4, split 8 + 16.
struct DitTiny {
    static constexpr const char* name = "dit.tiny";
    static constexpr index_t hidden = 24, depth = 4, heads = 2, head_dim = 12;
    static constexpr double mlp_ratio = 4.0;
    static constexpr index_t mlp_hidden = index_t(hidden * mlp_ratio);
    static constexpr index_t patch = 2, in_channels = 20, out_channels = 8;
    static constexpr index_t input_size = 16, lats_per_vid = 4;
    static constexpr index_t pe_temporal = 8, pe_spatial = 16;
    static constexpr double pe_interpolation = 2.0;
    static constexpr index_t freq_dim = 256;
    static constexpr double scale_factor = 0.13025;
    static constexpr std::array<StridesEntry, 4> attn_strides = {AttnStrides{1, 2}, AttnStrides{2, 1}, full3d,
                                                                AttnStrides{2, 2}};
};

/// dit.tiny8: as dit.tiny with L 8 and strides [1,4], [4,1], null, [2,2].
struct DitTiny8 : DitTiny {
    static constexpr const char* name = "dit.tiny8";
    static constexpr index_t lats_per_vid = 8;
    static constexpr std::array<StridesEntry, 4> attn_strides = {AttnStrides{1, 4}, AttnStrides{4, 1}, full3d,
                                                                AttnStrides{2, 2}};
};

/// dit.tiny_s8: as dit.tiny with input_size 8.
struct DitTinyS8 : DitTiny {
    static constexpr const char* name = "dit.tiny_s8";
    static constexpr index_t input_size = 8;
};

static_assert(DitVariant<DitXL2> && DitVariant<DitXL2D4> && DitVariant<DitTiny> && DitVariant<DitTiny8> &&
              DitVariant<DitTinyS8>);

}  // namespace cascadev::models
