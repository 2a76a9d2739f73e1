#include "../registry.hpp"
#include "cascadev/backend/cpu/resize.hpp"

namespace cascadev::golden {

/// resize.bilinear: params `scale` (integer factor, ratio exactly 1/k) or `size` [H, W].
Outputs run_resize_bilinear(const GoldenCase& c, const std::string& device) {
    require_cpu(device, c.component());
    const auto x = c.io().load<float, 4>("x");
    if (c.has_param("scale") == c.has_param("size"))
        fail((c.dir() / "case.json").string(), ": resize.bilinear needs exactly one of \"scale\" and \"size\"");
    Outputs out;
    if (c.has_param("scale")) {
        out["y"] = NamedArray::from(resize_bilinear_by(x.view(), c.param<index_t>("scale")));
    } else {
        const auto size = c.param<std::vector<index_t>>("size");
        if (size.size() != 2) fail((c.dir() / "case.json").string(), ": \"size\" must be [H, W]");
        Tensor<float, DExtents<4>> y(x.extent(0), x.extent(1), size[0], size[1]);
        resize_bilinear(x.view(), y.view());
        out["y"] = NamedArray::from(y);
    }
    return out;
}

}  // namespace cascadev::golden
