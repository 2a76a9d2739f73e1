// safetensors reader/writer: round trips, conversions, atomic writes, hostile inputs, fuzz.
#include <boost/test/unit_test.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cascadev/core.hpp"
#include "cascadev/io/safetensors.hpp"
#include "../common/byte_files.hpp"
#include "../common/temp_dir.hpp"

using namespace cascadev;
using namespace cascadev::io;
namespace fs = std::filesystem;
using nlohmann::json;
using cascadev::testing::read_file;
using cascadev::testing::write_file;

namespace {

/// A fresh directory under the system temp dir, removed with everything in it.
struct TempDir : cascadev::testing::TempDir {
    TempDir() : cascadev::testing::TempDir("cascadev-io-test") {}
    std::vector<std::string> entries() const {
        std::vector<std::string> v;
        for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path().filename().string());
        std::sort(v.begin(), v.end());
        return v;
    }
};

std::string le64(std::uint64_t n) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[std::size_t(i)] = char((n >> (8 * i)) & 0xffu);
    return s;
}

/// A safetensors file: length, header (optionally space-padded to 8), data.
std::string st_file(const std::string& header, const std::string& data, bool pad = true) {
    std::string h = header;
    if (pad) h.append((8 - h.size() % 8) % 8, ' ');
    return le64(h.size()) + h + data;
}

