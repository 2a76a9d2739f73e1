#pragma once
// The io layer: safetensors (mmap reader, atomic writer), PyTorch zip checkpoints (.pth),
// the TensorSource interface both implement, and the weight store.
#include "cascadev/io/pth.hpp"
#include "cascadev/io/safetensors.hpp"
#include "cascadev/io/tensor_source.hpp"
#include "cascadev/io/weight_store.hpp"
