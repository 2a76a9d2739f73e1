#pragma once
// DiT variant dispatch for golden components: the variant type is picked from case.json's
// variant name and checked against variants.json.
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

}  // namespace cascadev::golden