template <class T>
std::string raw(const std::vector<T>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

/// f must throw cascadev::Error whose message contains each needle.
template <class F>
std::string expect_error(F&& f, const std::vector<std::string>& needles, const std::string& what = "") {
    try {
        f();
    } catch (const Error& e) {
        const std::string msg = e.what();
        for (const auto& n : needles)
            BOOST_TEST(msg.find(n) != std::string::npos, what << ": message \"" << msg << "\" lacks \"" << n << "\"");
        return msg;
    } catch (const std::exception& e) {
        BOOST_ERROR(what << ": threw a non-cascadev exception: " << e.what());
        return {};
    }
    BOOST_ERROR(what << ": no cascadev::Error thrown");
    return {};
}

template <class T, class E>
void fill_iota(Tensor<T, E>& t, double start, double step) {
    for (index_t i = 0; i < t.size(); ++i) t.data()[i] = T(start + step * double(i));
}

template <class T, class E, class F>
bool same_bytes(const Tensor<T, E>& a, const Tensor<T, F>& b) {
    return a.dims() == b.dims() && std::memcmp(a.data(), b.data(), std::size_t(a.size()) * sizeof(T)) == 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors)

// ---- round trips ----------------------------------------------------------------------------
BOOST_AUTO_TEST_CASE(roundtrip_every_dtype) {
    TempDir tmp;
    Tensor<float, Extents<2, 3>> f32;
    fill_iota(f32, -1.5, 0.75);
    Tensor<double, DExtents<1>> f64(3);
    fill_iota(f64, 1e-300, 3.0);
    Tensor<float16, Extents<4>> f16;
    for (int i = 0; i < 4; ++i) f16.data()[i] = float16::from_bits(std::uint16_t(0x3c00 + 0x1111 * i));
    Tensor<bfloat16, Extents<2, 2>> bf16;
    for (int i = 0; i < 4; ++i) bf16.data()[i] = bfloat16::from_bits(std::uint16_t(0xbf80 + 0x0123 * i));
    Tensor<std::int64_t, Extents<3>> i64;
    i64.data()[0] = std::numeric_limits<std::int64_t>::min();
    i64.data()[1] = -1;
    i64.data()[2] = std::numeric_limits<std::int64_t>::max();
    Tensor<std::int32_t, DExtents<2>> i32(2, 2);
    fill_iota(i32, -2, 1);
    Tensor<std::uint8_t, Extents<8>> u8;
    for (int k = 0; k < 8; ++k) u8.data()[k] = std::uint8_t((250 + 31 * k) & 0xff);  // wraps past 255
    Tensor<float, Extents<0, 3>> empty;
    Tensor<float, Extents<>> scalar;
    scalar() = 42.5f;

    SafetensorsWriter w;
    w.add("f32", f32);
    w.add("f64", f64);
    w.add("f16", f16);
    w.add("bf16", bf16);
    w.add("i64", i64);
    w.add("i32", i32.view());
    w.add("u8", u8);
    w.add("empty", empty);
    w.add("scalar", scalar);
    const fs::path p = tmp / "all.safetensors";
    w.write(p);
    BOOST_TEST(tmp.entries() == std::vector<std::string>{"all.safetensors"});  // no temp left

    SafetensorsReader r(p);
    BOOST_TEST(r.path() == p);
    BOOST_TEST((r.names() == std::vector<std::string>{"bf16", "empty", "f16", "f32", "f64", "i32", "i64",
                                                       "scalar", "u8"}));
    BOOST_TEST(r.contains("f32"));
    BOOST_TEST(!r.contains("F32"));
    BOOST_TEST((r.info("f16").dtype == DType::F16));
    BOOST_TEST((r.info("bf16").dtype == DType::BF16));
    BOOST_TEST((r.info("i64").dtype == DType::I64));
    BOOST_TEST((r.info("u8").dtype == DType::U8));
    BOOST_TEST((r.info("scalar").shape == std::vector<index_t>{}));
    BOOST_TEST((r.info("empty").shape == std::vector<index_t>{0, 3}));
    BOOST_TEST(r.bytes("empty").size() == 0u);
    BOOST_TEST(r.bytes("f64").size() == 24u);

    BOOST_TEST(same_bytes(r.load<float, Extents<2, 3>>("f32"), f32));
    BOOST_TEST(same_bytes(r.load<double, 1>("f64"), f64));
    BOOST_TEST(same_bytes(r.load<float16, Extents<4>>("f16"), f16));
    BOOST_TEST(same_bytes(r.load<bfloat16, Extents<dyn, 2>>("bf16"), bf16));
    BOOST_TEST(same_bytes(r.load<std::int64_t, 1>("i64"), i64));
    BOOST_TEST(same_bytes(r.load<std::int32_t, Extents<2, 2>>("i32"), i32));
    BOOST_TEST(same_bytes(r.load<std::uint8_t, 1>("u8"), u8));
    BOOST_TEST((r.load<float, 2>("empty").size() == 0));
    BOOST_TEST((r.load<float, 2>("empty").dims() == std::array<index_t, 2>{0, 3}));
    BOOST_TEST((r.load<float, Extents<>>("scalar")() == 42.5f));
    BOOST_TEST((r.load<float, 0>("scalar").size() == 1));
    // bytes() is the stored little-endian data, in place.
    const auto b = r.bytes("i32");
    BOOST_TEST(std::memcmp(b.data(), i32.data(), 16) == 0);
    BOOST_TEST(r.metadata().is_object());
    BOOST_TEST(r.metadata().empty());
}

BOOST_AUTO_TEST_CASE(file_layout_matches_the_format) {
    TempDir tmp;
    Tensor<float, Extents<3>> a;
    fill_iota(a, 1, 1);
    Tensor<std::int64_t, Extents<2>> b;
    fill_iota(b, 7, 1);
    SafetensorsWriter w;
    w.add("b", b);
    w.add("a", a);
    w.set_metadata("format", "pt");
    w.write(tmp / "x.safetensors");
    const std::string s = read_file(tmp / "x.safetensors");
    BOOST_REQUIRE(s.size() >= 8u);
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | std::uint8_t(s[std::size_t(i)]);
    BOOST_TEST(n % 8 == 0u);  // data section 8-byte aligned
    BOOST_REQUIRE(8 + n <= s.size());
    const json h = json::parse(s.substr(8, n));
    BOOST_TEST(h["__metadata__"]["format"] == "pt");
    BOOST_TEST(h["a"]["dtype"] == "F32");
    BOOST_TEST(h["a"]["shape"] == json::array({3}));
    BOOST_TEST(h["b"]["dtype"] == "I64");
    // Data ranges tile the data section exactly (no gaps, no overlap), as the format requires.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
    for (const auto& key : {"a", "b"}) ranges.emplace_back(h[key]["data_offsets"][0].get<std::uint64_t>(),
                            h[key]["data_offsets"][1].get<std::uint64_t>());
    std::sort(ranges.begin(), ranges.end());
    BOOST_TEST(ranges[0].first == 0u);
    BOOST_TEST(ranges[0].second == ranges[1].first);
    BOOST_TEST(8 + n + ranges[1].second == s.size());
    // The bytes at a's offsets are a's floats.
    const std::uint64_t ao = h["a"]["data_offsets"][0];
    BOOST_TEST(std::memcmp(s.data() + 8 + n + ao, a.data(), 12) == 0);
}

BOOST_AUTO_TEST_CASE(reads_a_hand_built_reference_file) {
    // Built byte by byte as the Python writer does: independent of SafetensorsWriter.
    TempDir tmp;
    const std::vector<float> w{1.0f, -2.0f, 0.5f, 8.0f};
    const std::vector<std::uint16_t> h16{0x3c00, 0xc000};  // f16 1, -2
    const std::string header =
        R"({"__metadata__":{"format":"pt","note":"x"},)"
        R"("w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
        R"("h":{"dtype":"F16","shape":[2],"data_offsets":[16,20]}})";
    write_file(tmp / "ref.safetensors", st_file(header, raw(w) + raw(h16)));
    SafetensorsReader r(tmp / "ref.safetensors");
    BOOST_TEST(r.metadata()["note"] == "x");
    auto t = r.load<float, Extents<2, 2>>("w");
    BOOST_TEST(t(1, 0) == 0.5f);
    auto hh = r.load<float, 1>("h");
    BOOST_TEST(hh(0) == 1.0f);
    BOOST_TEST(hh(1) == -2.0f);
    BOOST_TEST((r.info("h").begin == 16u && r.info("h").end == 20u));
    // Unpadded header: F16 data at an even absolute offset still loads.
    const std::string h2 = R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})";
    std::string hdr = h2;
    if (hdr.size() % 2) hdr += ' ';
    write_file(tmp / "unpadded.safetensors", st_file(hdr, raw(h16), false));
    BOOST_TEST((SafetensorsReader(tmp / "unpadded.safetensors").load<float, 1>("h")(1) == -2.0f));
}

