#pragma once
// A restricted unpickler: the subset of pickle (protocols 2-5) that torch.save writes for
// state dicts (the zip format's data.pkl and the legacy format's sequence of pickles, see
// pth.hpp). It builds plain values (None, bools, ints, floats, strings, bytes, tuples,
// lists, dicts) and never executes anything: GLOBAL / STACK_GLOBAL resolve only names on
// an explicit allow-list (collections.OrderedDict, torch's tensor/parameter rebuild
// functions, the typed storage classes), REDUCE calls only those, and every other opcode
// or global is an error naming it. Reads are bounds-checked; the stack, the memo and the
// MARK nesting are limited. Values live in an arena owned by the Unpickler (no recursion
// on destruction, reference cycles are harmless).
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cascadev/core/error.hpp"

namespace cascadev::io::pickle {

enum class Kind { none, boolean, integer, bigint, floating, string, bytes, tuple, list, dict, global, storage, tensor };

inline const char* kind_name(Kind k) {
    switch (k) {
        case Kind::none: return "None";
        case Kind::boolean: return "bool";
        case Kind::integer: return "int";
        case Kind::bigint: return "int (beyond 64 bits)";
        case Kind::floating: return "float";
        case Kind::string: return "str";
        case Kind::bytes: return "bytes";
        case Kind::tuple: return "tuple";
        case Kind::list: return "list";
        case Kind::dict: return "dict";
        case Kind::global: return "global";
        case Kind::storage: return "storage";
        case Kind::tensor: return "tensor";
    }
    return "?";
}

/// A tensor as torch's _rebuild_tensor_v2 describes it: a view into a storage.
struct TensorRef {
    std::size_t storage = 0;  // index returned by the persistent-load callback
    std::int64_t offset = 0;  // in elements
    std::vector<std::int64_t> size, stride;
};

struct Value {
    Kind kind = Kind::none;
    bool b = false;
    std::int64_t i = 0;
    double f = 0;
    std::string s;  // str, bytes, "module.name" of a global, or a bigint's little-endian bytes
    std::vector<Value*> items;                       // tuple, list
    std::vector<std::pair<Value*, Value*>> entries;  // dict, in insertion order
    std::size_t storage = 0;                         // storage
    TensorRef tensor;                                // tensor

    const Value* get(std::string_view key) const {
        for (const auto& [k, v] : entries)
            if (k->kind == Kind::string && k->s == key) return v;
        return nullptr;
    }
};

inline const char* opcode_name(std::uint8_t op) {
    switch (op) {
        case '(': return "MARK"; case '.': return "STOP"; case '0': return "POP"; case '1': return "POP_MARK";
        case '2': return "DUP"; case 'F': return "FLOAT"; case 'I': return "INT"; case 'J': return "BININT";
        case 'K': return "BININT1"; case 'L': return "LONG"; case 'M': return "BININT2"; case 'N': return "NONE";
        case 'P': return "PERSID"; case 'Q': return "BINPERSID"; case 'R': return "REDUCE"; case 'S': return "STRING";
        case 'T': return "BINSTRING"; case 'U': return "SHORT_BINSTRING"; case 'V': return "UNICODE";
        case 'X': return "BINUNICODE"; case 'a': return "APPEND"; case 'b': return "BUILD"; case 'c': return "GLOBAL";
        case 'd': return "DICT"; case '}': return "EMPTY_DICT"; case 'e': return "APPENDS"; case 'g': return "GET";
        case 'h': return "BINGET"; case 'i': return "INST"; case 'j': return "LONG_BINGET"; case 'l': return "LIST";
        case ']': return "EMPTY_LIST"; case 'o': return "OBJ"; case 'p': return "PUT"; case 'q': return "BINPUT";
        case 'r': return "LONG_BINPUT"; case 's': return "SETITEM"; case 't': return "TUPLE"; case ')': return "EMPTY_TUPLE";
        case 'u': return "SETITEMS"; case 'G': return "BINFLOAT"; case 0x80: return "PROTO"; case 0x81: return "NEWOBJ";
        case 0x82: return "EXT1"; case 0x83: return "EXT2"; case 0x84: return "EXT4"; case 0x85: return "TUPLE1";
        case 0x86: return "TUPLE2"; case 0x87: return "TUPLE3"; case 0x88: return "NEWTRUE"; case 0x89: return "NEWFALSE";
        case 0x8a: return "LONG1"; case 0x8b: return "LONG4"; case 'B': return "BINBYTES"; case 'C': return "SHORT_BINBYTES";
        case 0x8c: return "SHORT_BINUNICODE"; case 0x8d: return "BINUNICODE8"; case 0x8e: return "BINBYTES8";
        case 0x8f: return "EMPTY_SET"; case 0x90: return "ADDITEMS"; case 0x91: return "FROZENSET";
        case 0x92: return "NEWOBJ_EX"; case 0x93: return "STACK_GLOBAL"; case 0x94: return "MEMOIZE";
        case 0x95: return "FRAME"; case 0x96: return "BYTEARRAY8"; case 0x97: return "NEXT_BUFFER";
        case 0x98: return "READONLY_BUFFER";
        default: return nullptr;
    }
}

/// The globals a state-dict pickle may name. Nothing else is ever resolved.
inline bool allowed_global(std::string_view name) {
    static constexpr std::string_view allowed[] = {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage", "torch.DoubleStorage",
        "torch.LongStorage", "torch.IntStorage", "torch.ByteStorage", "torch.BoolStorage"};
    // The CUDA storage classes old files saved from a GPU name: the same classes by type.
    if (name.starts_with("torch.cuda.") && name.ends_with("Storage") && name.find('.', 11) == name.npos)
        return allowed_global(std::string("torch.") + std::string(name.substr(11)));
    for (auto a : allowed)
        if (a == name) return true;
    return false;
}

class Unpickler {
public:
    static constexpr std::size_t max_marks = 1000;        // MARK nesting
    static constexpr std::size_t max_stack = 1u << 24;     // values on the stack
    static constexpr std::size_t max_memo = 1u << 24;      // memo entries
    static constexpr std::size_t max_values = 1u << 26;    // values created in all
    static constexpr std::size_t max_bigint_bytes = 64;    // LONG1/LONG4 beyond 64 bits

