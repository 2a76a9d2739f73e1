// Must NOT compile: a static extent differs between two views (4 vs 5 in dim 0).
// Expected diagnostic: "cascadev: static extent mismatch".
#include "cascadev/core.hpp"

float probe(cascadev::View<float, cascadev::Extents<4, 3>> v) {
    cascadev::View<float, cascadev::Extents<5, 3>> w = v;  // static 4 vs static 5
    return w(0, 0);
}
