// Golden components of the DiT: dit.embed, dit.layer, dit.forward, dit.forward_with_dpmsolver.
#include "dit_variants.hpp"

namespace cascadev::golden {

using namespace cascadev::models;
using namespace dit_detail;
Outputs run_dit_embed(const GoldenCase& c, const std::string& device) {
    require_cpu(device, c.component());
    return dit_detail::with_variant(c, [&](auto v) {
        using V = decltype(v);
        models::Dit<V> m(0);
        io::Binder b(c.weights());
        m.x_embedder.bind(b);
        m.t_embedder.bind(b);
        m.t_block.bind(b);
        b.finish();
        const auto x = c.io().load<float, 4>("x");
        const auto tau = dit_detail::load_vec(c, "timestep");
        auto e = m.embed(View<const float, DExtents<4>, cpu>(x.view()), tau);
        Outputs out;
        out["tokens"] = NamedArray::from(e.tokens3d());
        out["pos"] = NamedArray::from(e.pos);
        out["t"] = NamedArray::from(e.t);
        out["t3d"] = NamedArray::from(e.t3d);
        return out;
    });
}

Outputs run_dit_layer(const GoldenCase& c, const std::string& device) {
    require_cpu(device, c.component());
    return dit_detail::with_variant(c, [&](auto v) {
        using V = decltype(v);
        constexpr index_t C = V::hidden;
        const auto block = c.param<index_t>("block");
        models::DitBlock<V> blk;
        io::Binder b(c.weights());
        blk.bind(b, block);
        b.finish();
        const auto frames = c.param<index_t>("frames");
        const auto grid = c.param<std::vector<index_t>>("grid");
        if (grid.size() != 2) fail((c.dir() / "case.json").string(), ": \"grid\" must be [gh, gw]");
        models::StridesEntry s = models::full3d;
        if (c.has_param("strides")) {
            const auto st = c.param<std::vector<index_t>>("strides");
            if (st.size() != 2) fail((c.dir() / "case.json").string(), ": \"strides\" must be null or [ts, xs]");
            s = AttnStrides{st[0], st[1]};
        }
        auto x = c.io().load<float, Extents<dyn, dyn, C>>("x");
        const auto t3d = c.io().load<float, Extents<dyn, 6 * C>>("t3d");
        blk(x.view(), t3d, s, frames, grid[0], grid[1]);
        Outputs out;
        out["y"] = NamedArray::from(x);
        return out;
    });
}

/// Loads the model and runs one of its frame-level entries on inputs x and timestep.
template <class Entry>
static Outputs run_dit_entry(const GoldenCase& c, const std::string& device, const char* output, Entry entry) {
    require_cpu(device, c.component());
    return dit_detail::with_variant(c, [&](auto v) {
        models::Dit<decltype(v)> m;
        m.load(c.weights());
        const auto x = c.io().load<float, 4>("x");
        const auto tau = dit_detail::load_vec(c, "timestep");
        Outputs out;
        out[output] = NamedArray::from(entry(m, View<const float, DExtents<4>, cpu>(x.view()), tau));
        return out;
    });
}

Outputs run_dit_forward(const GoldenCase& c, const std::string& device) {
    return run_dit_entry(c, device, "y", [](auto& m, auto x, const auto& tau) { return m.forward(x, tau); });
}

Outputs run_dit_forward_with_dpmsolver(const GoldenCase& c, const std::string& device) {
    return run_dit_entry(c, device, "eps",
                         [](auto& m, auto x, const auto& tau) { return m.forward_with_dpmsolver(x, tau); });
}

}  // namespace cascadev::golden
