#pragma once
// PyTorch checkpoints as torch.save (>= 1.6, zip format) writes them: <prefix>/data.pkl
// (a pickle), <prefix>/data/<key> (raw little-endian storages), <prefix>/version and,
// from torch 2.x, <prefix>/byteorder. The reader memory-maps the file, parses the
// archive and the pickle with the restricted readers of zip.hpp / pickle.hpp, selects a
// state dict and validates every tensor (storage present and of the right dtype, offset,
// size and stride within the storage) before any is read. Tensors stay views into the
// mapping until loaded (TensorSource), so loading never holds two copies of the weights.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cascadev/io/mapped_file.hpp"
#include "cascadev/io/pickle.hpp"
#include "cascadev/io/tensor_source.hpp"
#include "cascadev/io/zip.hpp"

namespace cascadev::io {

/// Keys the reference loader deletes from the state dict (the first present one).
inline const std::vector<std::string>& reference_drop_keys() {
    static const std::vector<std::string> k = {"pos_embed", "base_model.pos_embed", "model.pos_embed"};
    return k;
}

struct PthOptions {
    /// Top-level entry holding the tensors ("state_dict" as the reference loads, or
    /// "state_dict_ema"). A file whose top level is itself a bare state dict (no such
    /// entry, every value a tensor) is read as is when dict == "state_dict".
    std::string dict = "state_dict";
    /// As the reference: the first of these keys present in state_dict is removed from
    /// the returned dict (it is removed from both dicts there).
    std::vector<std::string> drop = {};
};

class PthReader final : public TensorSource {
public:
    explicit PthReader(const std::filesystem::path& path, PthOptions opt = {}) : file_(path), opt_(std::move(opt)) {
        parse();
    }

    const std::filesystem::path& path() const override { return file_.path(); }
    const std::vector<TensorInfo>& tensors() const override { return infos_; }
    bool contains(std::string_view name) const override { return index_.count(std::string(name)) != 0; }
    const TensorInfo& info(std::string_view name) const override { return infos_[at(name)]; }
    StridedLayout layout(std::string_view name) const override {
        const Entry& e = entries_[at(name)];
        const Storage& s = storages_[e.storage];
        return {s.data, s.dtype, infos_[at(name)].shape, e.stride, e.offset};
    }

    /// The archive's record prefix, its format version (0 if absent) and the key
    /// dropped per PthOptions::drop (empty if none).
    const std::string& prefix() const { return prefix_; }
    int version() const { return version_; }
    const std::string& dropped() const { return dropped_; }
    /// Whether the top level held a state_dict_ema entry.
    bool has_ema() const { return has_ema_; }
    /// Storage key of a tensor (tensors sharing a storage share the key).
    const std::string& storage_key(std::string_view name) const { return storages_[entries_[at(name)].storage].key; }
    std::size_t storage_offset(std::string_view name) const { return entries_[at(name)].offset; }

private:
    struct Storage {
        std::string key;
        DType dtype = DType::F32;
        std::uint64_t numel = 0;
        const std::byte* data = nullptr;
    };
    struct Entry {
        std::size_t storage = 0;
        std::size_t offset = 0;
        std::vector<index_t> stride;
    };

    std::size_t at(std::string_view name) const {
        auto it = index_.find(std::string(name));
        if (it == index_.end()) fail(path().string(), ": no tensor \"", name, "\"");
        return it->second;
    }

    static bool storage_dtype(std::string_view g, DType& d) {
        static const std::pair<std::string_view, DType> table[] = {
            {"torch.FloatStorage", DType::F32}, {"torch.HalfStorage", DType::F16},
            {"torch.BFloat16Storage", DType::BF16}, {"torch.DoubleStorage", DType::F64},
            {"torch.LongStorage", DType::I64}, {"torch.IntStorage", DType::I32},
            {"torch.ByteStorage", DType::U8}, {"torch.BoolStorage", DType::BOOL}};
        for (const auto& [n, t] : table)
            if (n == g) {
                d = t;
                return true;
            }
        return false;
    }

