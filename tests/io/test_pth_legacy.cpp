// Legacy (pre-zip) torch.save checkpoints: a fixture written by torch 1.13 with
// _use_new_zipfile_serialization=False (tests/io/data/make_legacy_fixture.py), storage
// views as torch < 0.4 wrote them, and hostile files (truncated, wrong sizes, bad storage
// keys, bad headers), each of which must end in a cascadev::Error naming the file.
#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "cascadev/core.hpp"
#include "cascadev/io/pth.hpp"
#include "cascadev/io/weight_store.hpp"
#include "../common/byte_files.hpp"
#include "../common/temp_dir.hpp"
#include "expect_open_error.hpp"

using namespace cascadev;
using namespace cascadev::io;
namespace fs = std::filesystem;
using cascadev::testing::put_le;
using cascadev::testing::read_file;
using cascadev::testing::write_file;

namespace {

const fs::path data_dir = fs::path(CASCADEV_TEST_DATA_DIR) / "io/data";

struct TempDir : cascadev::testing::TempDir {
    TempDir() : cascadev::testing::TempDir("cascadev-legacy-test") {}
};

/// The legacy format's storage persistent id, then the tensor.
struct Pickle : cascadev::testing::BasicPickle<Pickle> {
    /// Pushes the legacy persistent id ('storage', type, key, 'cpu', numel, view) as BINPERSID;
    /// view: None, or (view_key, offset, numel) when view_key is not empty.
    Pickle& storage(const std::string& type, const std::string& key, std::int32_t numel,
                    const std::string& view_key = "", std::int32_t view_off = 0, std::int32_t view_numel = 0) {
        // type "cuda.HalfStorage": torch.cuda.HalfStorage on "cuda:0", as old GPU checkpoints.
        const auto dot = type.find('.');
        if (dot == std::string::npos) {
            op('(').str("storage").global("torch", type).str(key).str("cpu").i(numel);
        } else {
            op('(').str("storage").global("torch." + type.substr(0, dot), type.substr(dot + 1)).str(key).str("cuda:0").i(numel);
        }
        if (view_key.empty()) {
            op('N');
        } else {
            str(view_key).i(view_off).i(view_numel).op(0x87);
        }
        return op('t').op('Q');
    }
    Pickle& tensor(const std::string& type, const std::string& key, std::int32_t numel, std::int32_t offset,
                   const std::vector<std::int32_t>& size, const std::vector<std::int32_t>& stride,
                   const std::string& view_key = "", std::int32_t view_off = 0, std::int32_t view_numel = 0) {
        return rebuild_tensor([&] { storage(type, key, numel, view_key, view_off, view_numel); }, offset, size, stride);
    }
};

/// The three header pickles: magic number, protocol version, sys_info.
std::string legacy_header(std::uint32_t protocol = 1001, bool little = true) {
    std::string s("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);
    s += std::string("\x80\x02M", 3);
    put_le(s, protocol, 2);
    s += ".";
    Pickle p;
    p.op('}').str("protocol_version").i(std::int32_t(protocol)).op('s');
    p.str("little_endian").op(little ? 0x88 : 0x89).op('s');
    return s + p.done();
}
std::string key_list(const std::vector<std::string>& keys) {
    Pickle p;
    p.op(']').op('(');
    for (const auto& k : keys) p.str(k);
    return p.op('e').done();
}
/// One storage record: int64 element count, then the bytes.
std::string record(std::uint64_t count, const std::string& bytes) {
    std::string s;
    put_le(s, count, 8);
    return s + bytes;
}
std::string f32_bytes(const std::vector<float>& v) { return {reinterpret_cast<const char*>(v.data()), v.size() * 4}; }

/// {'w': tensor over storage "k" of `numel` floats}, as a bare state dict.
std::string one_tensor(std::int32_t numel, std::int32_t offset, std::vector<std::int32_t> size,
                       std::vector<std::int32_t> stride, const std::string& type = "FloatStorage") {
    Pickle p;
    p.op('}').str("w").tensor(type, "k", numel, offset, size, stride).op('s');
    return p.done();
}
std::string legacy(const std::string& obj, const std::vector<std::string>& keys, const std::string& records) {
    return legacy_header() + obj + key_list(keys) + records;
}

void expect_error(const std::string& bytes, const std::string& what) {
    cascadev::testing::expect_open_error(bytes, what, [](const fs::path& p) { PthReader r(p); });
    cascadev::testing::expect_open_error(bytes, what, [](const fs::path& p) { WeightStore s(p); });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pth_legacy)

BOOST_AUTO_TEST_CASE(torch_written_fixture_matches_its_safetensors_bit_for_bit) {
    const PthReader r(data_dir / "legacy_state.pth");
    BOOST_TEST(r.legacy());
    BOOST_TEST(r.prefix().empty());
    const SafetensorsSource want(std::make_shared<SafetensorsReader>(data_dir / "legacy_state.safetensors"));
    BOOST_TEST(r.names().size() == want.tensors().size());
    BOOST_TEST(r.names().size() == 7u);
    for (const auto& t : want.tensors()) {
        BOOST_TEST_INFO(t.name);
        BOOST_REQUIRE(r.contains(t.name));
        BOOST_TEST(dtype_name(r.info(t.name).dtype) == dtype_name(t.dtype));
        BOOST_TEST(r.info(t.name).shape == t.shape);
        BOOST_TEST((r.read_raw(t.name) == want.read_raw(t.name)));
    }
    // Shared storage at an offset, and a transposed (strided) view.
    BOOST_TEST(r.storage_key("conv.weight") == r.storage_key("conv.bias"));
    BOOST_TEST(r.storage_offset("conv.bias") == 12u);
    BOOST_TEST(!r.layout("proj.weight").is_contiguous());
    const auto p = r.load<float, 2>("proj.weight");  // arange(6).view(2, 3).t()
    BOOST_TEST(p.data()[0] == 0.f);
    BOOST_TEST(p.data()[1] == 3.f);
    BOOST_TEST(p.data()[2] == 1.f);
    const auto b = r.load<float, 1>("conv.bias");  // arange(24) * 0.25 - 2, elements 12, 13
    BOOST_TEST(b.data()[0] == 1.f);
    BOOST_TEST(b.data()[1] == 1.25f);
}

BOOST_AUTO_TEST_CASE(weight_store_opens_legacy_files_by_content) {
    TempDir d;
    fs::copy_file(data_dir / "legacy_state.pth", d / "weights.bin");
    BOOST_TEST((detect_format(d / "weights.bin") == CheckpointFormat::pytorch_legacy));
    const WeightStore ws(d / "weights.bin");
    const WeightStore st(data_dir / "legacy_state.safetensors");
    BOOST_TEST(ws.keys() == st.keys());
    const auto a = ws.get<float, DExtents<4>>("conv.weight");
    const auto e = st.get<float, DExtents<4>>("conv.weight");
    BOOST_TEST(std::memcmp(a.data(), e.data(), std::size_t(a.size()) * 4) == 0);
    const auto h = ws.get<float, DExtents<1>>("half");  // F16 converted on load
    BOOST_TEST(h.data()[1] == -2.5f);
    BOOST_CHECK_THROW(ws.reader("half"), Error);  // not a safetensors key
    // The dict selection applies as for zip files.
    BOOST_CHECK_THROW(PthReader(d / "weights.bin", PthOptions{"state_dict_ema", {}}), Error);
}

BOOST_AUTO_TEST_CASE(assembled_files_bare_dicts_shared_storages_and_views) {
    TempDir d;
    {  // bare dict, two tensors on one storage, keys in a different order than first use
        Pickle p;
        p.op('}').str("a").tensor("FloatStorage", "k1", 4, 0, {2, 2}, {1, 2}).op('s');
        p.str("b").tensor("HalfStorage", "k0", 2, 1, {1}, {1}).op('s');
        p.str("c").tensor("FloatStorage", "k1", 4, 3, {1}, {1}).op('s');
        const std::string half = std::string("\x00\x3c\x00\x40", 4);  // 1, 2
        write_file(d / "a.pth", legacy(p.done(), {"k0", "k1"}, record(2, half) + record(4, f32_bytes({1, 2, 3, 4}))));
        const PthReader r(d / "a.pth");
        const auto a = r.load<float, 2>("a");  // transposed: [[1, 3], [2, 4]]
        BOOST_TEST(a.data()[1] == 3.f);
        BOOST_TEST(a.data()[2] == 2.f);
        const auto b = r.load<float, 1>("b");
        const auto c = r.load<float, 1>("c");
        BOOST_TEST(b.data()[0] == 2.f);
        BOOST_TEST(c.data()[0] == 4.f);
    }
    {  // saved from a GPU: torch.cuda.<Type>Storage, location "cuda:0"
        Pickle p;
        p.op('}').str("g").tensor("cuda.HalfStorage", "k", 2, 0, {2}, {1}).op('s');
        write_file(d / "g.pth", legacy(p.done(), {"k"}, record(2, std::string("\x00\x3c\x00\xc0", 4))));
        const auto g = PthReader(d / "g.pth").load<float, 1>("g");
        BOOST_TEST(g.data()[0] == 1.f);
        BOOST_TEST(g.data()[1] == -2.f);
        Pickle q;
        q.op('}').str("g").tensor("cuda.ShortStorage", "k", 2, 0, {2}, {1}).op('s');
        expect_error(legacy(q.done(), {"k"}, record(2, std::string(4, '\0'))), "torch.cuda.ShortStorage");
        Pickle r;
        r.op('}').str("g").tensor("cuda.amp.FloatStorage", "k", 2, 0, {2}, {1}).op('s');
        expect_error(legacy(r.done(), {"k"}, record(2, std::string(8, '\0'))), "torch.cuda.amp.FloatStorage");
    }
    {  // a storage view (torch < 0.4): elements 2..5 of root storage "r"
        Pickle p;
        p.op('}').str("v").tensor("FloatStorage", "r", 6, 1, {2}, {1}, "view0", 2, 3).op('s');
        write_file(d / "v.pth", legacy(p.done(), {"r"}, record(6, f32_bytes({0, 1, 2, 3, 4, 5}))));
        const auto v = PthReader(d / "v.pth").load<float, 1>("v");
        BOOST_TEST(v.data()[0] == 3.f);
        BOOST_TEST(v.data()[1] == 4.f);
    }
}

BOOST_AUTO_TEST_CASE(hostile_truncations_never_crash) {
    const std::string good = read_file(data_dir / "legacy_state.pth");
    TempDir d;
    int errors = 0;
    // Every prefix of the file is an Error (the data ends exactly at the end of the file).
    for (std::size_t n = 0; n < good.size(); ++n) {
        write_file(d / "t.pth", good.substr(0, n));
        try {
            PthReader r(d / "t.pth");
            BOOST_ERROR("a truncation to " << n << " bytes loaded");
        } catch (const Error& e) {
            ++errors;
            if (n > 0) BOOST_TEST(std::string(e.what()).find((d / "t.pth").string()) != std::string::npos);
        }
    }
    BOOST_TEST(errors == int(good.size()));
    expect_error(good.substr(0, good.size() - 3), "truncated: storage");
    expect_error(good.substr(0, 15), "ends before the protocol version pickle");
    expect_error(good + "x", "1 unexpected bytes after the last storage");
}

BOOST_AUTO_TEST_CASE(hostile_sizes_and_storage_keys) {
    const std::string four = f32_bytes({1, 2, 3, 4});
    const std::string obj = one_tensor(4, 0, {4}, {1});
    // Wrong element count in the record, in either direction.
    expect_error(legacy(obj, {"k"}, record(3, four.substr(0, 12))), "holds 3 elements but the pickle says 4");
    expect_error(legacy(obj, {"k"}, record(5, four + four.substr(0, 4))), "holds 5 elements but the pickle says 4");
    expect_error(legacy(obj, {"k"}, record(std::uint64_t(-1), four)), "but the pickle says 4");
    // A pickle element count that a file cannot hold.
    expect_error(legacy(one_tensor(0x7FFFFFFF, 0, {4}, {1}), {"k"}, record(0x7FFFFFFF, four)), "truncated: storage \"k\" needs");
    // Tensor reaching past its storage.
    expect_error(legacy(one_tensor(4, 2, {3}, {1}), {"k"}, record(4, four)), "reach element 4");
    // Storage keys: unknown, missing, repeated, not strings, not a list.
    expect_error(legacy(obj, {"nope"}, record(4, four)), "storage \"nope\", which no tensor references");
    expect_error(legacy(obj, {}, record(4, four)), "storage \"k\" (referenced by the legacy object pickle) is missing");
    expect_error(legacy(obj, {"k", "k"}, record(4, four) + record(4, four)), "storage \"k\" twice");
    {
        Pickle p;
        p.op(']').op('(').i(5).op('e');
        expect_error(legacy_header() + obj + p.done() + record(4, four), "key list holds a int");
        Pickle q;
        q.op('}');
        expect_error(legacy_header() + obj + q.done() + record(4, four), "key list is a dict, not a list");
    }
    {  // one key used with two dtypes
        Pickle p;
        p.op('}').str("a").tensor("FloatStorage", "k", 4, 0, {1}, {1}).op('s');
        p.str("b").tensor("HalfStorage", "k", 4, 0, {1}, {1}).op('s');
        expect_error(legacy(p.done(), {"k"}, record(4, four)), "referenced as both F32[4] and F16[4]");
    }
    {  // views outside their storage, or naming their own storage
        Pickle p;
        p.op('}').str("v").tensor("FloatStorage", "r", 4, 0, {1}, {1}, "v0", 3, 2).op('s');
        expect_error(legacy(p.done(), {"r"}, record(4, four)), "lies outside storage \"r\"");
        Pickle q;
        q.op('}').str("v").tensor("FloatStorage", "r", 4, 0, {1}, {1}, "r", 0, 2).op('s');
        expect_error(legacy(q.done(), {"r"}, record(4, four)), "has the key of its own storage");
        Pickle v;
        v.op('}').str("v").tensor("FloatStorage", "r", 4, 0, {1}, {1}, "v0", 0, 2).op('s');
        expect_error(legacy(v.done(), {"r", "v0"}, record(4, four)), "is a view of storage \"r\"");
    }
}

BOOST_AUTO_TEST_CASE(hostile_headers_and_pickles) {
    const std::string four = f32_bytes({1, 2, 3, 4});
    const std::string obj = one_tensor(4, 0, {4}, {1});
    const std::string tail = obj + key_list({"k"}) + record(4, four);
    {  // a plain pickle (no magic number)
        Pickle p;
        p.op('}');
        expect_error(p.done(), "not a torch.save checkpoint (no torch magic number)");
    }
    std::string bad_magic = legacy_header();
    bad_magic[5] = char(0x00);
    expect_error(bad_magic + tail, "no torch magic number");
    expect_error(legacy_header(1000) + tail, "protocol version 1000");
    expect_error(legacy_header(1001, false) + tail, "big-endian");
    {
        Pickle p;
        p.global("os", "system").str("echo pwned").op(0x85).op('R');
        expect_error(legacy_header() + p.done() + key_list({}), "global 'os.system'");
    }
    {  // a pickled nn.Module
        Pickle p;
        p.op('(').str("module").global("collections", "OrderedDict").str("f.py").str("src").op('t').op('Q');
        expect_error(legacy_header() + p.done() + key_list({}), "nn.Module");
    }
    {  // persistent ids of the wrong shape
        Pickle p;
        p.op('(').str("storage").global("torch", "FloatStorage").str("k").op('t').op('Q');
        expect_error(legacy_header() + p.done() + key_list({}), "persistent id is not");
        Pickle q;
        q.op('}').str("w").global("torch._utils", "_rebuild_tensor_v2").op('(');
        q.op('(').str("storage").global("torch", "FloatStorage").str("k").str("cpu").i(-4).op('N').op('t').op('Q');
        q.i(0).ituple({1}).ituple({1}).op(0x89).global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
        expect_error(legacy_header() + q.op('s').done() + key_list({"k"}) + record(4, four), "bad element count");
    }
    expect_error(legacy(one_tensor(2, 0, {2}, {1}, "ShortStorage"), {"k"}, record(2, four.substr(0, 4))),
                 "torch.ShortStorage");
    // A LONG of more than 64 bits is kept as bytes; used as an int it is an error.
    {
        Pickle p;
        p.op('}').str("w").global("torch._utils", "_rebuild_tensor_v2").op('(');
        p.storage("FloatStorage", "k", 4).op(0x8a).op(9);
        p.s += std::string(9, '\x01');
        p.ituple({1}).ituple({1}).op(0x89).global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
        expect_error(legacy_header() + p.op('s').done() + key_list({"k"}) + record(4, four),
                     "storage offset must be an int, got a int (beyond 64 bits)");
    }
}

BOOST_AUTO_TEST_CASE(mutated_fixture_never_crashes) {
    const std::string good = read_file(data_dir / "legacy_state.pth");
    TempDir d;
    std::mt19937 rng(4321);
    int errors = 0, loaded = 0;
    for (int round = 0; round < 600; ++round) {
        std::string b = good;
        const int n = 1 + int(rng() % 4);
        for (int k = 0; k < n; ++k) b[rng() % b.size()] = char(rng());
        if (round % 5 == 0) b.resize(rng() % b.size());
        write_file(d / "m.pth", b);
        try {
            PthReader r(d / "m.pth");
            for (const auto& name : r.names()) (void)r.read_raw(name);
            ++loaded;
        } catch (const Error&) {
            ++errors;
        }
    }
    BOOST_TEST(errors + loaded == 600);
    BOOST_TEST(errors > 0);
    BOOST_TEST(loaded > 0);  // mutations of the raw data still load
}

BOOST_AUTO_TEST_SUITE_END()