BOOST_AUTO_TEST_CASE(metadata_roundtrip) {
    TempDir tmp;
    SafetensorsWriter w;
    Tensor<float, Extents<2>> t;
    w.add("t", t);
    w.set_metadata("format", "pt");
    w.set_metadata("unicode", "gr\xc3\xbc\xc3\x9f \"quoted\" \\ back");
    w.set_metadata("format", "np");  // last one wins
    w.write(tmp / "m.safetensors");
    SafetensorsReader r(tmp / "m.safetensors");
    BOOST_TEST(r.metadata().size() == 2u);
    BOOST_TEST(r.metadata()["format"] == "np");
    BOOST_TEST(r.metadata()["unicode"] == "gr\xc3\xbc\xc3\x9f \"quoted\" \\ back");
    BOOST_TEST(!r.contains("__metadata__"));
    BOOST_TEST(r.names().size() == 1u);
}

BOOST_AUTO_TEST_CASE(strided_views_are_written_contiguous) {
    TempDir tmp;
    Tensor<float, Extents<3, 4, 5>> t;
    fill_iota(t, 0, 1);
    auto v = t.view().permute<2, 0, 1>().slice<2>(1, 3);  // [5, 3, 2], not contiguous
    BOOST_REQUIRE(!v.is_contiguous());
    SafetensorsWriter w;
    w.add("v", v);
    w.add("sel", t.view().select<1>(2));  // [3, 5], strided
    w.write(tmp / "s.safetensors");
    SafetensorsReader r(tmp / "s.safetensors");
    BOOST_TEST((r.info("v").shape == std::vector<index_t>{5, 3, 2}));
    auto back = r.load<float, Extents<5, 3, dyn>>("v");
    for (index_t k = 0; k < 5; ++k)
        for (index_t i = 0; i < 3; ++i)
            for (index_t j = 0; j < 2; ++j) BOOST_TEST(back(k, i, j) == float(i * 20 + (j + 1) * 5 + k));
    auto sel = r.load<float, 2>("sel");
    for (index_t i = 0; i < 3; ++i)
        for (index_t k = 0; k < 5; ++k) BOOST_TEST(sel(i, k) == float(i * 20 + 2 * 5 + k));
}

BOOST_AUTO_TEST_CASE(raw_entries_pass_through) {
    TempDir tmp;
    const std::vector<std::uint8_t> bools{1, 0, 1};
    SafetensorsWriter w;
    w.add_raw("mask", DType::BOOL, {3}, std::as_bytes(std::span(bools)));
    w.write(tmp / "r.safetensors");
    SafetensorsReader r(tmp / "r.safetensors");
    BOOST_TEST((r.info("mask").dtype == DType::BOOL));
    auto m = r.load<bool, 1>("mask");
    BOOST_TEST(m(0));
    BOOST_TEST(!m(1));
    const fs::path p = tmp / "r.safetensors";
    expect_error([&] { (void)r.load<float, 1>("mask"); }, {p.string(), "\"mask\"", "BOOL", "F32"}, "bool as float");
}

// ---- conversions and shape checks -------------------------------------------------------------
BOOST_AUTO_TEST_CASE(load_converts_dtypes) {
    TempDir tmp;
    Tensor<float, Extents<4>> f;
    f.data()[0] = 0.1f;
    f.data()[1] = -65520.0f;  // overflows f16
    f.data()[2] = 1e-8f;
    f.data()[3] = 3.0f;
    Tensor<float16, Extents<2>> h;
    h.data()[0] = float16::from_bits(0x3555);
    h.data()[1] = float16::from_bits(0x0001);
    Tensor<std::int64_t, Extents<2>> i;
    i.data()[0] = -(std::int64_t(1) << 40);
    i.data()[1] = 9;
    Tensor<std::uint8_t, Extents<2>> u;
    u.data()[0] = 255;
    u.data()[1] = 3;
    SafetensorsWriter w;
    w.add("f", f);
    w.add("h", h);
    w.add("i", i);
    w.add("u", u);
    const fs::path p = tmp / "c.safetensors";
    w.write(p);
    SafetensorsReader r(p);

    auto fd = r.load<double, 1>("f");
    for (int k = 0; k < 4; ++k) BOOST_TEST(fd(k) == double(f.data()[k]));
    auto fh = r.load<float16, 1>("f");
    for (int k = 0; k < 4; ++k) BOOST_TEST(fh(k).bits == float16(f.data()[k]).bits);
    BOOST_TEST(fh(1).bits == 0xfc00);
    auto fb = r.load<bfloat16, 1>("f");
    for (int k = 0; k < 4; ++k) BOOST_TEST(fb(k).bits == bfloat16(f.data()[k]).bits);
    auto hf = r.load<float, 1>("h");
    BOOST_TEST(hf(0) == 0.333251953125f);
    BOOST_TEST(hf(1) == std::ldexp(1.0f, -24));
    auto hb = r.load<bfloat16, 1>("h");  // f16 -> bf16 through float
    BOOST_TEST(hb(0).bits == bfloat16(0.333251953125f).bits);
    auto idbl = r.load<double, 1>("i");
    BOOST_TEST(idbl(0) == -1099511627776.0);
    auto i32 = r.load<std::int32_t, 1>("i");
    BOOST_TEST(i32(1) == 9);
    auto uf = r.load<float, 1>("u");
    BOOST_TEST(uf(0) == 255.0f);
    auto ui = r.load<std::int64_t, 1>("u");
    BOOST_TEST(ui(0) == 255);

    // Float data never silently becomes integers: error names file, key and both dtypes.
    expect_error([&] { (void)r.load<std::int64_t, 1>("f"); }, {p.string(), "\"f\"", "F32", "I64"}, "f32->i64");
    expect_error([&] { (void)r.load<std::uint8_t, 1>("h"); }, {p.string(), "\"h\"", "F16", "U8"}, "f16->u8");
}

