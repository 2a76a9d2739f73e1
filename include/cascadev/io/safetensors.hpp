#pragma once
// safetensors: 8-byte little-endian header length, a JSON header, then the data.
// The reader validates everything before any tensor is touched: every error names the
// file and the key, and no offset from the file is used without a bounds check.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cascadev/core/dtype.hpp"
#include "cascadev/core/tensor.hpp"
#include "cascadev/io/atomic_file.hpp"
#include "cascadev/io/mapped_file.hpp"

namespace cascadev::io {

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<index_t> shape;
    std::size_t begin = 0;  // byte offsets relative to the data section
    std::size_t end = 0;

    index_t numel() const {
        index_t n = 1;
        for (index_t d : shape) n *= d;
        return n;
    }
};

/// Copies `n` elements of dtype `src_type` at `src` into `dst`, converting to T.
template <class T>
void convert_elements(const std::byte* src, DType src_type, std::size_t n, T* dst) {
    if (n == 0) return;  // an empty tensor's buffer may be null: memcpy(nullptr, ..., 0) is UB
    if (src_type == dtype_v<T>) {
        std::memcpy(dst, src, n * sizeof(T));
        return;
    }
    for (std::size_t i = 0; i < n; ++i) {
        if constexpr (std::is_same_v<T, float16> || std::is_same_v<T, bfloat16>)
            dst[i] = T(load_as<float>(src, src_type, i));
        else
            dst[i] = load_as<T>(src, src_type, i);
    }
}

/// Whether values of `from` may be loaded as T (float<->float, int<->int, int->float).
template <class T>
constexpr bool convertible_to(DType from) {
    if constexpr (std::is_floating_point_v<T> || std::is_same_v<T, float16> || std::is_same_v<T, bfloat16>)
        return from != DType::BOOL;
    else
        return !is_floating(from);
}

/// Throws unless a tensor stored as `t` may be loaded as T; names the file and key.
template <class T>
void check_loadable(const std::filesystem::path& file, const TensorInfo& t) {
    if (!convertible_to<T>(t.dtype))
        fail(file.string(), ": tensor \"", t.name, "\" has dtype ", dtype_name(t.dtype),
             ", which cannot be loaded as ", dtype_name(dtype_v<T>));
}

/// The extents E for a stored tensor; a mismatch names the file, key and both shapes.
template <class T, ExtentsType E>
E loadable_extents(const std::filesystem::path& file, const TensorInfo& t) {
    check_loadable<T>(file, t);
    try {
        return E::from_dims(std::span<const index_t>(t.shape));
    } catch (const Error& e) {
        fail(file.string(), ": tensor \"", t.name, "\": ", e.what());
    }
}

/// Checks that a stored tensor can be loaded into `dst` (same shape, contiguous).
template <class T, ExtentsType E>
void check_load_into(const std::filesystem::path& file, const TensorInfo& t, const View<T, E, cpu>& dst) {
    check_loadable<T>(file, t);
    const auto want = dst.dims();
    if (t.shape.size() != want.size() || !std::equal(want.begin(), want.end(), t.shape.begin()))
        fail(file.string(), ": tensor \"", t.name, "\" has shape ", shape_str(t.shape), ", expected ", shape_str(want));
    if (!dst.is_contiguous())
        fail(file.string(), ": load_into: destination view for \"", t.name, "\" is not contiguous");
}

class SafetensorsReader {
public:
    /// Largest header accepted: real checkpoints have a few hundred KB of JSON.
    static constexpr std::uint64_t max_header_bytes = 100u << 20;

    explicit SafetensorsReader(const std::filesystem::path& path) : file_(path) { parse(); }

    const std::filesystem::path& path() const { return file_.path(); }
    bool contains(std::string_view name) const { return index_.count(std::string(name)) != 0; }
    const std::vector<TensorInfo>& tensors() const { return infos_; }
    std::vector<std::string> names() const {
        std::vector<std::string> n;
        for (const auto& t : infos_) n.push_back(t.name);
        return n;
    }
    const nlohmann::json& metadata() const { return metadata_; }

    const TensorInfo& info(std::string_view name) const {
        auto it = index_.find(std::string(name));
        if (it == index_.end()) fail(path().string(), ": no tensor \"", name, "\"");
        return infos_[it->second];
    }
    /// The raw little-endian bytes of one tensor (inside the mapping: no copy).
    std::span<const std::byte> bytes(std::string_view name) const {
        const TensorInfo& t = info(name);
        return file_.bytes().subspan(data_start_ + t.begin, t.end - t.begin);
    }

