#pragma once
// Shared by the libFuzzer targets (tests/fuzz/run_fuzz.sh builds them with clang's
// -fsanitize=fuzzer,address,undefined). The readers map a file by path, so each input is
// written to an anonymous memfd and opened as /proc/self/fd/N: no files touch the disk.
// Only cascadev::Error is an expected outcome; anything else (a crash, a sanitizer
// report, another exception escaping LLVMFuzzerTestOneInput) is a finding.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>

#include "cascadev/core/error.hpp"
#include "cascadev/core/tensor.hpp"
#include "cascadev/io/tensor_source.hpp"
#include "cascadev/io/weight_store.hpp"

namespace cascadev_fuzz {

/// The input as a regular file (a memfd), closed on destruction.
class MemFile {
public:
    MemFile(const std::uint8_t* data, std::size_t size) {
        fd_ = ::memfd_create("cascadev-fuzz", MFD_CLOEXEC);
        if (fd_ < 0) std::abort();
        for (std::size_t done = 0; done < size;) {
            const ssize_t n = ::write(fd_, data + done, size - done);
            if (n <= 0) std::abort();
            done += std::size_t(n);
        }
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }
    MemFile(const MemFile&) = delete;
    MemFile& operator=(const MemFile&) = delete;
    ~MemFile() { ::close(fd_); }
    const std::filesystem::path& path() const { return path_; }

private:
    int fd_ = -1;
    std::filesystem::path path_;
};

/// Tensors larger than this are not loaded: a .pth tensor with zero strides may legally
/// describe far more elements than its storage holds, and allocating that many floats is
/// a resource limit, not a memory-safety bug. (A safetensors tensor is bounded by the
/// input size anyway.)
inline constexpr std::uint64_t max_load_elements = std::uint64_t(1) << 22;

inline std::uint64_t element_count(const cascadev::io::TensorInfo& t) {
    std::uint64_t n = 1;
    for (auto d : t.shape) {
        if (d < 0) return ~std::uint64_t(0);  // a reader let a negative extent through
        const auto x = std::uint64_t(d);
        if (x != 0 && n > ~std::uint64_t(0) / x) return ~std::uint64_t(0);
        n *= x;
    }
    return n;
}

/// Calls f.template operator()<R>() with R = rank of the tensor (0..16), as the typed
/// load APIs need a compile-time rank; false for larger ranks.
template <class F, std::size_t... R>
bool with_rank_impl(std::size_t rank, F&& f, std::index_sequence<R...>) {
    return ((rank == R ? (f.template operator()<R>(), true) : false) || ...);
}
template <class F>
bool with_rank(std::size_t rank, F&& f) {
    return with_rank_impl(rank, std::forward<F>(f), std::make_index_sequence<17>{});
}

/// Touches every element of a loaded tensor (so a bad read would also be caught by the
/// sanitizers on the copy) and checks the element count.
template <class T, class E>
void consume(const cascadev::Tensor<T, E>& t, std::uint64_t want) {
    const auto v = t.view();  // as a model would use it (row-major strides computed)
    if (std::uint64_t(v.size()) != want || (want && !v.is_contiguous())) std::abort();
    volatile float sink = 0;
    const float* p = v.data();
    for (std::uint64_t i = 0; i < want; ++i) sink = sink + p[i];
}

/// Loads every tensor of a TensorSource as float through the generic (strided) path, and
/// its raw bits; one Error per tensor is expected (e.g. a bool tensor), not a finding.
inline void load_all(const cascadev::io::TensorSource& src) {
    for (const auto& name : src.names()) {
        std::uint64_t n = 0;
        try {
            const auto& t = src.info(name);
            (void)src.layout(name);
            n = element_count(t);
            if (n > max_load_elements) continue;
            with_rank(t.shape.size(), [&]<std::size_t R>() {
                consume(src.template load<float, cascadev::DExtents<R>>(name), n);
            });
        } catch (const cascadev::Error&) {
        }
        if (n > max_load_elements) continue;
        try {
            const auto raw = src.read_raw(name);
            if (raw.size() != n * cascadev::dtype_size(src.info(name).dtype)) std::abort();
            src.release(name);
        } catch (const cascadev::Error&) {
        }
    }
}

/// WeightStore::get of one key as float (load, then release of the mapped pages).
inline void store_get(const cascadev::io::WeightStore& store, const std::string& key) {
    try {
        const auto& t = store.info(key);
        const std::uint64_t n = element_count(t);
        if (n > max_load_elements) return;
        with_rank(t.shape.size(), [&]<std::size_t R>() {
            consume(store.template get<float, cascadev::DExtents<R>>(key), n);
        });
    } catch (const cascadev::Error&) {
    }
}

}  // namespace cascadev_fuzz
