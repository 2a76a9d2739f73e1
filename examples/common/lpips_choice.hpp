#pragma once
// --lpips DIR [--lpips-variant alex|alex_tiny] of the example programs: the LPIPS network
// (docs/lpips.md) as a scorer of two 8-bit RGB clips, frame by frame.
#include <functional>
#include <memory>
#include <string>

#include "cascadev/models/lpips.hpp"
#include "cli.hpp"

namespace cascadev::examples {

using LpipsClip = View<const std::uint8_t, DExtents<4>, cpu>;  ///< RGB uint8 [T, H, W, 3]
using LpipsScorer = std::function<models::LpipsResult(const LpipsClip&, const LpipsClip&)>;

inline constexpr const char* lpips_help =
    "folder with LPIPS' weight files alexnet-owt-7be5be79.pth and alex.pth (docs/lpips.md): adds LPIPS";

/// The published weights from `dir` (variant "alex"), or the narrow test variant
/// ("alex_tiny", tests/models/data/lpips_tiny). Empty `dir`: no scorer.
inline LpipsScorer load_lpips(const std::string& dir, const std::string& variant = "alex") {
    if (dir.empty()) return {};
    auto make = [&](auto model) -> LpipsScorer {
        auto m = std::make_shared<decltype(model)>();
        m->load_published(dir);
        return [m](const LpipsClip& a, const LpipsClip& b) { return m->evaluate(a, b); };
    };
    if (variant == "alex") return make(models::Lpips<models::LpipsAlex>{});
    if (variant == "alex_tiny") return make(models::Lpips<models::LpipsAlexTiny>{});
    throw UsageError("--lpips-variant: expected alex or alex_tiny, got \"" + variant + "\"");
}

}  // namespace cascadev::examples