BOOST_AUTO_TEST_CASE(load_checks_shapes) {
    TempDir tmp;
    Tensor<float, Extents<2, 3>> t;
    fill_iota(t, 0, 1);
    SafetensorsWriter w;
    w.add("blocks.0.weight", t);
    const fs::path p = tmp / "shape.safetensors";
    w.write(p);
    SafetensorsReader r(p);
    const std::string key = "\"blocks.0.weight\"";
    expect_error([&] { (void)r.load<float, Extents<dyn, 4>>("blocks.0.weight"); },
                 {p.string(), key, "[2, 3]", "[?, 4]"}, "static dim");
    expect_error([&] { (void)r.load<float, Extents<3, 2>>("blocks.0.weight"); },
                 {p.string(), key, "[2, 3]", "[3, 2]"}, "transposed");
    expect_error([&] { (void)r.load<float, 1>("blocks.0.weight"); }, {p.string(), key, "[2, 3]", "rank"}, "rank");
    expect_error([&] { (void)r.load<float, 3>("blocks.0.weight"); }, {p.string(), key, "[2, 3]"}, "rank 3");
    expect_error([&] { (void)r.load<float, 2>("blocks.1.weight"); }, {p.string(), "\"blocks.1.weight\""}, "missing");
    expect_error([&] { (void)r.info("nope"); }, {p.string(), "\"nope\""}, "info");
    expect_error([&] { (void)r.bytes("nope"); }, {p.string(), "\"nope\""}, "bytes");

    // load_into: the destination's shape must match exactly; conversion happens on the way.
    Tensor<double, Extents<2, 3>> dst;
    r.load_into("blocks.0.weight", dst.view());
    BOOST_TEST(dst(1, 2) == 5.0);
    Tensor<double, Extents<3, 2>> wrong;
    expect_error([&] { r.load_into("blocks.0.weight", wrong.view()); }, {p.string(), key, "[2, 3]", "[3, 2]"},
                 "load_into shape");
    Tensor<double, Extents<3, 2>> big;
    auto strided = big.view().permute<1, 0>();  // [2, 3], not contiguous
    expect_error([&] { r.load_into("blocks.0.weight", strided); }, {key, "contiguous"}, "load_into strided");
}

// ---- writer errors and atomicity ------------------------------------------------------------------
BOOST_AUTO_TEST_CASE(writer_rejects_bad_names) {
    SafetensorsWriter w;
    Tensor<float, Extents<1>> t;
    w.add("a", t);
    expect_error([&] { w.add("a", t); }, {"duplicate", "\"a\""});
    expect_error([&] { w.add("", t); }, {"invalid"});
    expect_error([&] { w.add("__metadata__", t); }, {"invalid", "__metadata__"});
}

BOOST_AUTO_TEST_CASE(atomic_write_leaves_no_temp_and_replaces_whole) {
    TempDir tmp;
    const fs::path p = tmp / "out.safetensors";
    write_file(p, "old contents");
    Tensor<float, Extents<2>> t;
    t.data()[1] = 2.0f;
    SafetensorsWriter w;
    w.add("t", t);
    w.write(p);
    BOOST_TEST(tmp.entries() == std::vector<std::string>{"out.safetensors"});
    BOOST_TEST((SafetensorsReader(p).load<float, 1>("t")(1) == 2.0f));
    // Written files are ordinary 0644 files, not mkstemp's 0600.
    const auto perms = fs::status(p).permissions();
    BOOST_TEST(((perms & fs::perms::others_read) != fs::perms::none));
}

BOOST_AUTO_TEST_CASE(failed_write_leaves_no_output) {
    TempDir tmp;
    Tensor<float, Extents<2>> t;
    SafetensorsWriter w;
    w.add("t", t);
    // Nonexistent directory: error names the path, nothing is created.
    const fs::path missing = tmp / "no-such-dir" / "out.safetensors";
    expect_error([&] { w.write(missing); }, {missing.string()}, "missing dir");
    BOOST_TEST(!fs::exists(tmp / "no-such-dir"));
    BOOST_TEST(tmp.entries().empty());
    // Target is a non-empty directory: rename fails, the temp file is removed again.
    fs::create_directory(tmp / "taken");
    write_file(tmp / "taken" / "keep", "x");
    expect_error([&] { w.write(tmp / "taken"); }, {(tmp / "taken").string()}, "rename onto dir");
    BOOST_TEST(tmp.entries() == std::vector<std::string>{"taken"});
    BOOST_TEST(fs::is_directory(tmp / "taken"));
    // A writer callback that throws: existing output untouched, no temp left.
    const fs::path p = tmp / "keep.bin";
    write_file(p, "precious");
    expect_error([&] { write_atomically(p, [](std::FILE* f) {
                     std::fputs("partial", f);
                     fail("simulated failure");
                 }); },
                 {"simulated failure"}, "throwing callback");
    BOOST_TEST(read_file(p) == "precious");
    BOOST_TEST((tmp.entries() == std::vector<std::string>{"keep.bin", "taken"}));
    // And a successful callback writes exactly its bytes.
    write_atomically(p, [&](std::FILE* f) { io::write_bytes(f, "new", 3, p); });
    BOOST_TEST(read_file(p) == "new");
    BOOST_TEST((tmp.entries() == std::vector<std::string>{"keep.bin", "taken"}));
}