    /// Resolves a BINPERSID id (a tuple) to a storage index; throws on a bad id.
    using PersistentLoad = std::function<std::size_t(const Value& pid)>;

    /// `where` prefixes every error (e.g. "model.pth: archive/data.pkl").
    Unpickler(std::span<const std::byte> data, std::string where, PersistentLoad persistent_load)
        : d_(data), where_(std::move(where)), persistent_load_(std::move(persistent_load)) {}

    /// Runs the stream to STOP and returns the top value (owned by this Unpickler); the
    /// stream must end there.
    const Value& load() {
        const Value& v = load_prefix();
        if (pos_ != d_.size()) err(d_.size() - pos_, " bytes after STOP");
        return v;
    }
    /// Runs the stream to its first STOP and returns the top value; bytes after it are left
    /// for the caller (consumed() says where they start). The legacy torch.save format is a
    /// sequence of pickles followed by raw storages.
    const Value& load_prefix() {
        if (done_) err("load called twice");
        while (true) {
            if (pos_ >= d_.size()) err("the pickle stream ends without STOP");
            op_pos_ = pos_;
            const std::uint8_t op = byte();
            if (op == '.') break;
            step(op);
        }
        done_ = true;
        if (stack_.size() != 1 || !marks_.empty())
            err("STOP with ", stack_.size(), " values on the stack and ", marks_.size(), " open MARKs (expected one value)");
        return *stack_.back();
    }
    /// Bytes read so far (after load_prefix: the pickle's length including STOP).
    std::size_t consumed() const { return pos_; }

private:
    template <class... A>
    [[noreturn]] void err(A&&... a) const {
        fail(where_, ": ", std::forward<A>(a)..., " (at byte ", op_pos_, ")");
    }
    [[noreturn]] void bad_opcode(std::uint8_t op, const char* why) const {
        const char* n = opcode_name(op);
        if (n) err("pickle opcode ", n, " (0x", hex(op), ") ", why);
        err("unknown pickle opcode 0x", hex(op));
    }
    static std::string hex(std::uint8_t v) {
        const char* h = "0123456789abcdef";
        return {h[v >> 4], h[v & 15]};
    }

