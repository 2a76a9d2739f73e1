#pragma once
// WeightStore: named tensors from checkpoint files, opened by content (not extension).
// Modules bind their parameters through a Binder, which collects every missing,
// mis-shaped or unconvertible key and reports them all at once, plus the unexpected ones.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cascadev/io/pth.hpp"
#include "cascadev/io/safetensors.hpp"
#include "cascadev/io/tensor_source.hpp"

namespace cascadev::io {

enum class CheckpointFormat { safetensors, pytorch_zip, pytorch_legacy, unknown };

/// Sniffs the first bytes: safetensors starts with a length then '{'; torch >= 1.6
/// writes a zip ("PK\3\4"); older torch.save (and _use_new_zipfile_serialization=False)
/// writes a sequence of pickles (0x80 PROTO first). PthReader reads both torch formats.
inline CheckpointFormat detect_format(const std::filesystem::path& path) {
    const MappedFile f(path);
    const auto b = f.bytes();
    if (b.size() >= 4 && b[0] == std::byte{'P'} && b[1] == std::byte{'K'} && b[2] == std::byte{3} &&
        b[3] == std::byte{4})
        return CheckpointFormat::pytorch_zip;
    if (starts_like_pickle(b)) return CheckpointFormat::pytorch_legacy;
    if (b.size() >= 9) {
        std::size_t i = 8;
        while (i < b.size() && i < 64 && (b[i] == std::byte{' '} || b[i] == std::byte{'\n'})) ++i;
        if (i < b.size() && b[i] == std::byte{'{'}) return CheckpointFormat::safetensors;
    }
    return CheckpointFormat::unknown;
}

class WeightStore {
public:
    WeightStore() = default;
    explicit WeightStore(const std::filesystem::path& path, const PthOptions& pth = {}) { add_file(path, pth); }

    /// Adds one checkpoint file (safetensors or a PyTorch checkpoint, zip or legacy, told
    /// apart by content); keys must not repeat across files. `pth` selects the dict of a .pth.
    void add_file(const std::filesystem::path& path, const PthOptions& pth = {}) {
        std::shared_ptr<const TensorSource> src;
        switch (detect_format(path)) {
            case CheckpointFormat::safetensors:
                src = std::make_shared<SafetensorsSource>(std::make_shared<SafetensorsReader>(path));
                break;
            case CheckpointFormat::pytorch_zip:
            case CheckpointFormat::pytorch_legacy: src = std::make_shared<PthReader>(path, pth); break;
            case CheckpointFormat::unknown:
                fail(path.string(), ": not a checkpoint cascadev can read (neither safetensors nor a PyTorch "
                                    "torch.save file)");
        }
        add_source(std::move(src));
    }
    /// Adds an already opened reader.
    void add_source(std::shared_ptr<const TensorSource> src) {
        for (const auto& t : src->tensors())
            if (find(t.name)) fail(src->path().string(), ": key \"", t.name, "\" is already provided by another file");
        for (const auto& t : src->tensors()) owner_.emplace(t.name, sources_.size());
        sources_.push_back(std::move(src));
    }

    bool contains(const std::string& key) const { return find(key) != nullptr; }
    std::vector<std::string> keys() const {
        std::vector<std::string> k;
        for (const auto& [name, i] : owner_) k.push_back(name);
        return k;
    }
    const TensorInfo& info(const std::string& key) const { return source(key).info(key); }

    /// One tensor as T with extents E (dtype converted, strided data gathered, shape
    /// checked; errors name the file and the key).
    template <class T, ExtentsType E>
    Tensor<T, E> get(const std::string& key) const {
        auto t = source(key).template load<T, E>(key);
        source(key).release(key);
        return t;
    }
    template <class T, ExtentsType E>
    Tensor<T, E> get(const std::string& key, const E& expected) const {
        Tensor<T, E> t(expected);
        source(key).load_into(key, t.view());
        source(key).release(key);
        return t;
    }
    template <class T, ExtentsType E>
    void get_into(const std::string& key, const View<T, E, cpu>& dst) const {
        source(key).load_into(key, dst);
        source(key).release(key);  // the mapped pages leave the resident set: one copy in memory
    }

    /// The reader providing `key` (any format).
    const TensorSource& source(const std::string& key) const {
        const TensorSource* r = find(key);
        if (!r) fail("weights: missing key \"", key, "\"", describe_files());
        return *r;
    }
    /// The safetensors reader providing `key`; an error if the key comes from a .pth file.
    const SafetensorsReader& reader(const std::string& key) const {
        const auto* s = dynamic_cast<const SafetensorsSource*>(&source(key));
        if (!s) fail(source(key).path().string(), ": key \"", key, "\" is not from a safetensors file (use source())");
        return s->reader();
    }

