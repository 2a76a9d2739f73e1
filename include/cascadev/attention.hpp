#pragma once
// The attention layer: layouts (full 3D, [ts, xs] windows) as index maps into the token
// sequence, and the CPU multi-head attention kernel (blocked, online softmax).
#include "cascadev/attention/attention_cpu.hpp"
#include "cascadev/attention/layout.hpp"
