#pragma once
// The CascadeV DiT on the CPU: variants, embeddings, blocks, final layer, the model and its
// long/large-video entry (forward_with_dpmsolver). See docs/reference/dit.md.
#include "cascadev/models/dit/block.hpp"
#include "cascadev/models/dit/config.hpp"
#include "cascadev/models/dit/embeddings.hpp"
#include "cascadev/models/dit/final_layer.hpp"
#include "cascadev/models/dit/model.hpp"
