#pragma once
// The runner's component table: add one line per implemented component.
#include "components/resize_bilinear.hpp"
#include "registry.hpp"

namespace cascadev::golden {

inline const Registry& components() {
    static const Registry r = {
        {"resize.bilinear", run_resize_bilinear},
    };
    return r;
}

}  // namespace cascadev::golden