    /// The files' paths, comma separated.
    std::string file_names() const {
        std::string s;
        for (std::size_t i = 0; i < sources_.size(); ++i) s += (i ? ", " : "") + sources_[i]->path().string();
        return s;
    }

private:
    const TensorSource* find(const std::string& key) const {
        auto it = owner_.find(key);
        return it == owner_.end() ? nullptr : sources_[it->second].get();
    }
    std::string describe_files() const {
        return sources_.empty() ? " (no weight files loaded)" : " (in " + file_names() + ")";
    }

    std::vector<std::shared_ptr<const TensorSource>> sources_;
    std::map<std::string, std::size_t> owner_;
};

/// Binds a module's parameters under a key prefix; finish() throws one Error listing
/// every problem, so a user fixing a checkpoint sees them all in one run.
class Binder {
public:
    Binder(const WeightStore& store, std::string prefix = "") : store_(store), prefix_(std::move(prefix)) {}

    /// A sub-binder for a child module: prefix "blocks.3." etc. Problems go to the parent.
    Binder child(const std::string& name) const {
        Binder b(store_, prefix_ + name + ".");
        b.parent_ = const_cast<Binder*>(this);
        return b;
    }
    const std::string& prefix() const { return prefix_; }
    bool has(const std::string& name) const { return store_.contains(prefix_ + name); }

    /// Fills `param` (already sized by the module) from key prefix+name.
    template <class T, ExtentsType E>
    void bind(const std::string& name, Tensor<T, E>& param) { bind(name, param.view()); }
    template <class T, ExtentsType E>
    void bind(const std::string& name, const View<T, E, cpu>& param) {
        const std::string key = prefix_ + name;
        root().bound_.insert(key);
        const auto dims = param.dims();  // by value: one array for both iterators
        root().requested_.push_back({key, std::vector<index_t>(dims.begin(), dims.end())});
        if (!store_.contains(key)) {
            root().problems_.push_back("missing key \"" + key + "\" (expected shape " + param.extents().str() + ")");
            return;
        }
        try {
            store_.get_into(key, param);
        } catch (const Error& e) {
            root().problems_.push_back(e.what());
        }
    }
    /// Every key bound so far (with prefix) and the shape the module expects for it, in
    /// binding order: a module's parameter list, e.g. for random weights.
    struct Requested {
        std::string key;
        std::vector<index_t> shape;
    };
    const std::vector<Requested>& requested() { return root().requested_; }

    /// Marks a key as consumed without loading it (e.g. buffers the model recomputes).
    void ignore(const std::string& name) { root().bound_.insert(prefix_ + name); }

    /// Throws if anything was missing or mis-shaped, or if keys under the prefix were not used.
    void finish(bool allow_unexpected = false) {
        Binder& r = root();
        std::vector<std::string> unexpected;
        if (!allow_unexpected)
            for (const auto& k : store_.keys())
                if (k.rfind(prefix_, 0) == 0 && !r.bound_.count(k)) unexpected.push_back(k);
        if (r.problems_.empty() && unexpected.empty()) return;
        std::string msg = store_.file_names() + ": weights do not match the model" +
                          (prefix_.empty() ? "" : " under \"" + prefix_ + "\"") + ":";
        // Every problem is listed, except for a file that holds none of the model's keys
        // (the wrong file): there the first few and a hint say more than hundreds of lines.
        const bool none_found =
            std::none_of(r.bound_.begin(), r.bound_.end(), [&](const std::string& k) { return store_.contains(k); });
        const std::size_t shown = none_found && !store_.keys().empty() ? 12 : std::size_t(-1);
        std::size_t n = 0;
        for (const auto& p : r.problems_)
            if (n++ < shown) msg += "\n  " + p;
        for (const auto& k : unexpected)
            if (n++ < shown) msg += "\n  unexpected key \"" + k + "\"";
        if (n > shown)
            msg += "\n  ... and " + std::to_string(n - shown) + " more; none of the model's keys is in the file, which holds " +
                   std::to_string(store_.keys().size()) + " key(s) such as \"" + store_.keys().front() +
                   "\": is it the right file?";
        fail(msg);
    }

private:
    Binder& root() { return parent_ ? parent_->root() : *this; }

    const WeightStore& store_;
    std::string prefix_;
    Binder* parent_ = nullptr;
    std::set<std::string> bound_;
    std::vector<Requested> requested_;
    std::vector<std::string> problems_;
};

}  // namespace cascadev::io
