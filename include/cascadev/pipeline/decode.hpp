#pragma once
// Stage 3 (docs/reference/pipeline.md): the refined SVD latent [1, 4, T, H, W] -> video
// [1, 3, T, 8H, 8W] (not clamped) through SVD's temporal decoder, in consecutive slices
// of `slice_size` frames decoded independently (the temporal layers see only their slice).
#include <algorithm>

#include "cascadev/core/error.hpp"
#include "cascadev/core/tensor.hpp"
#include "cascadev/models/svd_decoder.hpp"
#include "cascadev/pipeline/progress.hpp"

namespace cascadev::pipeline {

struct DecodeOptions {
    /// Frames per decoder slice (4 in the release; 5 for 25-frame clips). T must be a multiple.
    index_t slice_size = 4;
};

inline void check_decode(index_t frames, const DecodeOptions& opt) {
    if (opt.slice_size < 1) fail("decode: slice size must be >= 1, got ", opt.slice_size);
    if (frames % opt.slice_size != 0)
        fail("decode: ", frames, " frame(s) are not a multiple of the decoder's slice size ", opt.slice_size,
             " (--slice-size)");
}

/// progress("decode", s, S) after each slice.
template <class V>
Tensor<float, DExtents<5>> decode(const models::SvdDecoder<V>& svd, const View<const float, DExtents<5>, cpu>& latent,
                                  const DecodeOptions& opt = {}, const Progress& progress = {}) {
    if (latent.extent(0) != 1) fail("decode: expects one video, a latent [1, 4, T, H, W]; got ", latent.extents().str());
    const index_t T = latent.extent(2), S = opt.slice_size;
    if (T < 1) fail("decode: the latent has no frames");
    check_decode(T, opt);
    Tensor<float, DExtents<5>> out;
    const int slices = int(T / S);
    for (index_t f0 = 0; f0 < T; f0 += S) {
        const auto y = svd.decode(latent.template slice<2>(f0, f0 + S), S);
        if (f0 == 0) out = Tensor<float, DExtents<5>>(index_t(1), y.extent(1), T, y.extent(3), y.extent(4));
        const index_t chunk = S * y.extent(3) * y.extent(4);
        for (index_t c = 0; c < y.extent(1); ++c)
            std::copy_n(y.data() + c * chunk, chunk, out.data() + (c * T + f0) * y.extent(3) * y.extent(4));
        report(progress, "decode", int(f0 / S + 1), slices);
    }
    return out;
}

}  // namespace cascadev::pipeline
