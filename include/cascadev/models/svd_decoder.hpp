#pragma once
// SVD's temporal VAE decoder (AutoencoderKLTemporalDecoder's decoder) as CascadeV calls it
// (docs/reference/svd.md): the latent video [B, latent_channels, T, h, w] is cut into
// consecutive slices of slice_size frames, each decoded as an independent clip, and the
// result [B, out_channels, T, f·h, f·w] (f = 2^(len(widths) − 1)) is returned as is — no
// scaling factor, no post-quant conv, no clamp.
//
// Generic over the variant (block widths, layers per block, groups, eps values, attention
// head dim); parameters are bound by the released diffusers key names under "decoder.".
//
// Memory: three scratch buffers sized for the largest activation of ONE slice (allocated
// once per decode call and reused by every slice), plus the attention's per-frame q/k/v;
// slices read the latent through strided views and time_conv_out writes straight into the
// output video, so nothing scales with the video length except the input and output.
#include <algorithm>
#include <string>
#include <vector>

#include "cascadev/models/svd_decoder/blocks.hpp"
#include "cascadev/models/svd_decoder/config.hpp"

namespace cascadev::models {

template <SvdVariant V>
struct SvdDecoder {
    using variant = V;
    static constexpr std::size_t levels = V::block_out_channels.size();
    static constexpr index_t factor = index_t(1) << (levels - 1);
    static constexpr index_t top = V::block_out_channels[levels - 1];
    static constexpr int head_dim = V::attention_head_dim;
    static constexpr int heads = int(top / head_dim);
    static constexpr index_t L = V::layers_per_block;

    /// reversed(block_out_channels)[i].
    static constexpr index_t rev(std::size_t i) { return V::block_out_channels[levels - 1 - i]; }

    struct MidBlock {
        std::vector<svd::SpatioTemporalResBlock> resnets;
        svd::SpatialAttention<heads, head_dim> attention;
    };
    struct UpBlock {
        std::vector<svd::SpatioTemporalResBlock> resnets;
        std::optional<svd::Upsampler> upsampler;
    };

    svd::NormCfg cfg{V::norm_groups, V::eps, V::temporal_eps};
    svd::Conv2dW conv_in;
    MidBlock mid_block;
    std::vector<UpBlock> up_blocks;
    svd::GroupNormW conv_norm_out;
    svd::Conv2dW conv_out;
    svd::Conv3dW time_conv_out;

    SvdDecoder()
        : conv_in(top, V::latent_channels, 3),
          conv_norm_out(rev(levels - 1)),
          conv_out(V::out_channels, rev(levels - 1), 3),
          time_conv_out(V::out_channels, V::out_channels) {
        for (index_t i = 0; i < L; ++i) mid_block.resnets.emplace_back(top, top);
        for (std::size_t i = 0; i < levels; ++i) {
            UpBlock u;
            const index_t in = rev(i == 0 ? 0 : i - 1), out = rev(i);
            for (index_t j = 0; j <= L; ++j) u.resnets.emplace_back(j == 0 ? in : out, out);
            if (i + 1 < levels) u.upsampler.emplace(out);
            up_blocks.push_back(std::move(u));
        }
    }

    /// Binds every parameter; `b` is at the decoder's prefix (the released "decoder.").
    void bind(io::Binder& b) {
        conv_in.bind(b, "conv_in");
        for (std::size_t i = 0; i < mid_block.resnets.size(); ++i) {
            auto c = b.child("mid_block.resnets." + std::to_string(i));
            mid_block.resnets[i].bind(c);
        }
        {
            auto c = b.child("mid_block.attentions.0");
            mid_block.attention.bind(c);
        }
        for (std::size_t i = 0; i < up_blocks.size(); ++i) {
            const std::string p = "up_blocks." + std::to_string(i);
            for (std::size_t j = 0; j < up_blocks[i].resnets.size(); ++j) {
                auto c = b.child(p + ".resnets." + std::to_string(j));
                up_blocks[i].resnets[j].bind(c);
            }
            if (up_blocks[i].upsampler) {
                auto c = b.child(p + ".upsamplers.0");
                up_blocks[i].upsampler->bind(c);
            }
        }
        conv_norm_out.bind(b, "conv_norm_out");
        conv_out.bind(b, "conv_out");
        time_conv_out.bind(b, "time_conv_out");
    }

    /// Loads the decoder from a store holding the released keys "decoder.*" (other keys,
    /// e.g. the released file's encoder.* and quant_conv.*, are ignored). Reports every
    /// missing, mis-shaped and unexpected decoder.* key at once.
    void load(const io::WeightStore& store, const std::string& prefix = "decoder.") {
        io::Binder b(store, prefix);
        bind(b);
        b.finish();
    }

