#pragma once
// The core layer: dtypes, extents, views and owning tensors.
#include "cascadev/core/device.hpp"
#include "cascadev/core/dtype.hpp"
#include "cascadev/core/error.hpp"
#include "cascadev/core/extents.hpp"
#include "cascadev/core/tensor.hpp"
#include "cascadev/core/view.hpp"
