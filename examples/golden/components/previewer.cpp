// Golden component previewer.decode: StableCascade's previewer on a latent video.
#include "../registry.hpp"
#include "cascadev/models/previewer.hpp"

namespace cascadev::golden {

namespace {

using namespace cascadev::models;

template <class V>
Outputs run_previewer(const GoldenCase& c) {
    const auto cfg = c.variant_config();
    auto expect = [&](const char* key, double have) {
        if (cfg.contains(key) && cfg.at(key).get<double>() != have)
            fail((c.dir() / "case.json").string(), ": variant ", V::name, " has ", key, " = ", have,
                 " but variants.json says ", cfg.at(key).get<double>());
    };
    expect("c_in", double(V::c_in));
    expect("c_hidden", double(V::c_hidden));
    expect("c_out", double(V::c_out));
    expect("bn_eps", V::bn_eps);
    Previewer<V> p;
    p.load(c.weights());
    const auto latent = c.io().load<float, 5>("latent");
    Outputs out;
    out["video"] = NamedArray::from(p.preview(latent.view()));
    return out;
}

}  // namespace

Outputs run_previewer_decode(const GoldenCase& c, const std::string& device) {
    require_cpu(device, c.component());
    const std::string name = c.variant() ? *c.variant() : std::string();
    if (name == PreviewerTiny::name) return run_previewer<PreviewerTiny>(c);
    if (name == PreviewerReleased::name) return run_previewer<PreviewerReleased>(c);
    fail((c.dir() / "case.json").string(), ": previewer.decode: unknown variant \"", name, "\"");
}

}  // namespace cascadev::golden