    /// Floats of one scratch buffer for a clip of N frames of latent side h × w.
    static index_t buffer_floats(index_t N, index_t h, index_t w) {
        index_t m = std::max(V::latent_channels, top) * h * w;
        for (std::size_t i = 0; i < levels; ++i) {
            const index_t area = (h << i) * (w << i);
            m = std::max(m, std::max(rev(i == 0 ? 0 : i - 1), rev(i)) * area);
            if (i + 1 < levels) m = std::max(m, rev(i) * 4 * area);
        }
        m = std::max(m, V::out_channels * (h * factor) * (w * factor));
        return N * m;
    }

    /// Decodes clips of F frames: z [N, latent, h, w] (any strides; N = clips·F, frame
    /// n = v·F + f) into out [N/F, out_channels, F, f·h, f·w] (contiguous planes, any other
    /// strides, e.g. a slice of the output video). `scratch` holds 3·buffer_floats(N, h, w)
    /// floats (grown when smaller).
    void decode_clips(View<const float, DExtents<4>, cpu> z, index_t F, View<float, DExtents<5>, cpu> out,
                      std::vector<float>& scratch) const {
        const index_t N = z.extent(0), h = z.extent(2), w = z.extent(3);
        if (z.extent(1) != V::latent_channels)
            fail("svd decoder: latent ", z.extents().str(), " needs ", V::latent_channels, " channels");
        if (F <= 0 || N % F != 0) fail("svd decoder: ", N, " frames do not split into clips of ", F);
        const std::array<index_t, 5> want{N / F, V::out_channels, F, h * factor, w * factor};
        if (out.dims() != want)
            fail("svd decoder: output ", out.extents().str(), " must be ", shape_str(want));
        if (N == 0) return;
        const index_t cap = buffer_floats(N, h, w);
        if (scratch.size() < std::size_t(3 * cap)) scratch.resize(std::size_t(3 * cap));
        svd::Bufs b{{scratch.data(), scratch.data() + cap, scratch.data() + 2 * cap}};

        svd::Shape s{N, top, h, w};
        conv_in(z, b[0]);
        mid_block.resnets[0](b, s, F, cfg);
        if (L >= 2) {
            mid_block.attention(b, s, cfg);
            mid_block.resnets[1](b, s, F, cfg);
        }
        for (const auto& u : up_blocks) {
            for (const auto& r : u.resnets) r(b, s, F, cfg);
            if (u.upsampler) (*u.upsampler)(b, s);
        }
        svd::gn_silu_frames(b[0], b[1], s, conv_norm_out, cfg);
        conv_out(svd::view4(b[1], s), b[2]);
        const svd::Shape so{N, V::out_channels, s.H, s.W};
        time_conv_out(svd::clip5(b[2], so, F), out);
    }

    /// CascadeV's decode (§1): latent [B, latent, T, h, w] → video [B, out, T, f·h, f·w],
    /// decoded slice_size frames at a time (0 = T; T must be a multiple of it).
    void decode_into(View<const float, DExtents<5>, cpu> latent, index_t slice_size,
                     View<float, DExtents<5>, cpu> video) const {
        const index_t B = latent.extent(0), T = latent.extent(2), h = latent.extent(3), w = latent.extent(4);
        if (latent.extent(1) != V::latent_channels)
            fail("svd decode: latent ", latent.extents().str(), " must be [B, ", V::latent_channels, ", T, h, w]");
        const index_t S = slice_size == 0 ? T : slice_size;
        if (S < 0 || (T > 0 && (S == 0 || T % S != 0)))
            fail("svd decode: ", T, " frames are not a multiple of slice_size ", slice_size);
        const std::array<index_t, 5> want{B, V::out_channels, T, h * factor, w * factor};
        if (video.dims() != want)
            fail("svd decode: video ", video.extents().str(), " must be ", shape_str(want));
        if (B == 0 || T == 0) return;
        std::vector<float> scratch;
        for (index_t bi = 0; bi < B; ++bi)
            for (index_t f0 = 0; f0 < T; f0 += S) {
                const auto z = latent.template select<0>(bi).template slice<1>(f0, f0 + S).template permute<1, 0, 2, 3>();
                const auto out = video.template slice<0>(bi, bi + 1).template slice<2>(f0, f0 + S);
                decode_clips(z, S, out, scratch);
            }
    }

    Tensor<float, DExtents<5>> decode(View<const float, DExtents<5>, cpu> latent, index_t slice_size) const {
        Tensor<float, DExtents<5>> video(latent.extent(0), V::out_channels, latent.extent(2), latent.extent(3) * factor,
                                         latent.extent(4) * factor);
        decode_into(latent, slice_size, video);
        return video;
    }
};

}  // namespace cascadev::models
