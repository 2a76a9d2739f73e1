#pragma once
// Components known to the runner. A component computes its outputs from a case on a
// device; one file per component registers itself in components.hpp.
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "golden_case.hpp"

namespace cascadev::golden {

using ComponentFn = std::function<Outputs(const GoldenCase&, const std::string& device)>;
using Registry = std::map<std::string, ComponentFn>;

/// Every component the specification defines (golden/components/README.md). A case of one
/// of these that the runner cannot run yet is reported as "not implemented" (exit 77),
/// anything else as unknown (exit 2): never a silent skip.
inline const std::set<std::string>& specified_components() {
    static const std::set<std::string> all = {
        "dit.embed", "dit.layer", "dit.forward", "dit.forward_with_dpmsolver", "checkpoint.pth",
        "sampler.euler_a", "sampler.ddim", "sampler.dpms", "refine", "rng.torch_cpu",
        "effnet.encode", "previewer.decode", "svd.decode", "resize.bilinear", "video.preprocess",
        "video.load", "metrics", "pipeline.recon"};
    return all;
}

/// For components whose check is not a tensor comparison (e.g. checkpoint.pth): each
/// check the component records is printed by the runner as a PASS/FAIL line and counts
/// toward the case's result exactly like an output.
struct SelfCheck {
    std::string name;
    bool pass = false;
    std::string detail;
};
inline std::vector<SelfCheck>& self_checks() {
    static std::vector<SelfCheck> checks;
    return checks;
}

/// Fails unless the device is the CPU (for components without a CUDA path yet).
inline void require_cpu(const std::string& device, const std::string& component) {
    if (device != "cpu") fail("component ", component, " has no ", device, " implementation yet");
}

}  // namespace cascadev::golden
