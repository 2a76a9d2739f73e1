#pragma once
// Test helpers that build checkpoint files byte by byte: file I/O, little-endian integers
// and a tiny pickle assembler (protocol 2 opcodes as torch.save writes them).
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace cascadev::testing {

inline void write_file(const std::filesystem::path& p, const std::string& bytes) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), std::streamsize(bytes.size()));
    if (!f) throw std::runtime_error("cannot write " + p.string());
}

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

/// Appends the n low bytes of v, little-endian.
inline void put_le(std::string& s, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) s.push_back(char((v >> (8 * i)) & 0xFF));
}
/// Overwrites the n bytes at `at` with v, little-endian.
inline void set_le(std::string& s, std::size_t at, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) s[at + std::size_t(i)] = char((v >> (8 * i)) & 0xFF);
}

/// Assembles a pickle opcode by opcode; done() adds STOP. CRTP so that a test's own
/// opcodes (a storage id of its format) chain with these.
template <class Self>
struct BasicPickle {
    std::string s = std::string("\x80\x02", 2);
    Self& op(unsigned char c) { s.push_back(char(c)); return self(); }
    Self& str(const std::string& v) { op('X'); put_le(s, v.size(), 4); s += v; return self(); }
    Self& i(std::int32_t v) { op('J'); put_le(s, std::uint32_t(v), 4); return self(); }
    Self& global(const std::string& m, const std::string& n) { op('c'); s += m + "\n" + n + "\n"; return self(); }
    Self& ituple(const std::vector<std::int32_t>& v) {
        op('(');
        for (auto x : v) i(x);
        return op('t');
    }
    /// Pushes _rebuild_tensor_v2(<storage>, offset, size, stride, False, OrderedDict()), the
    /// storage pushed by `push_storage()`.
    template <class PushStorage>
    Self& rebuild_tensor(PushStorage push_storage, std::int32_t offset, const std::vector<std::int32_t>& size,
                         const std::vector<std::int32_t>& stride) {
        global("torch._utils", "_rebuild_tensor_v2").op('(');
        push_storage();
        i(offset).ituple(size).ituple(stride).op(0x89).global("collections", "OrderedDict").op(')').op('R');
        return op('t').op('R');
    }
    std::string done() { return s + "."; }

private:
    Self& self() { return static_cast<Self&>(*this); }
};

}  // namespace cascadev::testing
