#pragma once
// Golden components of the DiT: dit.embed, dit.layer, dit.forward, dit.forward_with_dpmsolver.
// The variant type is picked from case.json's variant name and checked against variants.json.
#include <span>
#include <string>
#include <vector>

#include "../registry.hpp"
#include "cascadev/models/dit.hpp"

namespace cascadev::golden {

namespace dit_detail {

using namespace cascadev::models;

template <class V>
void check_variant(const GoldenCase& c) {
    const auto cfg = c.variant_config();
    auto expect = [&](const char* key, double have) {
        if (!cfg.contains(key)) return;
        const double want = cfg.at(key).get<double>();
        if (want != have)
            fail((c.dir() / "case.json").string(), ": variant ", V::name, " has ", key, " = ", have,
                 " but variants.json says ", want);
    };
    expect("hidden", double(V::hidden));
    expect("depth", double(V::depth));
    expect("heads", double(V::heads));
    expect("patch", double(V::patch));
    expect("in_channels", double(V::in_channels));
    expect("out_channels", double(V::out_channels));
    expect("input_size", double(V::input_size));
    expect("lats_per_vid", double(V::lats_per_vid));
    expect("pe_temporal", double(V::pe_temporal));
    expect("pe_spatial", double(V::pe_spatial));
    expect("pe_interpolation", V::pe_interpolation);
    expect("freq_dim", double(V::freq_dim));
    expect("mlp_ratio", V::mlp_ratio);
    if (cfg.contains("attn_strides")) {
        const auto& s = cfg.at("attn_strides");
        bool same = s.size() == V::attn_strides.size();
        for (std::size_t i = 0; same && i < s.size(); ++i) {
            const StridesEntry a = V::attn_strides[i];
            same = s[i].is_null() ? !a : (a && s[i][0].get<index_t>() == a->ts && s[i][1].get<index_t>() == a->xs);
        }
        if (!same) fail((c.dir() / "case.json").string(), ": variant ", V::name, ": attn_strides differ from variants.json");
    }
}

/// Calls f(V{}) with the variant struct named by the case.
template <class F>
Outputs with_variant(const GoldenCase& c, F&& f) {
    const std::string name = c.variant() ? *c.variant() : std::string();
    auto go = [&](auto v) {
        check_variant<decltype(v)>(c);
        return f(v);
    };
    if (name == "dit.tiny") return go(DitTiny{});
    if (name == "dit.tiny8") return go(DitTiny8{});
    if (name == "dit.tiny_s8") return go(DitTinyS8{});
    if (name == "dit.xl2") return go(DitXL2{});
    if (name == "dit.xl2_d4") return go(DitXL2D4{});
    fail((c.dir() / "case.json").string(), ": unknown DiT variant \"", name, "\"");
}

inline std::vector<float> load_vec(const GoldenCase& c, const char* name) {
    const auto t = c.io().load<float, 1>(name);
    return std::vector<float>(t.data(), t.data() + t.size());
}

}  // namespace dit_detail

inline Outputs run_dit_embed(const GoldenCase& c, const std::string& device) {
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

inline Outputs run_dit_layer(const GoldenCase& c, const std::string& device) {
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

inline Outputs run_dit_forward(const GoldenCase& c, const std::string& device) {
    require_cpu(device, c.component());
    return dit_detail::with_variant(c, [&](auto v) {
        using V = decltype(v);
        models::Dit<V> m;
        m.load(c.weights());
        const auto x = c.io().load<float, 4>("x");
        const auto tau = dit_detail::load_vec(c, "timestep");
        Outputs out;
        out["y"] = NamedArray::from(m.forward(View<const float, DExtents<4>, cpu>(x.view()), tau));
        return out;
    });
}

inline Outputs run_dit_forward_with_dpmsolver(const GoldenCase& c, const std::string& device) {
    require_cpu(device, c.component());
    return dit_detail::with_variant(c, [&](auto v) {
        using V = decltype(v);
        models::Dit<V> m;
        m.load(c.weights());
        const auto x = c.io().load<float, 4>("x");
        const auto tau = dit_detail::load_vec(c, "timestep");
        Outputs out;
        out["eps"] = NamedArray::from(m.forward_with_dpmsolver(View<const float, DExtents<4>, cpu>(x.view()), tau));
        return out;
    });
}

}  // namespace cascadev::golden