    std::uint8_t byte() {
        if (pos_ >= d_.size()) err("truncated pickle stream");
        return std::to_integer<std::uint8_t>(d_[pos_++]);
    }
    std::uint64_t le(int n) {
        if (std::uint64_t(n) > d_.size() - pos_) err("truncated pickle stream (argument of ", opcode_name(op()), ")");
        std::uint64_t v = 0;
        for (int i = n - 1; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(d_[pos_ + std::size_t(i)]);
        pos_ += std::size_t(n);
        return v;
    }
    std::string bytes(std::uint64_t n) {
        if (n > d_.size() - pos_) err(opcode_name(op()), " of ", n, " bytes runs past the end of the pickle stream");
        std::string s(reinterpret_cast<const char*>(d_.data() + pos_), std::size_t(n));
        pos_ += std::size_t(n);
        return s;
    }
    std::string line() {  // text argument ending in '\n' (GLOBAL)
        const std::size_t start = pos_;
        while (pos_ < d_.size() && d_[pos_] != std::byte{'\n'}) {
            if (pos_ - start > 1000) err("overlong text argument of ", opcode_name(op()));
            ++pos_;
        }
        if (pos_ >= d_.size()) err("truncated pickle stream (unterminated text argument)");
        std::string s(reinterpret_cast<const char*>(d_.data() + start), pos_ - start);
        ++pos_;
        return s;
    }
    std::uint8_t op() const { return std::to_integer<std::uint8_t>(d_[op_pos_]); }

    Value* make(Kind k) {
        if (arena_.size() >= max_values) err("too many values in the pickle");
        arena_.emplace_back();
        arena_.back().kind = k;
        return &arena_.back();
    }
    void push(Value* v) {
        if (stack_.size() >= max_stack) err("pickle stack too deep");
        stack_.push_back(v);
    }
    Value* pop() {
        if (stack_.size() <= floor()) err(opcode_name(op()), " on an empty stack");
        Value* v = stack_.back();
        stack_.pop_back();
        return v;
    }
    Value* top() {
        if (stack_.size() <= floor()) err(opcode_name(op()), " on an empty stack");
        return stack_.back();
    }
    std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
    std::vector<Value*> pop_mark() {
        if (marks_.empty()) err(opcode_name(op()), " without a MARK");
        std::vector<Value*> v(stack_.begin() + std::ptrdiff_t(marks_.back()), stack_.end());
        stack_.resize(marks_.back());
        marks_.pop_back();
        return v;
    }
    Value* seq(Kind k, std::vector<Value*> items) {
        Value* v = make(k);
        v->items = std::move(items);
        return v;
    }
    void memo_put(std::uint64_t idx) {
        if (memo_.size() >= max_memo && !memo_.count(idx)) err("pickle memo too large");
        memo_[idx] = top();
    }
    Value* memo_get(std::uint64_t idx) {
        auto it = memo_.find(idx);
        if (it == memo_.end()) err(opcode_name(op()), " of memo entry ", idx, ", which was never stored");
        return it->second;
    }
    Value* dict_target(Value* d) {
        if (d->kind != Kind::dict) err(opcode_name(op()), " on a ", kind_name(d->kind), ", not a dict");
        return d;
    }
    /// d[k] = v. String and integer keys replace an earlier equal key (as Python's dict);
    /// a hash index per dict keeps that linear in the number of keys, even for hostile files.
    void set_item(Value* d, Value* k, Value* v) {
        if (k->kind == Kind::string || k->kind == Kind::integer) {
            std::string key(1, k->kind == Kind::string ? 's' : 'i');  // (not "s" + ...: GCC 12 -Wrestrict)
            key += k->kind == Kind::string ? k->s : std::to_string(k->i);
            auto& index = dict_index_[d];
            const auto [it, fresh] = index.emplace(std::move(key), d->entries.size());
            if (!fresh) {
                d->entries[it->second].second = v;
                return;
            }
        }
        d->entries.emplace_back(k, v);
    }
    Value* global(std::string module, std::string name) {
        std::string full = module + "." + name;
        if (!allowed_global(full))
            err("global '", full, "' (", opcode_name(op()),
                ") is not allowed: cascadev loads tensors and plain containers only, never arbitrary objects");
        Value* v = make(Kind::global);
        v->s = std::move(full);
        return v;
    }

    static std::int64_t as_int(const Value* v, const char* what, const Unpickler& u) {
        if (v->kind == Kind::integer) return v->i;
        if (v->kind == Kind::boolean) return v->b;
        u.err(what, " must be an int, got a ", kind_name(v->kind));
    }
    std::vector<std::int64_t> int_tuple(const Value* v, const char* what) const {
        if (v->kind != Kind::tuple && v->kind != Kind::list) err(what, " must be a tuple of ints, got a ", kind_name(v->kind));
        std::vector<std::int64_t> r;
        for (const Value* x : v->items) r.push_back(as_int(x, what, *this));
        return r;
    }

    Value* reduce(Value* callable, Value* args) {
        if (callable->kind != Kind::global) err("REDUCE of a ", kind_name(callable->kind), ", not a callable global");
        if (args->kind != Kind::tuple) err("REDUCE arguments are a ", kind_name(args->kind), ", not a tuple");
        const auto& a = args->items;
        const std::string& f = callable->s;
        if (f == "collections.OrderedDict") {
            Value* d = make(Kind::dict);
            if (a.empty()) return d;
            if (a.size() != 1 || (a[0]->kind != Kind::list && a[0]->kind != Kind::tuple))
                err("collections.OrderedDict called with unsupported arguments");
            for (Value* p : a[0]->items) {
                if ((p->kind != Kind::tuple && p->kind != Kind::list) || p->items.size() != 2)
                    err("collections.OrderedDict item is not a pair");
                set_item(d, p->items[0], p->items[1]);
            }
            return d;
        }
        if (f == "torch._utils._rebuild_tensor_v2" || f == "torch._utils._rebuild_tensor") {
            const bool v2 = f.back() == '2';
            if (v2 ? (a.size() != 6 && a.size() != 7) : a.size() != 4)
                err(f, " called with ", a.size(), " arguments");
            if (a[0]->kind != Kind::storage) err(f, ": first argument is a ", kind_name(a[0]->kind), ", not a storage");
            Value* t = make(Kind::tensor);
            t->tensor.storage = a[0]->storage;
            t->tensor.offset = as_int(a[1], "storage offset", *this);
            t->tensor.size = int_tuple(a[2], "size");
            t->tensor.stride = int_tuple(a[3], "stride");
            if (t->tensor.size.size() != t->tensor.stride.size())
                err(f, ": size has ", t->tensor.size.size(), " dims but stride has ", t->tensor.stride.size());
            return t;
        }
        if (f == "torch._utils._rebuild_parameter" || f == "torch._utils._rebuild_parameter_with_state") {
            if (a.size() < 1 || a.size() > 4 || a[0]->kind != Kind::tensor) err(f, " called without a tensor");
            return a[0];
        }
        err("global '", f, "' is not callable");
    }

    void step(std::uint8_t op) {
        switch (op) {
            case 0x80: {  // PROTO
                const auto v = byte();
                if (v < 2 || v > 5) err("unsupported pickle protocol ", int(v));
                return;
            }
            case 0x95: le(8); return;  // FRAME: a hint only
            case '(':
                if (marks_.size() >= max_marks) err("too many nested MARKs");
                marks_.push_back(stack_.size());
                return;
            case '0': pop(); return;
            case '1': pop_mark(); return;
            case '2': push(top()); return;
            case 'N': push(make(Kind::none)); return;
            case 0x88: case 0x89: { Value* v = make(Kind::boolean); v->b = op == 0x88; push(v); return; }
            case 'J': { Value* v = make(Kind::integer); v->i = std::int32_t(std::uint32_t(le(4))); push(v); return; }
            case 'K': { Value* v = make(Kind::integer); v->i = std::int64_t(le(1)); push(v); return; }
            case 'M': { Value* v = make(Kind::integer); v->i = std::int64_t(le(2)); push(v); return; }
            case 0x8a: case 0x8b: {  // LONG1 / LONG4: little-endian two's complement
                const std::uint64_t n = op == 0x8a ? le(1) : le(4);
                if (n > 8) {  // kept as bytes (torch's legacy magic number is 80 bits)
                    if (n > max_bigint_bytes) err(opcode_name(op), " of ", n, " bytes is too long");
                    Value* v = make(Kind::bigint);
                    v->s = bytes(n);
                    push(v);
                    return;
                }
                const std::string b = bytes(n);
                std::uint64_t u = 0;
                for (std::size_t i = b.size(); i-- > 0;) u = (u << 8) | std::uint8_t(b[i]);
                if (n > 0 && n < 8 && (std::uint8_t(b.back()) & 0x80)) u |= ~std::uint64_t(0) << (8 * n);
                Value* v = make(Kind::integer);
                v->i = std::int64_t(u);
                push(v);
                return;
            }
            case 'G': {
                const std::uint64_t be = le(8);
                std::uint64_t x = 0;
                for (int i = 0; i < 8; ++i) x = (x << 8) | ((be >> (8 * i)) & 0xFF);  // big-endian double
                Value* v = make(Kind::floating);
                std::memcpy(&v->f, &x, 8);
                push(v);
                return;
            }
            case 'X': case 0x8c: case 0x8d: {
                const std::uint64_t n = op == 'X' ? le(4) : op == 0x8c ? le(1) : le(8);
                Value* v = make(Kind::string);
                v->s = bytes(n);
                push(v);
                return;
            }
            case 'U': case 'T': {  // SHORT_BINSTRING / BINSTRING (protocol-2 str of Python 2)
                const std::uint64_t n = op == 'U' ? le(1) : le(4);
                Value* v = make(Kind::string);
                v->s = bytes(n);
                push(v);
                return;
            }
            case 'C': case 'B': case 0x8e: {
                const std::uint64_t n = op == 'C' ? le(1) : op == 'B' ? le(4) : le(8);
                Value* v = make(Kind::bytes);
                v->s = bytes(n);
                push(v);
                return;
            }
            case '}': push(make(Kind::dict)); return;
            case ']': push(make(Kind::list)); return;
            case ')': push(make(Kind::tuple)); return;
            case 't': push(seq(Kind::tuple, pop_mark())); return;
            case 'l': push(seq(Kind::list, pop_mark())); return;
            case 0x85: { Value* a = pop(); push(seq(Kind::tuple, {a})); return; }
            case 0x86: { Value* b = pop(); Value* a = pop(); push(seq(Kind::tuple, {a, b})); return; }
            case 0x87: { Value* c = pop(); Value* b = pop(); Value* a = pop(); push(seq(Kind::tuple, {a, b, c})); return; }
            case 'd': {
                auto items = pop_mark();
                if (items.size() % 2) err("DICT with an odd number of items");
                Value* d = make(Kind::dict);
                for (std::size_t i = 0; i < items.size(); i += 2) set_item(d, items[i], items[i + 1]);
                push(d);
                return;
            }
            case 'a': {
                Value* v = pop();
                Value* l = top();
                if (l->kind != Kind::list) err("APPEND to a ", kind_name(l->kind), ", not a list");
                l->items.push_back(v);
                return;
            }
            case 'e': {
                auto items = pop_mark();
                Value* l = top();
                if (l->kind != Kind::list) err("APPENDS to a ", kind_name(l->kind), ", not a list");
                l->items.insert(l->items.end(), items.begin(), items.end());
                return;
            }
            case 's': {
                Value* v = pop();
                Value* k = pop();
                set_item(dict_target(top()), k, v);
                return;
            }
            case 'u': {
                auto items = pop_mark();
                if (items.size() % 2) err("SETITEMS with an odd number of items");
                Value* d = dict_target(top());
                for (std::size_t i = 0; i < items.size(); i += 2) set_item(d, items[i], items[i + 1]);
                return;
            }
            case 'q': memo_put(le(1)); return;
            case 'r': memo_put(le(4)); return;
            case 0x94: memo_put(memo_.size()); return;
            case 'h': push(memo_get(le(1))); return;
            case 'j': push(memo_get(le(4))); return;
            case 'c': {
                std::string module = line();
                std::string name = line();
                push(global(std::move(module), std::move(name)));
                return;
            }
            case 0x93: {
                Value* name = pop();
                Value* module = pop();
                if (module->kind != Kind::string || name->kind != Kind::string)
                    err("STACK_GLOBAL needs two strings");
                push(global(module->s, name->s));
                return;
            }
            case 'Q': {
                Value* pid = pop();
                if (!persistent_load_) err("persistent id in a pickle that allows none");
                Value* s = make(Kind::storage);
                s->storage = persistent_load_(*pid);
                push(s);
                return;
            }
            case 'R': {
                Value* args = pop();
                Value* callable = pop();
                push(reduce(callable, args));
                return;
            }
            case 'b': {  // BUILD: only the attribute dict of an OrderedDict (a state dict's _metadata)
                Value* state = pop();
                Value* target = top();
                if (target->kind != Kind::dict || (state->kind != Kind::dict && state->kind != Kind::none))
                    err("BUILD of a ", kind_name(target->kind), " is not supported");
                return;
            }
            default: bad_opcode(op, "is not supported by cascadev's restricted unpickler");
        }
    }

    std::span<const std::byte> d_;
    std::string where_;
    PersistentLoad persistent_load_;
    std::size_t pos_ = 0, op_pos_ = 0;
    bool done_ = false;
    std::deque<Value> arena_;
    std::vector<Value*> stack_;
    std::vector<std::size_t> marks_;
    std::unordered_map<std::uint64_t, Value*> memo_;
    std::unordered_map<const Value*, std::unordered_map<std::string, std::size_t>> dict_index_;  // set_item
};

}  // namespace cascadev::io::pickle
