#pragma once
// The CUDA backend: device storage for Tensor<T, E, cuda>, host <-> device copies and the
// device ops (elementwise, CUB reductions, row softmax). Include from CUDA translation
// units (nvcc) only; nothing under core/ or backend/cpu/ includes CUDA headers.
#include "cascadev/backend/cuda/types.cuh"
#include "cascadev/backend/cuda/storage.cuh"
#include "cascadev/backend/cuda/elementwise.cuh"
#include "cascadev/backend/cuda/reduce.cuh"
#include "cascadev/backend/cuda/softmax.cuh"
