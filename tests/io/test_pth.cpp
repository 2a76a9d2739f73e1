// PyTorch zip checkpoints (.pth): the golden files (shared storages, offsets, strides,
// F16/BF16, EMA selection, drop), the WeightStore integration, and hostile inputs, each
// of which must end in a cascadev::Error naming the file, never a crash.
#include <boost/test/unit_test.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
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
using cascadev::testing::set_le;
using cascadev::testing::write_file;

namespace {

const fs::path golden = fs::path(CASCADEV_TEST_DATA_DIR) / "golden/components/checkpoint.pth";

struct TempDir : cascadev::testing::TempDir {
    TempDir() : cascadev::testing::TempDir("cascadev-pth-test") {}
};


/// A minimal zip writer: stored entries (or a forged method), optionally zip64 records.
struct ZipEntrySpec {
    std::string name, data;
    int method = 0;
};
std::string make_zip(const std::vector<ZipEntrySpec>& entries, bool zip64 = false) {
    std::string out, cd;
    for (const auto& e : entries) {
        const std::size_t local = out.size();
        put_le(out, 0x04034b50, 4);
        put_le(out, 20, 2);
        put_le(out, 0, 2);
        put_le(out, std::uint64_t(e.method), 2);
        put_le(out, 0, 4);  // time, date
        put_le(out, 0, 4);  // crc (not checked)
        put_le(out, e.data.size(), 4);
        put_le(out, e.data.size(), 4);
        put_le(out, e.name.size(), 2);
        put_le(out, 0, 2);
        out += e.name + e.data;
        put_le(cd, 0x02014b50, 4);
        put_le(cd, 45, 2);
        put_le(cd, 45, 2);
        put_le(cd, 0, 2);
        put_le(cd, std::uint64_t(e.method), 2);
        put_le(cd, 0, 4);
        put_le(cd, 0, 4);
        put_le(cd, zip64 ? 0xFFFFFFFF : e.data.size(), 4);
        put_le(cd, zip64 ? 0xFFFFFFFF : e.data.size(), 4);
        put_le(cd, e.name.size(), 2);
        put_le(cd, zip64 ? 28 : 0, 2);
        put_le(cd, 0, 2);
        put_le(cd, 0, 2);
        put_le(cd, 0, 2);
        put_le(cd, 0, 4);
        put_le(cd, zip64 ? 0xFFFFFFFF : local, 4);
        cd += e.name;
        if (zip64) {
            put_le(cd, 1, 2);
            put_le(cd, 24, 2);
            put_le(cd, e.data.size(), 8);
            put_le(cd, e.data.size(), 8);
            put_le(cd, local, 8);
        }
    }
    const std::size_t cd_off = out.size();
    out += cd;
    if (zip64) {
        const std::size_t z = out.size();
        put_le(out, 0x06064b50, 4);
        put_le(out, 44, 8);
        put_le(out, 45, 2);
        put_le(out, 45, 2);
        put_le(out, 0, 4);
        put_le(out, 0, 4);
        put_le(out, entries.size(), 8);
        put_le(out, entries.size(), 8);
        put_le(out, cd.size(), 8);
        put_le(out, cd_off, 8);
        put_le(out, 0x07064b50, 4);
        put_le(out, 0, 4);
        put_le(out, z, 8);
        put_le(out, 1, 4);
    }
    put_le(out, 0x06054b50, 4);
    put_le(out, 0, 2);
    put_le(out, 0, 2);
    put_le(out, zip64 ? 0xFFFF : entries.size(), 2);
    put_le(out, zip64 ? 0xFFFF : entries.size(), 2);
    put_le(out, zip64 ? 0xFFFFFFFF : cd.size(), 4);
    put_le(out, zip64 ? 0xFFFFFFFF : cd_off, 4);
    put_le(out, 0, 2);
    return out;
}

/// A tiny pickle assembler (protocol 2 opcodes as torch writes them).
/// The zip format's storage persistent id ('storage', type, key, 'cpu', numel), then the tensor.
struct Pickle : cascadev::testing::BasicPickle<Pickle> {
    Pickle& tensor(const std::string& type, const std::string& key, std::int32_t numel, std::int32_t offset,
                   const std::vector<std::int32_t>& size, const std::vector<std::int32_t>& stride) {
        return rebuild_tensor([&] { op('(').str("storage").global("torch", type).str(key).str("cpu").i(numel).op('t').op('Q'); },
                              offset, size, stride);
    }
};

std::string f32_bytes(const std::vector<float>& v) {
    return {reinterpret_cast<const char*>(v.data()), v.size() * 4};
}

/// {'state_dict': {'w': tensor}} with storage "0" holding `storage` floats.
std::string checkpoint(const std::string& pickle, const std::vector<ZipEntrySpec>& storages, bool zip64 = false) {
    std::vector<ZipEntrySpec> e = {{"archive/data.pkl", pickle}};
    for (const auto& s : storages) e.push_back(s);
    e.push_back({"archive/version", "3\n"});
    return make_zip(e, zip64);
}
std::string one_tensor_pickle(std::int32_t numel, std::int32_t offset, std::vector<std::int32_t> size,
                              std::vector<std::int32_t> stride, const std::string& type = "FloatStorage") {
    Pickle p;
    p.op('}').str("state_dict").op('}').str("w").tensor(type, "0", numel, offset, size, stride).op('s').op('s');
    return p.done();
}

/// Expects opening `bytes` as a .pth to throw a cascadev::Error naming the file and `what`.
void expect_error(const std::string& bytes, const std::string& what) {
    cascadev::testing::expect_open_error(bytes, what, [](const fs::path& p) { PthReader r(p); });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pth)

BOOST_AUTO_TEST_CASE(golden_files_match_their_safetensors_bit_for_bit) {
    for (const char* c : {"ema_f32", "views_f16"}) {
        PthOptions opt;
        opt.drop = reference_drop_keys();
        const PthReader r(golden / c / "weights.pth", opt);
        const SafetensorsSource want(std::make_shared<SafetensorsReader>(golden / c / "weights.safetensors"));
        BOOST_TEST(r.names().size() == want.tensors().size());
        for (const auto& t : want.tensors()) {
            BOOST_TEST_INFO(c << ": " << t.name);
            BOOST_REQUIRE(r.contains(t.name));
            BOOST_TEST(dtype_name(r.info(t.name).dtype) == dtype_name(t.dtype));
            BOOST_TEST(r.info(t.name).shape == t.shape);
            BOOST_TEST((r.read_raw(t.name) == want.read_raw(t.name)));
        }
        BOOST_TEST(r.prefix() == "archive/");
        BOOST_TEST(r.version() == 3);
    }
}

BOOST_AUTO_TEST_CASE(views_shared_storage_offsets_strides_and_half_types) {
    const PthReader r(golden / "views_f16/weights.pth");
    std::map<std::string, std::vector<std::string>> by_storage;
    bool non_contiguous = false, offset = false, f16 = false, bf16 = false;
    for (const auto& n : r.names()) {
        by_storage[r.storage_key(n)].push_back(n);
        non_contiguous |= !r.layout(n).is_contiguous();
        offset |= r.storage_offset(n) != 0;
        f16 |= r.info(n).dtype == DType::F16;
        bf16 |= r.info(n).dtype == DType::BF16;
    }
    bool shared = false;
    for (const auto& [k, v] : by_storage) shared |= v.size() > 1;
    BOOST_TEST(shared);
    BOOST_TEST(non_contiguous);
    BOOST_TEST(offset);
    BOOST_TEST(f16);
    BOOST_TEST(bf16);
    // Converted loads agree with the expected file's converted loads, for every key.
    const SafetensorsReader want(golden / "views_f16/weights.safetensors");
    for (const auto& n : r.names()) {
        if (r.info(n).shape.size() != 2) continue;
        const auto a = r.load<float, 2>(n);
        const auto b = want.load<float, 2>(n);
        BOOST_TEST(std::memcmp(a.data(), b.data(), std::size_t(a.size()) * 4) == 0, n);
    }
}

BOOST_AUTO_TEST_CASE(ema_selection_drop_and_bare_dicts) {
    const fs::path f = golden / "ema_f32/weights.pth";
    const PthReader plain(f);
    BOOST_TEST(plain.contains("pos_embed"));
    BOOST_TEST(plain.has_ema());
    PthOptions o;
    o.drop = reference_drop_keys();
    const PthReader dropped(f, o);
    BOOST_TEST(!dropped.contains("pos_embed"));
    BOOST_TEST(dropped.dropped() == "pos_embed");
    o.dict = "state_dict_ema";
    const PthReader ema(f, o);
    BOOST_TEST(!ema.contains("pos_embed"));
    bool differs = false;
    for (const auto& n : ema.names()) differs |= ema.read_raw(n) != dropped.read_raw(n);
    BOOST_TEST(differs);
    o.dict = "optimizer";
    BOOST_CHECK_THROW(PthReader(f, o), Error);

    // A bare state dict at top level (torch.save(model.state_dict(), f)).
    TempDir d;
    Pickle p;
    p.op('}').str("w").tensor("FloatStorage", "0", 4, 0, {2, 2}, {1, 2}).op('s');
    write_file(d / "bare.pth", checkpoint(p.done(), {{"archive/data/0", f32_bytes({1, 2, 3, 4})}}));
    const PthReader bare(d / "bare.pth");
    const auto t = bare.load<float, 2>("w");  // transposed: [[1, 3], [2, 4]]
    BOOST_TEST(t.data()[1] == 3.f);
    BOOST_TEST(t.data()[2] == 2.f);
}

BOOST_AUTO_TEST_CASE(zip64_and_stack_global_and_memoize) {
    TempDir d;
    Pickle p;
    p.s = std::string("\x80\x04", 2);
    // {'state_dict': {'w': ...}} with STACK_GLOBAL for the rebuild function and MEMOIZE.
    p.op('}').op(0x94).str("state_dict").op('}');
    p.str("w").str("torch._utils").str("_rebuild_tensor_v2").op(0x93).op(0x94).op('(');
    p.op('(').str("storage").global("torch", "HalfStorage").str("k").str("cpu").i(3).op('t').op('Q');
    p.i(1).ituple({2}).ituple({1}).op(0x89).global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
    p.op('s').op('s');
    const std::string half = std::string("\x00\x3c\x00\x40\x00\x42", 6);  // 1, 2, 3 in F16
    write_file(d / "z64.pth", checkpoint(p.done(), {{"archive/data/k", half}, {"archive/byteorder", "little"}}, true));
    WeightStore ws(d / "z64.pth");
    const auto t = ws.get<float, DExtents<1>>("w");
    BOOST_TEST(t.data()[0] == 2.f);
    BOOST_TEST(t.data()[1] == 3.f);
    BOOST_CHECK_THROW(ws.reader("w"), Error);  // not a safetensors key
    BOOST_TEST(ws.source("w").path() == d / "z64.pth");
}

BOOST_AUTO_TEST_CASE(weight_store_opens_pth_by_content) {
    TempDir d;
    fs::copy_file(golden / "views_f16/weights.pth", d / "no_extension");
    const WeightStore pth(d / "no_extension");
    const WeightStore st(golden / "views_f16/weights.safetensors");
    BOOST_TEST(pth.keys() == st.keys());
    for (const auto& k : st.keys()) {
        if (st.info(k).shape.size() != 2) continue;
        const auto a = pth.get<float, DExtents<2>>(k);
        const auto b = st.get<float, DExtents<2>>(k);
        BOOST_TEST(std::memcmp(a.data(), b.data(), std::size_t(a.size()) * 4) == 0, k);
        // The loaded tensor's pages were released from the resident set; they read back the same.
        const auto again = pth.get<float, DExtents<2>>(k);
        BOOST_TEST(std::memcmp(a.data(), again.data(), std::size_t(a.size()) * 4) == 0, k);
    }
    BOOST_TEST(peak_rss() > 0u);
}

BOOST_AUTO_TEST_CASE(hostile_zip_containers) {
    const std::string good = read_file(golden / "views_f16/weights.pth");
    expect_error(good.substr(0, good.size() / 2), "zip");
    expect_error(good.substr(0, 10), "truncated zip");
    const std::size_t eocd = good.rfind(std::string("PK\x05\x06", 4));
    BOOST_REQUIRE(eocd != std::string::npos);
    {  // central directory offset past the end
        std::string b = good;
        set_le(b, eocd + 16, 0x7FFFFFF0, 4);
        expect_error(b, "central directory");
    }
    {  // central directory size too large
        std::string b = good;
        set_le(b, eocd + 12, 0x00FFFFFF, 4);
        expect_error(b, "central directory");
    }
    {  // one entry's local header offset pointing outside the file
        std::string b = good;
        const std::size_t cd = std::size_t(std::uint8_t(b[eocd + 16])) | std::size_t(std::uint8_t(b[eocd + 17])) << 8 |
                               std::size_t(std::uint8_t(b[eocd + 18])) << 16;
        set_le(b, cd + 42, 0xFFFFFF00, 4);
        expect_error(b, "local file header");
    }
    expect_error(make_zip({{"archive/data.pkl", one_tensor_pickle(1, 0, {1}, {1}), 8}}), "compressed (method 8)");
    expect_error(make_zip({{"archive/other", "x"}}), "data.pkl");
    const std::string pk = one_tensor_pickle(1, 0, {1}, {1});
    expect_error(make_zip({{"a/data.pkl", pk}, {"b/data.pkl", pk}}), "two pickles");
    expect_error(checkpoint(pk, {{"archive/data/0", f32_bytes({1})}, {"archive/byteorder", "big"}}), "big-endian");
}

BOOST_AUTO_TEST_CASE(hostile_pickles) {
    auto with = [](const std::string& pickle) { return checkpoint(pickle, {{"archive/data/0", f32_bytes({1, 2})}}); };
    {
        Pickle p;
        p.global("os", "system").str("echo pwned").op(0x85).op('R');
        expect_error(with(p.done()), "global 'os.system'");
    }
    {
        Pickle p;
        p.str("builtins").str("eval").op(0x93).str("1").op(0x85).op('R');
        expect_error(with(p.done()), "global 'builtins.eval' (STACK_GLOBAL) is not allowed");
    }
    expect_error(with(std::string("\x80\x02\xff.", 4)), "unknown pickle opcode 0xff");
    expect_error(with(std::string("\x80\x02N\x81.", 5)), "NEWOBJ");
    expect_error(with(std::string("\x80\x02}", 3)), "without STOP");
    expect_error(with(std::string("\x80\x02X\xff\xff\xff\x7f", 7)), "runs past the end");
    expect_error(with(std::string("\x80\x02h\x05.", 4)), "memo entry 5");
    expect_error(with(std::string("\x80\x02s.", 4)), "empty stack");
    expect_error(with(std::string("\x80\x09N.", 4)), "protocol 9");
    expect_error(with(std::string("\x80\x02") + std::string(5000, '(') + "N."), "nested MARK");
    {  // REDUCE of a storage class (allowed as a name, not callable)
        Pickle p;
        p.global("torch", "FloatStorage").op(')').op('R');
        expect_error(with(p.done()), "not callable");
    }
    {  // a dict value that is not a tensor
        Pickle p;
        p.op('}').str("state_dict").op('}').str("w").i(3).op('s').op('s');
        expect_error(with(p.done()), "not a tensor");
    }
    expect_error(with(one_tensor_pickle(2, 0, {2}, {1}, "ShortStorage")), "torch.ShortStorage");
}

BOOST_AUTO_TEST_CASE(hostile_storages) {
    auto ck = [](const std::string& pk, const std::string& data) {
        return checkpoint(pk, {{"archive/data/0", data}});
    };
    const std::string eight = f32_bytes({1, 2, 3, 4, 5, 6, 7, 8});
    expect_error(checkpoint(one_tensor_pickle(2, 0, {2}, {1}), {}), "storage record \"archive/data/0\"");
    expect_error(ck(one_tensor_pickle(16, 0, {4}, {1}), eight), "less than its 16");
    expect_error(ck(one_tensor_pickle(8, 0, {3, 3}, {3, 1}), eight), "reach element 8");
    expect_error(ck(one_tensor_pickle(8, 0, {2, 2}, {1, 7}), eight), "reach element 8");
    expect_error(ck(one_tensor_pickle(8, 5, {2, 2}, {2, 1}), eight), "reach element 8");
    expect_error(ck(one_tensor_pickle(8, -1, {1}, {1}), eight), "negative storage offset");
    expect_error(ck(one_tensor_pickle(8, 0, {-2}, {1}), eight), "negative size");
    expect_error(ck(one_tensor_pickle(8, 0, {2, 2}, {1}), eight), "dims but stride");
    expect_error(ck(one_tensor_pickle(8, 0, {65536, 65536, 65536, 65536}, {1, 1, 1, 1}), eight), "too large");
    // An in-range strided view is fine.
    TempDir d;
    write_file(d / "ok.pth", ck(one_tensor_pickle(8, 1, {2, 2}, {4, 2}), eight));
    const auto t = PthReader(d / "ok.pth").load<float, 2>("w");
    BOOST_TEST(t.data()[0] == 2.f);
    BOOST_TEST(t.data()[1] == 4.f);
    BOOST_TEST(t.data()[2] == 6.f);
    BOOST_TEST(t.data()[3] == 8.f);
}

// Found with tests/fuzz/fuzz_pth.cpp (UBSan): an empty tensor (one size 0, zero strides) whose
// other sizes multiply past 2^63 passed validation and then overflowed the row-major strides
// of the loaded Tensor's view(). The product of the non-zero sizes is now bounded like the element count.
BOOST_AUTO_TEST_CASE(fuzz_regression_empty_tensor_with_huge_sizes) {
    auto pickle = [](const std::vector<std::int64_t>& size) {
        Pickle p;
        p.op('}').str("state_dict").op('}').str("w");
        p.global("torch._utils", "_rebuild_tensor_v2").op('(');
        p.op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").i(8).op('t').op('Q');
        p.i(0).op('(');
        for (auto v : size) {
            p.op(0x8a).op(8);  // LONG1 of 8 bytes
            put_le(p.s, std::uint64_t(v), 8);
        }
        p.op('t').op('(');
        for (std::size_t k = 0; k < size.size(); ++k) p.i(0);  // zero strides: in bounds
        p.op('t').op(0x89).global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
        return p.op('s').op('s').done();
    };
    const std::string eight = f32_bytes({1, 2, 3, 4, 5, 6, 7, 8});
    const std::int64_t big = std::int64_t(1) << 62;
    expect_error(checkpoint(pickle({0, big, big}), {{"archive/data/0", eight}}), "too large");
    expect_error(checkpoint(pickle({2, 0, big, 4}), {{"archive/data/0", eight}}), "too large");
    // An empty tensor with moderate sizes still loads (as nothing).
    TempDir d;
    write_file(d / "empty.pth", checkpoint(pickle({0, 1 << 20, 1 << 20}), {{"archive/data/0", eight}}));
    const PthReader r(d / "empty.pth");
    const auto t = r.load<float, 3>("w");
    BOOST_TEST(t.size() == 0);
    BOOST_TEST(r.read_raw("w").empty());
}

// Legacy (pre-zip) files are read since LPIPS's published weights need it; see
// test_pth_legacy.cpp. A file holding only the magic number is a clear truncation error.
BOOST_AUTO_TEST_CASE(legacy_magic_alone_is_a_clear_error) {
    TempDir d;
    write_file(d / "old.pth", std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15));
    BOOST_CHECK_EXCEPTION(WeightStore(d / "old.pth"), Error, [&](const Error& e) {
        const std::string m = e.what();
        return m.find((d / "old.pth").string()) != m.npos && m.find("truncated") != m.npos;
    });
    BOOST_CHECK_EXCEPTION(PthReader(d / "old.pth"), Error, [&](const Error& e) {
        return std::string(e.what()).find("ends before the protocol version pickle") != std::string::npos;
    });
}

BOOST_AUTO_TEST_CASE(mutated_golden_files_never_crash) {
    // Random byte mutations of a real checkpoint: each must load or fail with an Error.
    const std::string good = read_file(golden / "views_f16/weights.pth");
    TempDir d;
    std::mt19937 rng(1234);
    int errors = 0, loaded = 0;
    for (int round = 0; round < 400; ++round) {
        std::string b = good;
        const int n = 1 + int(rng() % 4);
        for (int k = 0; k < n; ++k) {
            // Half of the mutations hit the pickle (the first ~1 KB), half anywhere.
            const std::size_t at = (rng() % 2) ? 30 + rng() % 1000 : rng() % b.size();
            b[at] = char(rng());
        }
        if (round % 7 == 0) b.resize(rng() % b.size());
        write_file(d / "m.pth", b);
        try {
            PthReader r(d / "m.pth");
            for (const auto& name : r.names()) (void)r.read_raw(name);
            ++loaded;
        } catch (const Error&) {
            ++errors;
        }
    }
    BOOST_TEST(errors + loaded == 400);
    BOOST_TEST(errors > 0);
}

BOOST_AUTO_TEST_SUITE_END()
