#pragma once
// A synthetic moving test clip for demos and end-to-end tests (no downloads needed).
#include <algorithm>
#include <cmath>

#include "cascadev/video/preprocess.hpp"

namespace cascadev::examples {

/// BGR uint8 [T, S, S, 3]: diagonal stripes drifting right, a bright disc moving along a
/// circle, a vertical colour gradient. `variant` shifts the phase, speed and colours, so
/// different variants give different clips.
inline video::Clip synthetic_clip(index_t T, index_t S, int variant = 0) {
    video::Clip c(T, S, S, index_t(3));
    const double pi = 3.14159265358979323846;
    const double phase = 0.7 * variant, speed = 3.0 + variant, period = 16.0 + 4 * (variant % 3);
    for (index_t t = 0; t < T; ++t) {
        const double cx = S * (0.5 + 0.25 * std::cos(2 * pi * t / T + phase));
        const double cy = S * (0.5 + 0.25 * std::sin(2 * pi * t / T + phase));
        for (index_t y = 0; y < S; ++y)
            for (index_t x = 0; x < S; ++x) {
                const double stripe = 0.5 + 0.5 * std::sin(2 * pi * (x + y + speed * t) / period + phase);
                const double disc = std::hypot(x - cx, y - cy) < S / 6.0 ? 1.0 : 0.0;
                const double b = 40 + 150 * stripe, g = 255.0 * y / S, r = 60 + 195 * disc;
                const double tint = 20.0 * (variant % 4);
                c(t, y, x, 0) = std::uint8_t(std::min(255.0, b * (1 - disc) + 255 * disc));
                c(t, y, x, 1) = std::uint8_t(std::min(255.0, g + tint * (1 - disc)));
                c(t, y, x, 2) = std::uint8_t(std::min(255.0, r));
            }
    }
    return c;
}

}  // namespace cascadev::examples
