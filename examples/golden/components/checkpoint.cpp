#include "../registry.hpp"
#include "cascadev/io/pth.hpp"

namespace cascadev::golden {

/// checkpoint.pth: reads params.pth with the reference's selection (params.dict) and
/// drop rule (params.drop), and checks it against params.expect bit for bit: equal key
/// sets, and per key equal dtype, shape and raw element bits (F16/BF16 as 16-bit words).
/// The case has no tensor outputs; the result is reported as self checks.
Outputs run_checkpoint_pth(const GoldenCase& c, const std::string& device) {
    require_cpu(device, c.component());
    if (c.has_param("compare") && c.param<std::string>("compare") != "exact")
        fail((c.dir() / "case.json").string(), ": checkpoint.pth supports compare = exact only");
    io::PthOptions opt;
    opt.dict = c.param<std::string>("dict");
    if (c.has_param("drop")) opt.drop = c.param<std::vector<std::string>>("drop");
    const io::PthReader got(c.dir() / c.param<std::string>("pth"), opt);
    const io::SafetensorsSource want(std::make_shared<io::SafetensorsReader>(c.dir() / c.param<std::string>("expect")));

    std::size_t bad = 0;
    for (const auto& t : want.tensors()) {
        std::string why;
        if (!got.contains(t.name)) {
            why = "missing from the .pth";
        } else {
            const auto& g = got.info(t.name);
            if (g.dtype != t.dtype)
                why = concat("dtype ", dtype_name(g.dtype), " but expected ", dtype_name(t.dtype));
            else if (g.shape != t.shape)
                why = concat("shape ", shape_str(g.shape), " but expected ", shape_str(t.shape));
            else if (got.read_raw(t.name) != want.read_raw(t.name))
                why = "element bits differ";
        }
        if (!why.empty()) ++bad;
        self_checks().push_back({t.name, why.empty(), why});
    }
    for (const auto& t : got.tensors())
        if (!want.contains(t.name)) {
            ++bad;
            self_checks().push_back({t.name, false, "unexpected key (not in " + c.param<std::string>("expect") + ")"});
        }
    self_checks().push_back({"keys", bad == 0,
                             concat(got.tensors().size(), " tensors read, ", want.tensors().size(), " expected",
                                    got.dropped().empty() ? std::string() : ", dropped \"" + got.dropped() + "\"")});
    return {};
}

}  // namespace cascadev::golden
