#pragma once
// The io layer: safetensors (mmap reader, atomic writer) and the weight store.
#include "cascadev/io/safetensors.hpp"
#include "cascadev/io/weight_store.hpp"