BOOST_AUTO_TEST_CASE(unopenable_inputs) {
    TempDir tmp;
    const fs::path none = tmp / "absent.safetensors";
    expect_error([&] { SafetensorsReader r(none); }, {none.string(), "cannot open"}, "absent");
    expect_error([&] { SafetensorsReader r(tmp.dir); }, {tmp.dir.string()}, "directory");
}

// ---- hostile inputs ------------------------------------------------------------------------------
namespace {
struct Hostile {
    std::string name;
    std::string bytes;
    std::vector<std::string> needles;  // besides the file name
};

std::string entry(const std::string& key, const std::string& body) { return "{\"" + key + "\":" + body + "}"; }
std::string chop(std::string s, std::size_t n) { s.resize(s.size() - n); return s; }
/// Pads with spaces until size % m == r.
std::string pad_to(std::string s, std::size_t m, std::size_t r) {
    while (s.size() % m != r) s += ' ';
    return s;
}
}  // namespace

BOOST_AUTO_TEST_CASE(hostile_inputs_throw_clean_errors) {
    TempDir tmp;
    const std::string d8(8, '\0'), d16(16, '\0');
    const std::string f32_1 = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
    const std::vector<Hostile> cases = {
        {"empty", "", {"truncated"}},
        {"short_length", std::string("\x10\0\0\0\0", 5), {"truncated", "5 bytes"}},
        {"seven_bytes", std::string(7, '\0'), {"truncated"}},
        {"length_past_end", le64(100) + "{}" + std::string(8, ' '), {"header of 100 bytes", "10 bytes follow"}},
        {"length_2pow63", le64(std::uint64_t(1) << 63) + "{}      ", {"9223372036854775808"}},
        {"length_max", le64(~std::uint64_t(0)) + "{}      ", {"header length"}},
        {"length_zero", le64(0), {"JSON"}},
        {"not_json", st_file("{not json", ""), {"JSON"}},
        {"json_trailing_garbage", st_file("{} x", ""), {"JSON"}},
        {"not_utf8", st_file("{\"\xff\xfe\":1}", ""), {"JSON"}},
        {"json_array", st_file("[1,2,3]", ""), {"not a JSON object"}},
        {"json_string", st_file("\"hello\"", ""), {"not a JSON object"}},
        {"entry_number", st_file(entry("w", "5"), d8), {"\"w\"", "not an object"}},
        {"entry_array", st_file(entry("w", "[]"), d8), {"\"w\"", "not an object"}},
        {"missing_dtype", st_file(entry("w", R"({"shape":[1],"data_offsets":[0,4]})"), d8), {"\"w\"", "dtype"}},
        {"dtype_number", st_file(entry("w", R"({"dtype":4,"shape":[1],"data_offsets":[0,4]})"), d8), {"\"w\"", "dtype"}},
        {"bad_dtype", st_file(entry("w", R"({"dtype":"F33","shape":[1],"data_offsets":[0,4]})"), d8), {"\"w\"", "F33"}},
        {"lowercase_dtype", st_file(entry("w", R"({"dtype":"f32","shape":[1],"data_offsets":[0,4]})"), d8), {"\"w\"", "f32"}},
        {"missing_shape", st_file(entry("w", R"({"dtype":"F32","data_offsets":[0,4]})"), d8), {"\"w\"", "shape"}},
        {"shape_not_array", st_file(entry("w", R"({"dtype":"F32","shape":1,"data_offsets":[0,4]})"), d8), {"\"w\"", "shape"}},
        {"negative_shape", st_file(entry("w", R"({"dtype":"F32","shape":[-1],"data_offsets":[0,4]})"), d8), {"\"w\"", "shape"}},
        {"negative_shape2", st_file(entry("w", R"({"dtype":"F32","shape":[2,-2],"data_offsets":[0,0]})"), d8), {"\"w\"", "shape"}},
        {"float_shape", st_file(entry("w", R"({"dtype":"F32","shape":[1.0],"data_offsets":[0,4]})"), d8), {"\"w\"", "shape"}},
        {"fraction_shape", st_file(entry("w", R"({"dtype":"F32","shape":[1.5],"data_offsets":[0,4]})"), d8), {"\"w\"", "shape"}},
        {"string_shape", st_file(entry("w", R"({"dtype":"F32","shape":["1"],"data_offsets":[0,4]})"), d8), {"\"w\"", "shape"}},
        {"null_shape", st_file(entry("w", R"({"dtype":"F32","shape":[null],"data_offsets":[0,4]})"), d8), {"\"w\"", "shape"}},
        {"shape_overflow", st_file(entry("w", R"({"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]})"), d8), {"\"w\"", "too large"}},
        {"shape_overflow_wrap", st_file(entry("w", R"({"dtype":"U8","shape":[4294967296,4294967296,4294967296,4294967296],"data_offsets":[0,0]})"), d8), {"\"w\"", "too large"}},
        {"shape_huge_dim", st_file(entry("w", R"({"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,0]})"), d8), {"\"w\"", "too large"}},
        {"shape_beyond_u64", st_file(entry("w", R"({"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,0]})"), d8), {"\"w\"", "shape"}},
        {"missing_offsets", st_file(entry("w", R"({"dtype":"F32","shape":[1]})"), d8), {"\"w\"", "data_offsets"}},
        {"offsets_one", st_file(entry("w", R"({"dtype":"F32","shape":[1],"data_offsets":[4]})"), d8), {"\"w\"", "data_offsets"}},
        {"offsets_three", st_file(entry("w", R"({"dtype":"F32","shape":[1],"data_offsets":[0,4,8]})"), d8), {"\"w\"", "data_offsets"}},
        {"offsets_negative", st_file(entry("w", R"({"dtype":"F32","shape":[1],"data_offsets":[-4,0]})"), d8), {"\"w\"", "data_offsets"}},
        {"offsets_float", st_file(entry("w", R"({"dtype":"F32","shape":[1],"data_offsets":[0,4.0]})"), d8), {"\"w\"", "data_offsets"}},
        {"offsets_object", st_file(entry("w", R"({"dtype":"F32","shape":[1],"data_offsets":{"a":0,"b":4}})"), d8), {"\"w\"", "data_offsets"}},
        {"offsets_reversed", st_file(entry("w", R"({"dtype":"F32","shape":[1],"data_offsets":[8,4]})"), d8), {"\"w\"", "reversed", "[8, 4]"}},
        {"offsets_past_end", st_file(entry("w", R"({"dtype":"F32","shape":[4],"data_offsets":[0,16]})"), d8), {"\"w\"", "past the end", "8 bytes"}},
        {"truncated_data", chop(st_file(entry("w", R"({"dtype":"F64","shape":[2],"data_offsets":[0,16]})"), d16), 1), {"\"w\"", "past the end"}},
        {"offsets_huge", st_file(entry("w", R"({"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551615]})"), d8), {"\"w\""}},
        {"bytes_vs_shape", st_file(entry("w", R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"), d16), {"\"w\"", "byte count 8", "[3]", "12 bytes"}},
        {"bytes_vs_shape_f16", st_file(entry("w", R"({"dtype":"F16","shape":[2,2],"data_offsets":[0,6]})"), d8), {"\"w\"", "byte count 6", "[2, 2]", "F16"}},
        {"bytes_vs_scalar", st_file(entry("w", R"({"dtype":"F32","shape":[],"data_offsets":[0,0]})"), d8), {"\"w\"", "[]"}},
        {"bytes_vs_empty", st_file(entry("w", R"({"dtype":"F32","shape":[0,3],"data_offsets":[0,4]})"), d8), {"\"w\"", "[0, 3]"}},
        {"overlap", st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", d16), {"\"a\"", "\"b\"", "overlapping"}},
        {"overlap_same", st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})", d8), {"\"a\"", "\"b\"", "overlapping"}},
        {"overlap_nested", st_file(R"({"a":{"dtype":"U8","shape":[16],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"c":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})", d16), {"overlapping"}},
        {"second_entry_bad", st_file("{\"ok\":" + f32_1 + ",\"zz\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,9]}}", d16), {"\"zz\"", "byte count 5"}},
    };
    BOOST_TEST(cases.size() >= 45u);  // (misaligned data is legal: see misaligned_data_*)
    for (const auto& c : cases) {
        const fs::path p = tmp / (c.name + ".safetensors");
        write_file(p, c.bytes);
        std::vector<std::string> needles = c.needles;
        needles.push_back(p.string());
        expect_error([&] { SafetensorsReader r(p); }, needles, c.name);
    }
}

