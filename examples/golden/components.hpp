#pragma once
// The runner's component table: add one line per implemented component.
#include "components/dit.hpp"
#include "components/resize_bilinear.hpp"
#include "components/rng_torch_cpu.hpp"
#include "components/samplers.hpp"
#include "registry.hpp"

namespace cascadev::golden {

inline const Registry& components() {
    static const Registry r = {
        {"resize.bilinear", run_resize_bilinear},
        {"rng.torch_cpu", run_rng_torch_cpu},
        {"sampler.euler_a", run_sampler_euler_a},
        {"sampler.ddim", run_sampler_ddim},
        {"sampler.dpms", run_sampler_dpms},
        {"dit.embed", run_dit_embed},
        {"dit.layer", run_dit_layer},
        {"dit.forward", run_dit_forward},
        {"dit.forward_with_dpmsolver", run_dit_forward_with_dpmsolver},
    };
    return r;
}

}  // namespace cascadev::golden
