// libFuzzer target: PthReader (zip + restricted unpickler + tensor validation) and
// WeightStore (format detection by content) on arbitrary bytes. Every tensor of both dict
// selections is listed and loaded as float and as raw bits. See run_fuzz.sh.
#include <cstddef>
#include <cstdint>

#include "cascadev/io/pth.hpp"
#include "cascadev/io/weight_store.hpp"
#include "fuzz_common.hpp"

namespace {

void direct(const std::filesystem::path& path, cascadev::io::PthOptions opt) {
    const cascadev::io::PthReader r(path, std::move(opt));
    (void)r.prefix(), (void)r.version(), (void)r.dropped(), (void)r.has_ema();
    for (const auto& name : r.names()) {
        (void)r.storage_key(name);
        (void)r.storage_offset(name);
    }
    cascadev_fuzz::load_all(r);
}

void by_content(const std::filesystem::path& path) {
    const cascadev::io::WeightStore store(path);
    for (const auto& key : store.keys()) cascadev_fuzz::store_get(store, key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const cascadev_fuzz::MemFile f(data, size);
    try {
        direct(f.path(), {});
    } catch (const cascadev::Error&) {
    }
    try {
        direct(f.path(), {"state_dict_ema", cascadev::io::reference_drop_keys()});
    } catch (const cascadev::Error&) {
    }
    try {
        by_content(f.path());
    } catch (const cascadev::Error&) {
    }
    return 0;
}