    /// Zero-copy typed view into the mapping: the dtype must be exactly T and the data
    /// aligned for T (writers do not guarantee that; load() works on any file).
    template <class T, std::size_t Rank>
    View<const T, DExtents<Rank>> view(std::string_view name) const {
        const TensorInfo& t = info(name);
        if (t.dtype != dtype_v<T>)
            fail(path().string(), ": tensor \"", name, "\" is ", dtype_name(t.dtype), ", not ", dtype_name(dtype_v<T>));
        if (t.shape.size() != Rank)
            fail(path().string(), ": tensor \"", name, "\" has shape ", shape_str(t.shape), ", expected rank ", Rank);
        const std::byte* p = bytes(name).data();
        if (reinterpret_cast<std::uintptr_t>(p) % alignof(T) != 0)
            fail(path().string(), ": tensor \"", name, "\" is misaligned in the file (offset ", data_start_ + t.begin,
                 " is not a multiple of ", alignof(T), "); load() it instead");
        return View<const T, DExtents<Rank>>(reinterpret_cast<const T*>(p),
                                             DExtents<Rank>::from_dims(std::span<const index_t>(t.shape)));
    }

    /// Loads one tensor as T with extents E, converting the dtype; the stored shape must
    /// match E (static dims and rank), else the error names the file, key and both shapes.
    template <class T, ExtentsType E>
    Tensor<T, E> load(std::string_view name) const {
        const TensorInfo& t = info(name);
        Tensor<T, E> out(loadable_extents<T, E>(path(), t));
        convert_elements(bytes(name).data(), t.dtype, std::size_t(t.numel()), out.data());
        return out;
    }
    template <class T, std::size_t Rank>
    Tensor<T, DExtents<Rank>> load(std::string_view name) const { return load<T, DExtents<Rank>>(name); }

    /// Loads into an existing host view of the right shape (e.g. a module's parameter).
    template <class T, ExtentsType E>
    void load_into(std::string_view name, const View<T, E, cpu>& dst) const {
        const TensorInfo& t = info(name);
        check_load_into(path(), t, dst);
        convert_elements(bytes(name).data(), t.dtype, std::size_t(t.numel()), dst.data());
    }

private:
    void parse() {
        const auto all = file_.bytes();
        const std::string file = path().string();
        if (all.size() < 8) fail(file, ": truncated safetensors file (", all.size(), " bytes, no header length)");
        std::uint64_t n = 0;
        for (int i = 7; i >= 0; --i) n = (n << 8) | std::to_integer<std::uint64_t>(all[std::size_t(i)]);
        if (n > max_header_bytes)
            fail(file, ": safetensors header length ", n, " exceeds the limit of ", max_header_bytes, " bytes");
        if (n > all.size() - 8)
            fail(file, ": truncated safetensors file: header of ", n, " bytes but only ", all.size() - 8,
                 " bytes follow");
        data_start_ = 8 + std::size_t(n);
        const std::size_t data_size = all.size() - data_start_;
        const char* h = reinterpret_cast<const char*>(all.data() + 8);

        nlohmann::json header;
        try {
            header = nlohmann::json::parse(h, h + n);
        } catch (const nlohmann::json::exception& e) {
            fail(file, ": malformed safetensors header JSON: ", e.what());
        }
        if (!header.is_object()) fail(file, ": safetensors header is not a JSON object");

        for (const auto& [key, v] : header.items()) {
            if (key == "__metadata__") {
                metadata_ = v;
                continue;
            }
            infos_.push_back(parse_entry(file, key, v, data_size));
        }
        check_overlaps(file);
        for (std::size_t i = 0; i < infos_.size(); ++i) index_[infos_[i].name] = i;
    }

    TensorInfo parse_entry(const std::string& file, const std::string& key, const nlohmann::json& v,
                           std::size_t data_size) const {
        auto bad = [&](auto&&... what) { fail(file, ": tensor \"", key, "\": ", what...); };
        if (!v.is_object()) bad("entry is not an object");
        TensorInfo t;
        t.name = key;
        if (!v.contains("dtype") || !v["dtype"].is_string()) bad("missing or non-string \"dtype\"");
        try {
            t.dtype = dtype_from_name(v["dtype"].get<std::string>());
        } catch (const Error& e) {
            bad(e.what());
        }
        if (!v.contains("shape") || !v["shape"].is_array()) bad("missing or non-array \"shape\"");
        // Element count with overflow checks: a hostile shape must not wrap around.
        // The limit is in bytes, so numel * dtype_size below cannot wrap either. The
        // product of the non-zero extents is bounded too: an empty tensor such as
        // [0, 2^40, 2^40] would otherwise overflow its row-major strides.
        const std::uint64_t limit = (std::uint64_t(1) << 62) / dtype_size(t.dtype);
        std::uint64_t nonzero = 1;
        bool empty = false;
        for (const auto& d : v["shape"]) {
            if (!d.is_number_unsigned()) bad("shape entries must be non-negative integers");
            const std::uint64_t x = d.get<std::uint64_t>();
            if (x > limit || (x != 0 && nonzero > limit / x))
                bad("shape ", v["shape"].dump(), " is too large");
            if (x == 0) empty = true;
            else nonzero *= x;
            t.shape.push_back(index_t(x));
        }
        const std::uint64_t numel = empty ? 0 : nonzero;
        const auto& off = v.contains("data_offsets") ? v["data_offsets"] : nlohmann::json();
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
            bad("\"data_offsets\" must be two non-negative integers");
        const std::uint64_t b = off[0].get<std::uint64_t>(), e = off[1].get<std::uint64_t>();
        if (b > e) bad("data_offsets [", b, ", ", e, "] are reversed");
        if (e > data_size)
            bad("data_offsets [", b, ", ", e, "] run past the end of the data (", data_size,
                " bytes): truncated file?");
        const std::uint64_t want = numel * dtype_size(t.dtype);
        if (e - b != want)
            bad("byte count ", e - b, " does not match shape ", shape_str(t.shape), " of ",
                dtype_name(t.dtype), " (", want, " bytes)");
        // Misaligned data is legal (writers do not pad between tensors): loads copy with
        // memcpy; only the zero-copy view() below requires alignment.
        t.begin = std::size_t(b);
        t.end = std::size_t(e);
        return t;
    }

