#pragma once
// PyTorch checkpoints in both formats torch.save writes, told apart by content:
//  - zip (torch >= 1.6): <prefix>/data.pkl (a pickle), <prefix>/data/<key> (raw
//    little-endian storages), <prefix>/version and, from torch 2.x, <prefix>/byteorder;
//  - legacy (torch < 1.6, or _use_new_zipfile_serialization=False): five pickles in a row
//    (the magic number 0x1950a86a20f9469cfc6c, the protocol version 1001, a sys_info dict,
//    the object itself, the list of storage keys) and then, for each key of that list in
//    its order, an int64 little-endian element count followed by the storage's raw bytes.
// The reader memory-maps the file, parses the archive and the pickles with the restricted
// readers of zip.hpp / pickle.hpp, selects a state dict and validates every tensor
// (storage present and of the right dtype, offset, size and stride within the storage)
// before any is read. Tensors stay views into the mapping until loaded (TensorSource), so
// loading never holds two copies of the weights.
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
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

/// True when `b` starts with a pickle's PROTO opcode (protocols 2-5), as legacy
/// torch.save files do (the reader checks the torch magic number that must follow).
inline bool starts_like_pickle(std::span<const std::byte> b) {
    return b.size() >= 2 && b[0] == std::byte{0x80} && std::to_integer<int>(b[1]) >= 2 && std::to_integer<int>(b[1]) <= 5;
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
    /// dropped per PthOptions::drop (empty if none). A legacy file has no prefix and
    /// version 0.
    const std::string& prefix() const { return prefix_; }
    int version() const { return version_; }
    /// Whether the file is in the legacy (pre-zip) format.
    bool legacy() const { return legacy_; }
    const std::string& dropped() const { return dropped_; }
    /// Whether the top level held a state_dict_ema entry.
    bool has_ema() const { return has_ema_; }
    /// Storage key of a tensor (tensors sharing a storage share the key).
    const std::string& storage_key(std::string_view name) const { return storages_[entries_[at(name)].storage].key; }
    std::size_t storage_offset(std::string_view name) const { return entries_[at(name)].offset; }

private:
    static constexpr std::size_t no_root = std::size_t(-1);
    struct Storage {
        std::string key;
        DType dtype = DType::F32;
        std::uint64_t numel = 0;
        const std::byte* data = nullptr;
        // Legacy storage views (view_metadata): a window of `numel` elements at element
        // `view_offset` of storage `root`.
        std::size_t root = no_root;
        std::uint64_t view_offset = 0;
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
        // Old files saved from a GPU may name torch.cuda.<Type>Storage (the location says
        // "cuda:N"); the bytes are the same, and cascadev reads them to the host.
        if (g.starts_with("torch.cuda.")) return storage_dtype(std::string("torch.") + std::string(g.substr(11)), d);
        for (const auto& [n, t] : table)
            if (n == g) {
                d = t;
                return true;
            }
        return false;
    }

    /// Largest storage accepted (bytes): far beyond any checkpoint, small enough that
    /// element counts times sizes never overflow.
    static constexpr std::uint64_t max_storage_bytes = std::uint64_t(1) << 60;

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
        if (starts_like_pickle(all)) return parse_legacy(all);
        if (all.size() < 4 || all[0] != std::byte{'P'} || all[1] != std::byte{'K'})
            fail(file, ": not a PyTorch checkpoint (neither a zip archive nor a legacy torch.save pickle)");
        parse_zip(all);
    }

    void parse_zip(std::span<const std::byte> all) {
        const std::string file = path().string();
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

    // ---- legacy format -------------------------------------------------------------

    /// A legacy persistent id: ('storage', storage_type, root_key, location, numel,
    /// view_metadata) with view_metadata None or (view_key, offset, view_numel). The
    /// storage's bytes come later in the file; data pointers are set by parse_legacy.
    std::size_t persistent_load_legacy(const pickle::Value& pid) {
        const std::string file = path().string();
        using pickle::Kind;
        if (pid.kind != Kind::tuple || pid.items.empty() || pid.items[0]->kind != Kind::string)
            fail(file, ": ", pkl_name_, ": persistent id is not a tuple naming its kind");
        if (pid.items[0]->s == "module")
            fail(file, ": ", pkl_name_, ": the checkpoint pickles a whole nn.Module (persistent id 'module'), "
                 "not a state dict; cascadev reads state dicts only (save model.state_dict() instead)");
        if (pid.items[0]->s != "storage" || (pid.items.size() != 5 && pid.items.size() != 6))
            fail(file, ": ", pkl_name_, ": persistent id is not ('storage', type, key, location, numel, view)");
        const auto* type = pid.items[1];
        const auto* key = pid.items[2];
        const auto* location = pid.items[3];
        const auto* numel = pid.items[4];
        const pickle::Value* view = pid.items.size() == 6 ? pid.items[5] : nullptr;
        DType dt{};
        if (type->kind != Kind::global || !storage_dtype(type->s, dt))
            fail(file, ": ", pkl_name_, ": unsupported storage type ", type->kind == Kind::global ? type->s : "(not a class)");
        if (key->kind != Kind::string) fail(file, ": ", pkl_name_, ": storage key is not a string");
        if (location->kind != Kind::string)
            fail(file, ": ", pkl_name_, ": storage \"", key->s, "\" has a location that is not a string");
        if (numel->kind != Kind::integer || numel->i < 0 || std::uint64_t(numel->i) > max_storage_bytes / dtype_size(dt))
            fail(file, ": ", pkl_name_, ": storage \"", key->s, "\" has a bad element count");
        const std::size_t root = legacy_storage(key->s, dt, std::uint64_t(numel->i), no_root, 0);
        if (!view || view->kind == Kind::none) return root;
        // A storage view (torch < 0.4): a window into the root storage.
        if (view->kind != Kind::tuple || view->items.size() != 3 || view->items[0]->kind != Kind::string ||
            view->items[1]->kind != Kind::integer || view->items[2]->kind != Kind::integer ||
            view->items[1]->i < 0 || view->items[2]->i < 0)
            fail(file, ": ", pkl_name_, ": storage \"", key->s, "\" has a view that is not (key, offset, numel)");
        const std::uint64_t off = std::uint64_t(view->items[1]->i), n = std::uint64_t(view->items[2]->i);
        if (off > storages_[root].numel || n > storages_[root].numel - off)
            fail(file, ": ", pkl_name_, ": storage view \"", view->items[0]->s, "\" (elements ", off, " to ", off, " + ", n,
                 ") lies outside storage \"", key->s, "\" of ", storages_[root].numel, " elements");
        if (view->items[0]->s == key->s)
            fail(file, ": ", pkl_name_, ": storage view \"", key->s, "\" has the key of its own storage");
        return legacy_storage(view->items[0]->s, dt, n, root, off);
    }

    /// The index of storage `key`, created on first use; later uses must agree.
    std::size_t legacy_storage(const std::string& key, DType dt, std::uint64_t numel, std::size_t root,
                               std::uint64_t view_offset) {
        if (auto it = storage_index_.find(key); it != storage_index_.end()) {
            const Storage& s = storages_[it->second];
            if (s.dtype != dt || s.numel != numel || s.root != root || s.view_offset != view_offset)
                fail(path().string(), ": storage \"", key, "\" is referenced as both ", dtype_name(s.dtype), "[", s.numel,
                     "] and ", dtype_name(dt), "[", numel, "]", s.root != root || s.view_offset != view_offset
                                                                     ? " (and as different views)" : "");
            return it->second;
        }
        storages_.push_back({key, dt, numel, nullptr, root, view_offset});
        storage_index_.emplace(key, storages_.size() - 1);
        return storages_.size() - 1;
    }

    void parse_legacy(std::span<const std::byte> all) {
        const std::string file = path().string();
        using pickle::Kind;
        legacy_ = true;
        std::size_t pos = 0;
        // One pickle starting at pos; its values live as long as the returned Unpickler.
        auto next = [&](const char* what, pickle::Unpickler::PersistentLoad pl = {}) {
            if (pos >= all.size())
                fail(file, ": legacy torch.save file is truncated: it ends before the ", what);
            auto up = std::make_unique<pickle::Unpickler>(all.subspan(pos), file + ": legacy " + what + " (starting at byte " +
                                                                                 std::to_string(pos) + ")",
                                                          std::move(pl));
            return up;
        };
        {
            auto up = next("magic number pickle");
            const pickle::Value& v = up->load_prefix();
            static constexpr unsigned char magic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
            if (v.kind != Kind::bigint || v.s.size() != sizeof(magic) ||
                std::memcmp(v.s.data(), magic, sizeof(magic)) != 0)
                fail(file, ": a pickle, but not a torch.save checkpoint (no torch magic number)");
            pos += up->consumed();
        }
        {
            auto up = next("protocol version pickle");
            const pickle::Value& v = up->load_prefix();
            if (v.kind != Kind::integer || v.i != 1001)
                fail(file, ": legacy torch.save file with protocol version ",
                     v.kind == Kind::integer ? std::to_string(v.i) : std::string("(not an int)"), "; only 1001 is supported");
            pos += up->consumed();
        }
        {
            auto up = next("sys_info pickle");
            const pickle::Value& v = up->load_prefix();
            if (v.kind != Kind::dict) fail(file, ": legacy sys_info is a ", pickle::kind_name(v.kind), ", not a dict");
            if (const pickle::Value* le = v.get("little_endian"); le && !(le->kind == Kind::boolean && le->b))
                fail(file, ": storages are big-endian (sys_info little_endian is not True); only little-endian "
                           "checkpoints are supported");
            pos += up->consumed();
        }
        pkl_name_ = "legacy object pickle";
        auto obj = next("object pickle", [&](const pickle::Value& pid) { return persistent_load_legacy(pid); });
        const pickle::Value& top = obj->load_prefix();
        pos += obj->consumed();

        auto keys_up = next("storage key list pickle");
        const pickle::Value& keys = keys_up->load_prefix();
        pos += keys_up->consumed();
        if (keys.kind != Kind::list)
            fail(file, ": legacy storage key list is a ", pickle::kind_name(keys.kind), ", not a list");
        std::vector<bool> seen(storages_.size(), false);
        for (const pickle::Value* k : keys.items) {
            if (k->kind != Kind::string)
                fail(file, ": legacy storage key list holds a ", pickle::kind_name(k->kind), ", not a string");
            const auto it = storage_index_.find(k->s);
            if (it == storage_index_.end())
                fail(file, ": legacy storage key list names storage \"", k->s, "\", which no tensor references");
            Storage& s = storages_[it->second];
            if (s.root != no_root)
                fail(file, ": legacy storage key list names storage \"", k->s, "\", which is a view of storage \"",
                     storages_[s.root].key, "\"");
            if (seen[it->second]) fail(file, ": legacy storage key list names storage \"", k->s, "\" twice");
            seen[it->second] = true;
            const std::uint64_t es = dtype_size(s.dtype);
            if (all.size() - pos < 8)
                fail(file, ": truncated: storage \"", k->s, "\" (", dtype_name(s.dtype), "[", s.numel,
                     "]) should start at byte ", pos, " but the file ends at ", all.size());
            std::uint64_t n = 0;
            for (int b = 7; b >= 0; --b) n = (n << 8) | std::to_integer<std::uint64_t>(all[pos + std::size_t(b)]);
            if (n != s.numel)
                fail(file, ": storage \"", k->s, "\" (at byte ", pos, ") holds ", std::int64_t(n), " elements but the pickle says ",
                     s.numel, " (", dtype_name(s.dtype), ")");
            pos += 8;
            if (n > (all.size() - pos) / es)
                fail(file, ": truncated: storage \"", k->s, "\" needs ", n * es, " bytes (", n, " x ", dtype_name(s.dtype),
                     ") from byte ", pos, " but the file has ", all.size() - pos, " left");
            s.data = all.data() + pos;
            pos += std::size_t(n * es);
        }
        for (std::size_t i = 0; i < storages_.size(); ++i)
            if (storages_[i].root == no_root && !seen[i])
                fail(file, ": storage \"", storages_[i].key, "\" (referenced by the ", pkl_name_,
                     ") is missing from the legacy storage key list: its data is not in the file");
        if (pos != all.size())
            fail(file, ": ", all.size() - pos, " unexpected bytes after the last storage (at byte ", pos, ")");
        for (Storage& s : storages_)
            if (s.root != no_root) s.data = storages_[s.root].data + s.view_offset * dtype_size(s.dtype);
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
    bool has_ema_ = false, legacy_ = false;
    std::vector<Storage> storages_;
    std::map<std::string, std::size_t> storage_index_;
    std::vector<TensorInfo> infos_;
    std::vector<Entry> entries_;
    std::map<std::string, std::size_t> index_;
};

}  // namespace cascadev::io