// Sanity: the hostile builders above produce valid files when the entry is right, so the
// errors come from the field under test and not from the scaffolding.
BOOST_AUTO_TEST_CASE(hostile_scaffolding_is_valid) {
    TempDir tmp;
    const std::string d16(16, '\0');
    write_file(tmp / "ok.safetensors",
               st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]},"e":{"dtype":"F64","shape":[0],"data_offsets":[16,16]}})", d16));
    SafetensorsReader r(tmp / "ok.safetensors");
    BOOST_TEST(r.names().size() == 3u);
    write_file(tmp / "empty_header.safetensors", st_file("{}", ""));
    BOOST_TEST(SafetensorsReader(tmp / "empty_header.safetensors").names().empty());
    // Trailing bytes after the last tensor are tolerated (not referenced).
    write_file(tmp / "tail.safetensors", st_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", d16));
    BOOST_TEST((SafetensorsReader(tmp / "tail.safetensors").load<int, 1>("a").size() == 2));
}

// ---- regressions: header bugs these tests found -------------------------------------------
// Shape [2^62] of F32 with data_offsets [0, 0]: numel * 4 wraps to 0 in parse_entry, the
// byte-count check passes, and load() later indexes 2^62 elements (out-of-bounds reads).
BOOST_AUTO_TEST_CASE(byte_count_overflow_is_rejected) {
    TempDir tmp;
    const std::string d8(8, '\0');
    for (const char* body : {R"({"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]})",
                             R"({"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,0]})",
                             R"({"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]})",
                             R"({"dtype":"I64","shape":[1073741824,2147483648],"data_offsets":[0,0]})"}) {
        const fs::path p = tmp / "wrap.safetensors";
        write_file(p, st_file(entry("w", body), d8));
        expect_error([&] { SafetensorsReader r(p); }, {p.string(), "\"w\""}, body);
    }
}

