// Golden component lpips: LPIPS v0.1 (AlexNet) per-frame distances (docs/lpips.md,
// tests/golden/components/lpips/README.md). params.channels picks the variant (the published
// widths or the tiny test ones); params.input says whether the inputs are float frames
// x0, x1 [N, 3, H, W] in [-1, 1] or uint8 clips a, b [T, H, W, 3].
#include <algorithm>

#include "../registry.hpp"
#include "cascadev/models/lpips.hpp"

namespace cascadev::golden {

namespace {

using namespace cascadev::models;

template <class V>
Outputs run_lpips_variant(const GoldenCase& c) {
    Lpips<V> m;
    m.load(c.weights());
    const std::string input = c.param<std::string>("input");
    LpipsResult r;
    if (input == "f32") {
        const auto x0 = c.io().load<float, 4>("x0");
        const auto x1 = c.io().load<float, 4>("x1");
        r = m.evaluate(x0.view(), x1.view());
    } else if (input == "u8") {
        const auto a = c.io().load<std::uint8_t, 4>("a");
        const auto b = c.io().load<std::uint8_t, 4>("b");
        r = m.evaluate(a.view(), b.view());
    } else {
        fail((c.dir() / "case.json").string(), ": lpips: param input must be \"f32\" or \"u8\", not \"", input, "\"");
    }
    const auto n = index_t(r.distance.size());
    Tensor<float, DExtents<1>> d(n);
    Tensor<float, DExtents<2>> layers(n, 5);
    for (index_t i = 0; i < n; ++i) {
        d(i) = float(r.distance[std::size_t(i)]);
        for (index_t k = 0; k < 5; ++k) layers(i, k) = float(r.layers[std::size_t(i)][std::size_t(k)]);
    }
    Outputs out;
    out["d"] = NamedArray::from(d);
    out["layers"] = NamedArray::from(layers);
    return out;
}

}  // namespace

Outputs run_lpips(const GoldenCase& c, const std::string& device) {
    require_cpu(device, c.component());
    const auto ch = c.param<std::vector<index_t>>("channels");
    auto is = [&](const auto& v) { return std::equal(ch.begin(), ch.end(), v.begin(), v.end()); };
    if (is(LpipsAlex::channels)) return run_lpips_variant<LpipsAlex>(c);
    if (is(LpipsAlexTiny::channels)) return run_lpips_variant<LpipsAlexTiny>(c);
    fail((c.dir() / "case.json").string(), ": lpips: no variant with channels ", shape_str(ch));
}

}  // namespace cascadev::golden