    std::size_t persistent_load(const pickle::Value& pid, const ZipReader& zip) {
        const std::string file = path().string();
        using pickle::Kind;
        if (pid.kind != Kind::tuple || pid.items.size() != 5 || pid.items[0]->kind != Kind::string ||
            pid.items[0]->s != "storage")
            fail(file, ": ", pkl_name_, ": persistent id is not ('storage', type, key, location, numel)");
        const auto* type = pid.items[1];
        const auto* key = pid.items[2];
        const auto* numel = pid.items[4];
        DType dt{};
        if (type->kind != Kind::global || !storage_dtype(type->s, dt))
            fail(file, ": ", pkl_name_, ": unsupported storage type ", type->kind == Kind::global ? type->s : "(not a class)");
        if (key->kind != Kind::string) fail(file, ": ", pkl_name_, ": storage key is not a string");
        if (numel->kind != Kind::integer || numel->i < 0)
            fail(file, ": ", pkl_name_, ": storage \"", key->s, "\" has a bad element count");
        if (auto it = storage_index_.find(key->s); it != storage_index_.end()) {
            const Storage& s = storages_[it->second];
            if (s.dtype != dt || s.numel != std::uint64_t(numel->i))
                fail(file, ": storage \"", key->s, "\" is referenced as both ", dtype_name(s.dtype), "[", s.numel,
                     "] and ", dtype_name(dt), "[", numel->i, "]");
            return it->second;
        }
        const std::string record = prefix_ + "data/" + key->s;
        const ZipEntry* z = zip.find(record);
        if (!z) fail(file, ": storage record \"", record, "\" (referenced by ", pkl_name_, ") is missing from the archive");
        const std::uint64_t es = dtype_size(dt);
        const std::uint64_t n = std::uint64_t(numel->i);
        if (n > z->size / es)
            fail(file, ": storage record \"", record, "\" holds ", z->size, " bytes, less than its ", n, " ",
                 dtype_name(dt), " elements (", n, " x ", es, " bytes)");
        storages_.push_back({key->s, dt, n, zip.data(*z).data()});
        storage_index_.emplace(key->s, storages_.size() - 1);
        return storages_.size() - 1;
    }

    void parse() {
        const std::string file = path().string();
        const auto all = file_.bytes();
        if (all.size() >= 2 && all[0] == std::byte{0x80})
            fail(file, ": legacy (pre-1.6) torch.save pickle, not a zip archive; convert it with torch first "
                       "(torch.save(torch.load(f), g) with a recent torch, or save it as .safetensors)");
        if (all.size() < 4 || all[0] != std::byte{'P'} || all[1] != std::byte{'K'})
            fail(file, ": not a PyTorch zip checkpoint");
        const ZipReader zip(all, file);
        // The pickle: the single entry named data.pkl at the top of one directory.
        const ZipEntry* pkl = nullptr;
        for (const auto& e : zip.entries()) {
            const std::string_view n = e.name;
            const auto slash = n.find('/');
            const bool top = n == "data.pkl" || (slash != n.npos && n.substr(slash + 1) == "data.pkl");
            if (!top) continue;
            if (pkl) fail(file, ": archive holds two pickles (\"", pkl->name, "\" and \"", e.name, "\")");
            pkl = &e;
        }
        if (!pkl) fail(file, ": zip archive without a data.pkl record: not a torch.save checkpoint");
        pkl_name_ = pkl->name;
        prefix_ = pkl->name.substr(0, pkl->name.size() - std::string_view("data.pkl").size());
        if (const ZipEntry* bo = zip.find(prefix_ + "byteorder")) {
            const auto b = zip.data(*bo);
            const std::string order(reinterpret_cast<const char*>(b.data()), b.size());
            if (order != "little") fail(file, ": storages are ", order, "-endian; only little-endian checkpoints are supported");
        }
        if (const ZipEntry* ve = zip.find(prefix_ + "version")) {
            const auto b = zip.data(*ve);
            std::string v(reinterpret_cast<const char*>(b.data()), b.size());
            while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ')) v.pop_back();
            if (v.empty() || v.size() > 4 || v.find_first_not_of("0123456789") != v.npos)
                fail(file, ": unreadable archive version record \"", prefix_, "version\"");
            version_ = std::stoi(v);
        }

        pickle::Unpickler up(zip.data(*pkl), file + ": " + pkl->name,
                             [&](const pickle::Value& pid) { return persistent_load(pid, zip); });
        const pickle::Value& top = up.load();
        select(top);
    }

