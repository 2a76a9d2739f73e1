#pragma once
// Variants of SVD's temporal VAE decoder (docs/reference/svd.md §4; golden/variants.json
// "svd.*"). A variant is a struct of static constexpr fields; SvdVariant checks them.
#include <array>
#include <concepts>
#include <cstddef>

#include "cascadev/core/extents.hpp"

namespace cascadev::models {

template <class V>
concept SvdVariant = requires {
    { V::block_out_channels.size() } -> std::convertible_to<std::size_t>;
    { V::block_out_channels[0] } -> std::convertible_to<index_t>;
    { V::layers_per_block } -> std::convertible_to<index_t>;
    { V::latent_channels } -> std::convertible_to<index_t>;
    { V::out_channels } -> std::convertible_to<index_t>;
    { V::norm_groups } -> std::convertible_to<index_t>;
    { V::eps } -> std::convertible_to<double>;
    { V::temporal_eps } -> std::convertible_to<double>;
    { V::attention_head_dim } -> std::convertible_to<int>;
    { V::scaling_factor } -> std::convertible_to<double>;
} && (V::block_out_channels.size() >= 1) && (V::layers_per_block >= 1) &&
    (V::block_out_channels[V::block_out_channels.size() - 1] % V::attention_head_dim == 0);

/// stabilityai/stable-video-diffusion-img2vid-xt, folder vae (svd.released).
struct SvdReleased {
    static constexpr const char* name = "svd.released";
    static constexpr std::array<index_t, 4> block_out_channels{128, 256, 512, 512};
    static constexpr index_t layers_per_block = 2;
    static constexpr index_t latent_channels = 4;
    static constexpr index_t out_channels = 3;
    static constexpr index_t norm_groups = 32;
    static constexpr double eps = 1e-6;
    static constexpr double temporal_eps = 1e-5;
    static constexpr int attention_head_dim = 512;
    static constexpr double scaling_factor = 0.18215;  // informative: not applied by decode
};

/// The tiny test variant (svd.tiny): same structure, widths [8, 8, 16, 16], 4 groups.
struct SvdTiny {
    static constexpr const char* name = "svd.tiny";
    static constexpr std::array<index_t, 4> block_out_channels{8, 8, 16, 16};
    static constexpr index_t layers_per_block = 2;
    static constexpr index_t latent_channels = 4;
    static constexpr index_t out_channels = 3;
    static constexpr index_t norm_groups = 4;
    static constexpr double eps = 1e-6;
    static constexpr double temporal_eps = 1e-5;
    static constexpr int attention_head_dim = 16;
    static constexpr double scaling_factor = 0.18215;
};

static_assert(SvdVariant<SvdReleased> && SvdVariant<SvdTiny>);

}  // namespace cascadev::models
