#pragma once
// Stage 1c (docs/reference/pipeline.md): the semantic latent [1, 16, T, h, w] -> preview
// video [1, 3, T, 8h, 8w] in [-1, 1] through StableCascade's previewer, frame by frame.
#include <algorithm>

#include "cascadev/core/error.hpp"
#include "cascadev/core/tensor.hpp"
#include "cascadev/models/previewer.hpp"
#include "cascadev/pipeline/progress.hpp"

namespace cascadev::pipeline {

/// progress("preview", t, T) after each frame.
template <class V>
Tensor<float, DExtents<5>> preview(const models::Previewer<V>& previewer, const View<const float, DExtents<5>, cpu>& latent,
                                   const Progress& progress = {}) {
    if (latent.extent(0) != 1) fail("preview: expects one video, a latent [1, C, T, h, w]; got ", latent.extents().str());
    const index_t T = latent.extent(2);
    if (T < 1) fail("preview: the latent has no frames");
    Tensor<float, DExtents<5>> out;
    for (index_t t = 0; t < T; ++t) {
        const auto y = previewer.preview(latent.template slice<2>(t, t + 1));
        if (t == 0) out = Tensor<float, DExtents<5>>(index_t(1), y.extent(1), T, y.extent(3), y.extent(4));
        const index_t plane = y.extent(3) * y.extent(4);
        for (index_t c = 0; c < y.extent(1); ++c)
            std::copy_n(y.data() + c * plane, plane, out.data() + (c * T + t) * plane);
        report(progress, "preview", int(t + 1), int(T));
    }
    return out;
}

}  // namespace cascadev::pipeline
