// Golden component of SVD's temporal VAE decoder: svd.decode.
#include <vector>

#include "../registry.hpp"
#include "cascadev/models/svd_decoder.hpp"

namespace cascadev::golden {

namespace {

template <class V>
void check_svd_variant(const GoldenCase& c) {
    const auto cfg = c.variant_config();
    const auto where = (c.dir() / "case.json").string();
    auto expect = [&](const char* key, double have) {
        if (!cfg.contains(key)) return;
        const double want = cfg.at(key).get<double>();
        if (want != have)
            fail(where, ": variant ", V::name, " has ", key, " = ", have, " but variants.json says ", want);
    };
    expect("layers_per_block", double(V::layers_per_block));
    expect("latent_channels", double(V::latent_channels));
    expect("out_channels", double(V::out_channels));
    expect("norm_groups", double(V::norm_groups));
    expect("eps", V::eps);
    expect("temporal_eps", V::temporal_eps);
    expect("attention_head_dim", double(V::attention_head_dim));
    if (cfg.contains("block_out_channels")) {
        const auto w = cfg.at("block_out_channels").get<std::vector<index_t>>();
        if (!std::equal(w.begin(), w.end(), V::block_out_channels.begin(), V::block_out_channels.end()))
            fail(where, ": variant ", V::name, ": block_out_channels differ from variants.json");
    }
}

template <class F>
Outputs with_svd_variant(const GoldenCase& c, F&& f) {
    const std::string name = c.variant() ? *c.variant() : std::string();
    auto go = [&](auto v) {
        check_svd_variant<decltype(v)>(c);
        return f(v);
    };
    if (name == "svd.tiny") return go(models::SvdTiny{});
    if (name == "svd.released") return go(models::SvdReleased{});
    fail((c.dir() / "case.json").string(), ": unknown SVD variant \"", name, "\"");
}

}  // namespace

Outputs run_svd_decode(const GoldenCase& c, const std::string& device) {
    require_cpu(device, c.component());
    return with_svd_variant(c, [&](auto v) {
        using V = decltype(v);
        models::SvdDecoder<V> m;
        m.load(c.weights());
        const auto latent = c.io().load<float, 5>("latent");
        const auto T = c.param<index_t>("frames");
        if (latent.extent(2) != T)
            fail((c.dir() / "case.json").string(), ": latent ", latent.extents().str(), " has not ", T, " frames");
        const auto slice = c.param<index_t>("slice_size");
        Outputs out;
        out["video"] = NamedArray::from(m.decode(View<const float, DExtents<5>, cpu>(latent.view()), slice));
        return out;
    });
}

}  // namespace cascadev::golden