// Found by tests/fuzz/fuzz_safetensors.cpp (UBSan): an empty tensor whose other extents
// multiply past 2^63 passed validation (its byte count is 0) and then overflowed the row-major
// strides of SafetensorsSource::layout / View; and loading any empty tensor passed a null
// destination to memcpy. The first is now rejected, the second loads as an empty tensor.
BOOST_AUTO_TEST_CASE(fuzz_regression_empty_tensors) {
    TempDir tmp;
    for (const char* body : {R"({"dtype":"U8","shape":[0,4611686018427387904,4611686018427387904],"data_offsets":[0,0]})",
                             R"({"dtype":"F32","shape":[0,1099511627776,1099511627776],"data_offsets":[0,0]})",
                             R"({"dtype":"I64","shape":[0,2147483648,2147483648,4],"data_offsets":[0,0]})"}) {
        const fs::path p = tmp / "empty_huge.safetensors";
        write_file(p, st_file(entry("w", body), ""));
        expect_error([&] { SafetensorsReader r(p); }, {p.string(), "\"w\"", "too large"}, body);
    }
    const fs::path p = tmp / "empty.safetensors";
    write_file(p, st_file(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                          R"("b":{"dtype":"F16","shape":[2,0,1099511627776],"data_offsets":[0,0]}})", ""));
    const SafetensorsReader r(p);
    const auto a = r.load<float, 1>("a");
    const auto b = r.load<float, 3>("b");
    const auto va = r.view<float, 1>("a");
    BOOST_TEST(a.size() == 0);
    BOOST_TEST(b.size() == 0);
    BOOST_TEST(va.size() == 0);
    Tensor<float, DExtents<1>> dst(0);
    r.load_into("a", dst.view());
    BOOST_TEST(r.bytes("b").size() == 0u);
}

// ---- alignment --------------------------------------------------------------------------------------
// The writer lays tensors out in name order with no padding, so a 1- or 2-byte dtype before a
// wider one leaves the wider one misaligned: load() must still read it (memcpy), view() must not.
BOOST_AUTO_TEST_CASE(mixed_dtype_roundtrip_alignment) {
    TempDir tmp;
    Tensor<std::uint8_t, Extents<3>> a;
    fill_iota(a, 1, 1);
    Tensor<float, Extents<2>> b;
    fill_iota(b, 0.5, 1);
    Tensor<float16, Extents<1>> c;
    Tensor<double, Extents<2>> d;
    fill_iota(d, -3, 1);
    SafetensorsWriter w;
    w.add("a", a);
    w.add("b", b);
    w.add("c", c);
    w.add("d", d);
    const fs::path p = tmp / "mixed.safetensors";
    w.write(p);
    try {
        SafetensorsReader r(p);
        BOOST_TEST(same_bytes(r.load<std::uint8_t, Extents<3>>("a"), a));
        BOOST_TEST(same_bytes(r.load<float, Extents<2>>("b"), b));
        BOOST_TEST(same_bytes(r.load<float16, Extents<1>>("c"), c));
        BOOST_TEST(same_bytes(r.load<double, Extents<2>>("d"), d));
        BOOST_TEST((r.load<float, 1>("d")(1) == -2.0f));
        // "a" (3 bytes) sits at offset 0, so "b" starts at an odd offset.
        BOOST_TEST(r.info("b").begin % 4 != 0u);
        expect_error([&] { (void)r.view<float, 1>("b"); }, {p.string(), "\"b\"", "misaligned"}, "view misaligned");
        BOOST_TEST((r.view<std::uint8_t, 1>("a")(2) == 3));
    } catch (const Error& e) {
        BOOST_ERROR("reader rejected the writer's own file: " << e.what());
    }
}

BOOST_AUTO_TEST_CASE(misaligned_data_loads_but_does_not_view) {
    TempDir tmp;
    const std::vector<float> vals{1.5f, -2.25f};
    const std::vector<std::int64_t> ivals{-7};
    // F32 at relative offset 2, I64 at 4+: legal files, data misaligned for the dtype.
    std::string data(2, '\x55');
    data += raw(vals);
    data += std::string(2, '\x55');
    data += raw(ivals);
    const std::string header = R"({"f":{"dtype":"F32","shape":[2],"data_offsets":[2,10]},)"
                               R"("i":{"dtype":"I64","shape":[],"data_offsets":[12,20]}})";
    for (bool padded : {true, false}) {
        const fs::path p = tmp / (padded ? "mis_padded.safetensors" : "mis_unpadded.safetensors");
        write_file(p, padded ? st_file(header, data) : st_file(pad_to(header, 8, 1), data, false));
        SafetensorsReader r(p);
        auto f = r.load<float, 1>("f");
        BOOST_TEST(f(0) == 1.5f);
        BOOST_TEST(f(1) == -2.25f);
        BOOST_TEST((r.load<double, 1>("f")(1) == -2.25));
        BOOST_TEST((r.load<std::int64_t, 0>("i")() == -7));
        expect_error([&] { (void)r.view<float, 1>("f"); }, {p.string(), "\"f\"", "misaligned"}, "view f");
        expect_error([&] { (void)r.view<std::int64_t, 0>("i"); }, {p.string(), "\"i\"", "misaligned"}, "view i");
    }
}

