// Must NOT compile: reshaping static extents [4, 3] (12 elements) to [5, 3] (15 elements).
// Expected diagnostic: "cascadev: reshape changes the element count".
#include "cascadev/core.hpp"

float probe(cascadev::View<float, cascadev::Extents<4, 3>> v) {
    auto w = v.reshape<5, 3>();
    return w(0, 0);
}
