// libFuzzer target: SafetensorsReader and WeightStore (format detection by content) on
// arbitrary bytes. Every tensor is listed and loaded as float (typed load, zero-copy view,
// raw bytes, the TensorSource path the WeightStore uses). See run_fuzz.sh.
#include <cstddef>
#include <cstdint>

#include "cascadev/io/safetensors.hpp"
#include "cascadev/io/weight_store.hpp"
#include "fuzz_common.hpp"

namespace {

void direct(const std::filesystem::path& path) {
    using namespace cascadev;
    const io::SafetensorsReader r(path);
    (void)r.metadata().dump();
    for (const auto& name : r.names()) {
        const auto& t = r.info(name);
        (void)r.contains(name);
        const auto bytes = r.bytes(name);
        if (bytes.size() != t.end - t.begin) std::abort();
        const std::uint64_t n = cascadev_fuzz::element_count(t);
        if (n > cascadev_fuzz::max_load_elements) continue;
        try {
            cascadev_fuzz::with_rank(t.shape.size(), [&]<std::size_t R>() {
                cascadev_fuzz::consume(r.template load<float, DExtents<R>>(name), n);
            });
        } catch (const Error&) {
        }
        try {
            cascadev_fuzz::with_rank(t.shape.size(), [&]<std::size_t R>() {
                const auto v = r.template view<float, R>(name);
                volatile float sink = 0;
                if (std::uint64_t(v.size()) != n) std::abort();
                if (n) sink = sink + v.data()[n - 1];
            });
        } catch (const Error&) {
        }
    }
}

void by_content(const std::filesystem::path& path) {
    const cascadev::io::WeightStore store(path);
    const auto keys = store.keys();
    for (const auto& key : keys) cascadev_fuzz::store_get(store, key);
    if (!keys.empty()) cascadev_fuzz::load_all(store.source(keys.front()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const cascadev_fuzz::MemFile f(data, size);
    try {
        direct(f.path());
    } catch (const cascadev::Error&) {
    }
    try {
        by_content(f.path());
    } catch (const cascadev::Error&) {
    }
    return 0;
}