    void select(const pickle::Value& top) {
        const std::string file = path().string();
        using pickle::Kind;
        if (top.kind != Kind::dict) fail(file, ": the checkpoint holds a ", pickle::kind_name(top.kind), ", not a dict");
        const pickle::Value* sd = top.get(opt_.dict);
        has_ema_ = top.get("state_dict_ema") != nullptr;
        if (!sd) {
            const bool bare = opt_.dict == "state_dict" && !top.entries.empty() &&
                              std::all_of(top.entries.begin(), top.entries.end(),
                                          [](const auto& e) { return e.second->kind == Kind::tensor; });
            if (!bare) fail(file, ": the checkpoint has no \"", opt_.dict, "\" entry", describe_top(top));
            sd = &top;
        }
        if (sd->kind != Kind::dict)
            fail(file, ": \"", opt_.dict, "\" is a ", pickle::kind_name(sd->kind), ", not a dict of tensors");
        // As the reference: drop the first listed key present in state_dict (from either dict).
        const pickle::Value* ref = top.get("state_dict");
        if (!ref || ref->kind != Kind::dict) ref = sd;
        for (const auto& k : opt_.drop)
            if (ref->get(k)) {
                dropped_ = k;
                break;
            }
        for (const auto& [k, v] : sd->entries) {
            if (k->kind != Kind::string) fail(file, ": \"", opt_.dict, "\" has a non-string key (", pickle::kind_name(k->kind), ")");
            if (!dropped_.empty() && k->s == dropped_) continue;
            if (v->kind != Kind::tensor)
                fail(file, ": \"", opt_.dict, "\" entry \"", k->s, "\" is a ", pickle::kind_name(v->kind), ", not a tensor");
            add_tensor(k->s, v->tensor);
        }
    }

    static std::string describe_top(const pickle::Value& top) {
        std::string s = " (top-level keys:";
        int n = 0;
        for (const auto& [k, v] : top.entries) {
            if (n++ == 20) return s + " ...)";
            // Appended piecewise: GCC 12 misreports -Wrestrict on the temporary-string form.
            s += ' ';
            if (k->kind == pickle::Kind::string) {
                s += k->s;
            } else {
                s += '<';
                s += pickle::kind_name(k->kind);
                s += '>';
            }
        }
        return s + ")";
    }

    void add_tensor(const std::string& name, const pickle::TensorRef& t) {
        const std::string file = path().string();
        const Storage& s = storages_[t.storage];
        auto bad = [&](auto&&... what) { fail(file, ": tensor \"", name, "\": ", what...); };
        if (t.size.size() > 16) bad("rank ", t.size.size(), " is too large");
        if (t.offset < 0) bad("negative storage offset ", t.offset);
        // Largest element index reached, overflow-checked (storage numel < 2^62). The
        // product of the non-zero sizes is bounded too: an empty tensor such as
        // [0, 2^62, 2^62] would otherwise overflow its row-major strides when loaded.
        const std::uint64_t lim = std::uint64_t(1) << 62;
        std::uint64_t numel = 1, last = std::uint64_t(t.offset);
        bool empty = false;
        for (std::size_t k = 0; k < t.size.size(); ++k) {
            if (t.size[k] < 0) bad("negative size in ", shape_str(t.size));
            if (t.stride[k] < 0) bad("negative stride in ", shape_str(t.stride));
            const auto n = std::uint64_t(t.size[k]), st = std::uint64_t(t.stride[k]);
            if (n == 0) empty = true;
            if (n > lim || (n && numel > lim / n)) bad("size ", shape_str(t.size), " is too large");
            if (n) numel *= n;
            if (n > 0 && st > 0) {
                if (n - 1 > lim / st) bad("stride ", shape_str(t.stride), " is too large");
                last += (n - 1) * st;
                if (last > lim) bad("stride ", shape_str(t.stride), " is too large");
            }
        }
        if (!empty && last >= s.numel)
            bad("size ", shape_str(t.size), ", stride ", shape_str(t.stride), " and offset ", t.offset,
                " reach element ", last, " but storage \"", s.key, "\" holds ", s.numel, " elements");
        if (empty && std::uint64_t(t.offset) > s.numel) bad("storage offset ", t.offset, " is past storage \"", s.key, "\"");
        TensorInfo info;
        info.name = name;
        info.dtype = s.dtype;
        info.shape.assign(t.size.begin(), t.size.end());
        // begin/end: the bytes the tensor spans inside its storage record.
        info.begin = std::size_t(t.offset) * dtype_size(s.dtype);
        info.end = empty ? info.begin : std::size_t(last + 1) * dtype_size(s.dtype);
        if (!index_.emplace(name, infos_.size()).second) fail(file, ": duplicate tensor \"", name, "\"");
        infos_.push_back(std::move(info));
        entries_.push_back({t.storage, std::size_t(t.offset), std::vector<index_t>(t.stride.begin(), t.stride.end())});
    }

    MappedFile file_;
    PthOptions opt_;
    std::string prefix_, pkl_name_, dropped_;
    int version_ = 0;
    bool has_ema_ = false;
    std::vector<Storage> storages_;
    std::map<std::string, std::size_t> storage_index_;
    std::vector<TensorInfo> infos_;
    std::vector<Entry> entries_;
    std::map<std::string, std::size_t> index_;
};

}  // namespace cascadev::io
