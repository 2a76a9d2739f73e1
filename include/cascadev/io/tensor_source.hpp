#pragma once
// TensorSource: what the WeightStore needs from any checkpoint reader. A reader describes
// each tensor as a (possibly strided) view of raw little-endian bytes inside its mapping;
// the loads here gather and convert on the fly into the caller's buffer, so a tensor is
// copied exactly once, when it is loaded.
#include <sys/mman.h>
#include <unistd.h>

#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cascadev/io/safetensors.hpp"

namespace cascadev::io {

/// Where a tensor's elements are: element (i0, i1, ...) is at
/// base + (offset + Σ i_k · strides[k]) · dtype_size(dtype). Validated by the reader.
struct StridedLayout {
    const std::byte* base = nullptr;
    DType dtype = DType::F32;
    std::vector<index_t> shape, strides;  // strides in elements
    std::size_t offset = 0;                // in elements

    bool is_contiguous() const {
        index_t want = 1;
        for (std::size_t k = shape.size(); k-- > 0;) {
            if (shape[k] != 1 && strides[k] != want) return false;
            want *= shape[k];
        }
        return true;
    }
};

/// Drops the clean, file-backed pages of [p, p + n) from this process's resident set
/// (MADV_DONTNEED on a read-only private mapping: a later read faults them in again from
/// the file). Only whole pages inside the range are released.
inline void release_mapped_pages(const std::byte* p, std::size_t n) {
    static const std::size_t page = std::size_t(::sysconf(_SC_PAGESIZE));
    const auto b = reinterpret_cast<std::uintptr_t>(p), e = b + n;
    const std::uintptr_t first = (b + page - 1) / page * page, last = e / page * page;
    if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

/// Copies the elements of `l` in row-major order into dst (n = numel elements of T),
/// converting the dtype; same-dtype copies are bitwise.
template <class T>
void gather_elements(const StridedLayout& l, T* dst) {
    const std::size_t es = dtype_size(l.dtype);
    std::size_t n = 1;
    for (index_t d : l.shape) n *= std::size_t(d);
    if (n == 0) return;
    if (l.is_contiguous()) {
        convert_elements(l.base + l.offset * es, l.dtype, n, dst);
        return;
    }
    const std::size_t rank = l.shape.size();
    const std::size_t inner = std::size_t(l.shape[rank - 1]);
    const std::size_t inner_stride = std::size_t(l.strides[rank - 1]);
    std::vector<index_t> idx(rank, 0);
    std::size_t out = 0;
    while (out < n) {
        std::size_t off = l.offset;
        for (std::size_t k = 0; k + 1 < rank; ++k) off += std::size_t(idx[k]) * std::size_t(l.strides[k]);
        if (inner_stride == 1) {
            convert_elements(l.base + off * es, l.dtype, inner, dst + out);
        } else {
            for (std::size_t j = 0; j < inner; ++j) convert_elements(l.base + (off + j * inner_stride) * es, l.dtype, 1, dst + out + j);
        }
        out += inner;
        for (std::size_t k = rank - 1; k-- > 0;) {  // odometer over the outer dims
            if (++idx[k] < l.shape[k]) break;
            idx[k] = 0;
        }
    }
}

class TensorSource {
public:
    virtual ~TensorSource() = default;
    virtual const std::filesystem::path& path() const = 0;
    virtual const std::vector<TensorInfo>& tensors() const = 0;
    virtual const TensorInfo& info(std::string_view name) const = 0;
    virtual bool contains(std::string_view name) const = 0;
    /// The tensor's elements inside the reader's mapping (no copy).
    virtual StridedLayout layout(std::string_view name) const = 0;
    /// Hint after a tensor was copied out: its mapped pages may leave the resident set
    /// (they stay readable). Keeps a full load at one copy of the weights in memory.
    virtual void release(std::string_view name) const {
        const StridedLayout l = layout(name);
        std::size_t n = 1, last = l.offset;
        for (std::size_t k = 0; k < l.shape.size(); ++k) {
            n *= std::size_t(l.shape[k]);
            if (l.shape[k] > 0) last += std::size_t(l.shape[k] - 1) * std::size_t(l.strides[k]);
        }
        const std::size_t es = dtype_size(l.dtype);
        if (n) release_mapped_pages(l.base + l.offset * es, (last + 1 - l.offset) * es);
    }

    std::vector<std::string> names() const {
        std::vector<std::string> n;
        for (const auto& t : tensors()) n.push_back(t.name);
        return n;
    }

    /// The tensor's elements in its stored dtype, contiguous row-major (bit for bit).
    std::vector<std::byte> read_raw(std::string_view name) const {
        const StridedLayout l = layout(name);
        const std::size_t es = dtype_size(l.dtype);
        std::size_t n = 1;
        for (index_t d : l.shape) n *= std::size_t(d);
        std::vector<std::byte> out(n * es);
        switch (es) {  // a bitwise copy through an integer type of the element's width
            case 1: gather_elements(as_bits<std::uint8_t>(l), reinterpret_cast<std::uint8_t*>(out.data())); break;
            case 2: gather_bits<std::uint16_t>(l, out.data()); break;
            case 4: gather_bits<std::uint32_t>(l, out.data()); break;
            default: gather_bits<std::uint64_t>(l, out.data()); break;
        }
        return out;
    }

    /// Loads one tensor as T with extents E (dtype converted, strided data gathered).
    template <class T, ExtentsType E>
    Tensor<T, E> load(std::string_view name) const {
        Tensor<T, E> out(loadable_extents<T, E>(path(), info(name)));
        gather_elements(layout(name), out.data());
        return out;
    }
    template <class T, std::size_t Rank>
    Tensor<T, DExtents<Rank>> load(std::string_view name) const { return load<T, DExtents<Rank>>(name); }

    /// Loads into an existing contiguous host view of the same shape.
    template <class T, ExtentsType E>
    void load_into(std::string_view name, const View<T, E, cpu>& dst) const {
        check_load_into(path(), info(name), dst);
        gather_elements(layout(name), dst.data());
    }

private:
    template <class U>
    static StridedLayout as_bits(StridedLayout l) {
        l.dtype = dtype_v<U>;
        return l;
    }
    template <class U>
    static void gather_bits(const StridedLayout& l, std::byte* out) {
        // Same-width integer dtype: convert_elements then copies bytes verbatim.
        StridedLayout b = l;
        b.dtype = sizeof(U) == 2 ? DType::F16 : sizeof(U) == 4 ? DType::I32 : DType::I64;
        if constexpr (sizeof(U) == 2)
            gather_elements(b, reinterpret_cast<float16*>(out));
        else if constexpr (sizeof(U) == 4)
            gather_elements(b, reinterpret_cast<std::int32_t*>(out));
        else
            gather_elements(b, reinterpret_cast<std::int64_t*>(out));
    }
};

/// A safetensors file as a TensorSource (contiguous tensors).
class SafetensorsSource final : public TensorSource {
public:
    explicit SafetensorsSource(std::shared_ptr<const SafetensorsReader> r) : r_(std::move(r)) {}
    const SafetensorsReader& reader() const { return *r_; }
    const std::filesystem::path& path() const override { return r_->path(); }
    const std::vector<TensorInfo>& tensors() const override { return r_->tensors(); }
    const TensorInfo& info(std::string_view name) const override { return r_->info(name); }
    bool contains(std::string_view name) const override { return r_->contains(name); }
    StridedLayout layout(std::string_view name) const override {
        const TensorInfo& t = r_->info(name);
        StridedLayout l{r_->bytes(name).data(), t.dtype, t.shape, std::vector<index_t>(t.shape.size()), 0};
        index_t s = 1;
        for (std::size_t k = t.shape.size(); k-- > 0;) {
            l.strides[k] = s;
            s *= t.shape[k];
        }
        return l;
    }

private:
    std::shared_ptr<const SafetensorsReader> r_;
};

/// Peak resident set size of this process in bytes (VmHWM from /proc/self/status; 0 if
/// unavailable). Mapped checkpoint pages count once touched.
inline std::size_t peak_rss() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::size_t(std::stoull(line.substr(6))) * 1024;
    return 0;
}

}  // namespace cascadev::io