    void check_overlaps(const std::string& file) const {
        std::vector<const TensorInfo*> byoff;
        for (const auto& t : infos_)
            if (t.end > t.begin) byoff.push_back(&t);
        std::sort(byoff.begin(), byoff.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
        for (std::size_t i = 1; i < byoff.size(); ++i)
            if (byoff[i]->begin < byoff[i - 1]->end)
                fail(file, ": tensors \"", byoff[i - 1]->name, "\" and \"", byoff[i]->name,
                     "\" have overlapping data ranges");
    }

    MappedFile file_;
    std::size_t data_start_ = 0;
    std::vector<TensorInfo> infos_;
    std::map<std::string, std::size_t> index_;
    nlohmann::json metadata_ = nlohmann::json::object();
};

/// Collects tensors (copied) and writes them as one safetensors file, atomically.
class SafetensorsWriter {
public:
    template <class T, ExtentsType E, class D>
        requires std::is_same_v<D, cpu>
    void add(std::string name, const View<T, E, D>& v) {
        using U = std::remove_const_t<T>;
        const auto c = contiguous_copy(v);
        Entry e{std::move(name), dtype_v<U>, {}, {}};
        for (index_t d : v.dims()) e.shape.push_back(d);
        const auto* p = reinterpret_cast<const std::byte*>(c.data());
        e.bytes.assign(p, p + std::size_t(v.size()) * sizeof(U));
        add_entry(std::move(e));
    }
    template <class T, ExtentsType E>
    void add(std::string name, const Tensor<T, E>& t) { add(std::move(name), t.view()); }

    /// Raw bytes with an explicit dtype and shape (e.g. tensors passed through from a reader).
    void add_raw(std::string name, DType dtype, std::vector<index_t> shape, std::span<const std::byte> bytes) {
        add_entry(Entry{std::move(name), dtype, std::move(shape), {bytes.begin(), bytes.end()}});
    }
    void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

    void write(const std::filesystem::path& path) const {
        nlohmann::json header = nlohmann::json::object();
        std::size_t off = 0;
        for (const auto& e : entries_) {
            header[e.name] = {{"dtype", std::string(dtype_name(e.dtype))},
                              {"shape", e.shape},
                              {"data_offsets", {off, off + e.bytes.size()}}};
            off += e.bytes.size();
        }
        if (!metadata_.empty()) header["__metadata__"] = metadata_;
        std::string h = header.dump();
        h.append((8 - h.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
        write_atomically(path, [&](std::FILE* f) {
            std::uint8_t len[8];
            for (int i = 0; i < 8; ++i) len[i] = std::uint8_t(std::uint64_t(h.size()) >> (8 * i));
            write_bytes(f, len, 8, path);
            write_bytes(f, h.data(), h.size(), path);
            for (const auto& e : entries_) write_bytes(f, e.bytes.data(), e.bytes.size(), path);
        });
    }

private:
    struct Entry {
        std::string name;
        DType dtype;
        std::vector<index_t> shape;
        std::vector<std::byte> bytes;
    };
    void add_entry(Entry e) {
        if (e.name.empty() || e.name == "__metadata__") fail("safetensors writer: invalid tensor name \"", e.name, "\"");
        for (const auto& x : entries_)
            if (x.name == e.name) fail("safetensors writer: duplicate tensor name \"", e.name, "\"");
        // Entries are written in name order, as the reference writer does.
        auto it = std::lower_bound(entries_.begin(), entries_.end(), e.name,
                                   [](const Entry& a, const std::string& n) { return a.name < n; });
        entries_.insert(it, std::move(e));
    }
    std::vector<Entry> entries_;
    nlohmann::json metadata_ = nlohmann::json::object();
};

}  // namespace cascadev::io