BOOST_AUTO_TEST_CASE(zero_copy_view) {
    TempDir tmp;
    Tensor<float, Extents<2, 3>> t;
    fill_iota(t, 1, 1);
    SafetensorsWriter w;
    w.add("t", t);
    const fs::path p = tmp / "v.safetensors";
    w.write(p);
    SafetensorsReader r(p);
    auto v = r.view<float, 2>("t");
    BOOST_TEST(reinterpret_cast<const std::byte*>(v.data()) == r.bytes("t").data());  // in the mapping
    BOOST_TEST((v.dims() == std::array<index_t, 2>{2, 3}));
    BOOST_TEST(v(1, 2) == 6.0f);
    expect_error([&] { (void)r.view<double, 2>("t"); }, {p.string(), "\"t\"", "F32", "F64"}, "view dtype");
    expect_error([&] { (void)r.view<float, 3>("t"); }, {p.string(), "\"t\"", "[2, 3]", "rank 3"}, "view rank");
    expect_error([&] { (void)r.view<float, 2>("u"); }, {p.string(), "\"u\""}, "view missing");
}

namespace {
volatile double fuzz_sink = 0;
}

// ---- light fuzzing --------------------------------------------------------------------------------
BOOST_AUTO_TEST_CASE(fuzz_mutations_load_or_throw) {
    TempDir tmp;
    Tensor<float, Extents<2, 3>> f;
    fill_iota(f, 0.25, 1);
    Tensor<std::int64_t, Extents<2>> i;
    fill_iota(i, 5, 1);
    Tensor<float16, Extents<4>> h;
    Tensor<double, Extents<0>> e;
    SafetensorsWriter w;
    w.add("alpha", f);
    w.add("beta", i);
    w.add("gamma", h);
    w.add("zeta", e);
    w.set_metadata("format", "pt");
    const fs::path good = tmp / "good.safetensors";
    w.write(good);
    const std::string orig = read_file(good);
    std::uint64_t hlen = 0;
    for (int k = 7; k >= 0; --k) hlen = (hlen << 8) | std::uint8_t(orig[std::size_t(k)]);

    std::mt19937_64 rng(20240607);
    const char* interesting = "0123456789-,.:[]{}\" eE";
    std::size_t loaded = 0, rejected = 0;
    const fs::path p = tmp / "fuzz.safetensors";
    for (int iter = 0; iter < 2000; ++iter) {
        std::string s = orig;
        const int kind = int(rng() % 5);
        if (kind == 0) {  // truncate anywhere
            s.resize(rng() % s.size());
        } else if (kind == 1) {  // random bit flips anywhere
            for (int k = 0, n = 1 + int(rng() % 4); k < n; ++k) s[rng() % s.size()] ^= char(1u << (rng() % 8));
        } else if (kind == 2) {  // header bytes replaced by JSON-ish characters
            for (int k = 0, n = 1 + int(rng() % 3); k < n; ++k)
                s[8 + rng() % hlen] = interesting[rng() % std::strlen(interesting)];
        } else if (kind == 3) {  // length field damaged
            s[rng() % 8] = char(rng());
        } else {  // a digit in the header changed (offsets, shapes)
            std::vector<std::size_t> digits;
            for (std::size_t k = 8; k < 8 + hlen; ++k)
                if (s[k] >= '0' && s[k] <= '9') digits.push_back(k);
            s[digits[rng() % digits.size()]] = char('0' + rng() % 10);
            if (rng() % 2) s.resize(s.size() - rng() % 16);
        }
        write_file(p, s);
        try {
            SafetensorsReader r(p);
            double sink = 0;
            for (const auto& t : r.tensors()) {
                const auto b = r.bytes(t.name);
                for (std::byte x : b) sink += double(std::to_integer<int>(x));
                if (t.dtype == DType::BOOL) continue;
                switch (t.shape.size()) {
                    case 0: sink += r.load<double, 0>(t.name).data()[0]; break;
                    case 1: { auto v = r.load<double, 1>(t.name); for (index_t k = 0; k < v.size(); ++k) sink += v.data()[k]; break; }
                    case 2: { auto v = r.load<double, 2>(t.name); for (index_t k = 0; k < v.size(); ++k) sink += v.data()[k]; break; }
                    case 3: { auto v = r.load<float, 3>(t.name); sink += double(v.size()); break; }
                    default: break;
                }
            }
            fuzz_sink = sink;  // keep the reads alive
            ++loaded;
        } catch (const Error& err) {
            ++rejected;
            const std::string msg = err.what();
            if (msg.find(p.string()) == std::string::npos)
                BOOST_ERROR("iteration " << iter << ": error does not name the file: " << msg);
        } catch (const std::exception& ex) {
            BOOST_ERROR("iteration " << iter << ": non-cascadev exception " << typeid(ex).name() << ": " << ex.what());
        }
    }
    BOOST_TEST_MESSAGE("fuzz: " << loaded << " loaded, " << rejected << " rejected");
    BOOST_TEST(loaded + rejected == 2000u);
    BOOST_TEST(rejected > 500u);  // the mutations do bite
    BOOST_TEST(loaded > 20u);     // and some survive (flips in data bytes)
}

BOOST_AUTO_TEST_SUITE_END()
