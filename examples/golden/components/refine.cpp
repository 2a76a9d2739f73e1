// refine (golden/components/refine/README.md): the refine stage with a DiT variant and
// recorded noise: `lat` [1, 16, T, h, w] → `y` [1, 4, T, 4h, 4w]; the noise is noise_0
// (the start) then, for Euler ancestral, noise_1 … noise_N.
#include <string>

#include "../registry.hpp"
#include "dit_variants.hpp"
#include "cascadev/diffusion.hpp"
#include "cascadev/models/dit.hpp"
#include "cascadev/pipeline/refine.hpp"

namespace cascadev::golden {

Outputs run_refine(const GoldenCase& c, const std::string& device) {
    require_cpu(device, c.component());
    pipeline::RefineOptions opt;
    opt.sampler = diffusion::parse_sampler(c.param<std::string>("sampler"));
    opt.steps = c.param<int>("steps");
    if (c.has_param("sr_scale")) opt.sr_scale = c.param<index_t>("sr_scale");
    if (c.has_param("scale_factor")) opt.scale_factor = float(c.param<double>("scale_factor"));
    const auto lat = c.io().load<float, 5>("lat");
    return dit_detail::with_variant(c, [&](auto v) {
        using V = decltype(v);
        models::Dit<V> dit;
        dit.load(c.weights());
        diffusion::RecordedNoise noise(c.io().path());
        int reported = 0;
        auto on_step = [&](int step, int total) {
            if (total != opt.steps || step != reported + 1)
                fail("refine reported step ", step, " of ", total, " out of order");
            reported = step;
        };
        const auto y = pipeline::refine(dit, lat, opt, noise, on_step);
        if (reported != opt.steps) fail("refine reported ", reported, " steps, expected ", opt.steps);
        if (noise.remaining() != 0)
            fail(c.io().path().string(), ": refine left ", noise.remaining(),
                 " recorded noise tensor(s) unused (next: ", noise.next_key(), ")");
        Outputs out;
        out["y"] = NamedArray::from(y);
        return out;
    });
}

}  // namespace cascadev::golden
