#pragma once
// --variant of the example programs: the model variant named on the command line, as a type.
#include <string>

#include "cascadev/models/dit.hpp"
#include "cascadev/vae.hpp"
#include "cli.hpp"

namespace cascadev::examples {

/// Calls f(V{}) for the VideoVAE variant `name` (released or tiny).
template <class F>
auto with_vae_variant(const std::string& name, F&& f) {
    if (name == "released") return f(vae::Released{});
    if (name == "tiny") return f(vae::Tiny{});
    throw UsageError("--variant: expected released or tiny, got \"" + name + "\"");
}

/// Calls f(V{}) for the DiT variant `name` ("tiny" or "dit.tiny", ...).
template <class F>
auto with_dit_variant(std::string name, F&& f) {
    if (name.rfind("dit.", 0) == 0) name = name.substr(4);
    if (name == "xl2") return f(models::DitXL2{});
    if (name == "xl2_d4") return f(models::DitXL2D4{});
    if (name == "tiny") return f(models::DitTiny{});
    if (name == "tiny8") return f(models::DitTiny8{});
    if (name == "tiny_s8") return f(models::DitTinyS8{});
    throw UsageError("--variant: unknown DiT variant \"" + name + "\" (expected xl2, xl2_d4, tiny, tiny8 or tiny_s8)");
}

}  // namespace cascadev::examples
