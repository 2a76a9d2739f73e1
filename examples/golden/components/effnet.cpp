// Golden component effnet.encode: the semantic compressor on a video.
#include "../registry.hpp"
#include "cascadev/models/effnet.hpp"

namespace cascadev::golden {

namespace {

using namespace cascadev::models;

/// Checks the variant struct against the case's variants.json entry.
template <class V>
void check_effnet_variant(const GoldenCase& c) {
    const auto cfg = c.variant_config();
    const std::string where = (c.dir() / "case.json").string();
    auto expect = [&](const char* key, double have) {
        if (!cfg.contains(key)) return;
        const double want = cfg.at(key).get<double>();
        if (want != have) fail(where, ": variant ", V::name, " has ", key, " = ", have, " but variants.json says ", want);
    };
    expect("stem", double(V::stem));
    expect("head", double(V::head));
    expect("c_latent", double(V::c_latent));
    expect("se_divisor", double(V::se_divisor));
    expect("bn_eps", V::bn_eps);
    expect("mapper_bn_eps", V::mapper_bn_eps);
    if (cfg.contains("stages")) {
        const auto& st = cfg.at("stages");
        bool same = st.size() == V::stages.size();
        for (std::size_t i = 0; same && i < st.size(); ++i) {
            const EffStage& s = V::stages[i];
            const auto& j = st[i];
            same = j.at("type").get<std::string>() == (s.type == EffBlockType::fused ? "fused" : "mb") &&
                   j.at("expand").get<double>() == s.expand && j.at("kernel").get<index_t>() == s.kernel &&
                   j.at("stride").get<index_t>() == s.stride && j.at("c_in").get<index_t>() == s.c_in &&
                   j.at("c_out").get<index_t>() == s.c_out && j.at("layers").get<index_t>() == s.layers;
        }
        if (!same) fail(where, ": variant ", V::name, ": stage table differs from variants.json");
    }
}

template <class V>
Outputs run_effnet(const GoldenCase& c) {
    check_effnet_variant<V>(c);
    EffnetEncoder<V> enc;
    enc.load(c.weights());
    const auto video = c.io().load<float, 5>("video");
    Outputs out;
    out["latent"] = NamedArray::from(enc.encode(video.view()));
    return out;
}

}  // namespace

Outputs run_effnet_encode(const GoldenCase& c, const std::string& device) {
    require_cpu(device, c.component());
    const std::string name = c.variant() ? *c.variant() : std::string();
    if (name == EffnetTiny::name) return run_effnet<EffnetTiny>(c);
    if (name == EffnetV2S::name) return run_effnet<EffnetV2S>(c);
    fail((c.dir() / "case.json").string(), ": effnet.encode: unknown variant \"", name, "\"");
}

}  // namespace cascadev::golden
