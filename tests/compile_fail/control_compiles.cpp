// Control for the compile-fail harness: the same constructs with compatible extents must
// compile, which proves the failing cases fail for the asserted reason only.
#include "cascadev/core.hpp"

float probe(cascadev::View<float, cascadev::Extents<4, 3>> v) {
    cascadev::View<float, cascadev::Extents<4, cascadev::dyn>> w = v;   // static -> dynamic
    cascadev::View<float, cascadev::Extents<4, 3>> back = w;            // checked at run time
    auto r = back.reshape<6, 2>();                                      // same element count
    auto p = v.permute<1, 0>();
    return w(0, 0) + r(0, 0) + p(0, 0);
}
