#pragma once
// The CPU backend: GEMM (CBLAS), convolutions, elementwise/broadcasting ops (xtensor adaptors over the
// views' buffers), LayerNorm/GroupNorm, softmax and activations, on host views.
#include "cascadev/backend/cpu/activation.hpp"
#include "cascadev/backend/cpu/conv.hpp"
#include "cascadev/backend/cpu/elementwise.hpp"
#include "cascadev/backend/cpu/gemm.hpp"
#include "cascadev/backend/cpu/norm.hpp"
#include "cascadev/backend/cpu/parallel.hpp"
#include "cascadev/backend/cpu/pool.hpp"
#include "cascadev/backend/cpu/resize.hpp"
#include "cascadev/backend/cpu/softmax.hpp"
#include "cascadev/backend/cpu/vector_math.hpp"
#include "cascadev/backend/cpu/xtensor_adapt.hpp"
