// The pickle subset's dicts: equal string / integer keys replace (as Python's dict), order
// is insertion order, and a dict of many keys loads in linear time (hash index; a hostile
// file of ~1 MB with 100k keys used to take quadratic time).
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cascadev/io/pickle.hpp"

using namespace cascadev::io::pickle;

namespace {

// (push_back / append rather than operator+: GCC 12 warns falsely on short literals + strings.)
void binunicode(std::string& o, const std::string& s) {
    o.push_back('X');
    for (int i = 0; i < 4; ++i) o.push_back(char((s.size() >> (8 * i)) & 0xff));
    o.append(s);
}
void binint(std::string& o, std::int32_t v) {
    o.push_back('J');
    for (int i = 0; i < 4; ++i) o.push_back(char((std::uint32_t(v) >> (8 * i)) & 0xff));
}

const Value& load(Unpickler& u) { return u.load(); }

std::vector<std::byte> bytes(const std::string& s) {
    std::vector<std::byte> b(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) b[i] = std::byte(static_cast<unsigned char>(s[i]));
    return b;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pickle_dicts)

BOOST_AUTO_TEST_CASE(equal_keys_replace_in_place) {
    // {"a": 1, 2: 3, "b": 4} then "a" -> 5 and 2 -> 6 (SETITEM each).
    std::string p("\x80\x02}");
    for (auto [k, v] : std::vector<std::pair<std::string, int>>{{"a", 1}, {"", 3}, {"b", 4}, {"a", 5}, {"", 6}}) {
        if (k.empty()) binint(p, 2);
        else binunicode(p, k);
        binint(p, v);
        p.push_back('s');
    }
    p.push_back('.');
    const auto b = bytes(p);
    Unpickler u(b, "test", nullptr);
    const Value& d = load(u);
    BOOST_TEST(int(d.kind) == int(Kind::dict));
    BOOST_REQUIRE(d.entries.size() == 3u);
    BOOST_TEST(d.entries[0].first->s == "a");
    BOOST_TEST(d.entries[0].second->i == 5);
    BOOST_TEST(d.entries[1].first->i == 2);
    BOOST_TEST(d.entries[1].second->i == 6);
    BOOST_TEST(d.entries[2].first->s == "b");
}

BOOST_AUTO_TEST_CASE(many_keys_load_in_linear_time) {
    constexpr int n = 100000;  // quadratic: 5e9 string compares; linear: milliseconds
    std::string p("\x80\x02}(");
    for (int i = 0; i < n; ++i) {
        binunicode(p, "key." + std::to_string(i));
        binint(p, i);
    }
    binunicode(p, "key.7");  // a repeat replaces
    binint(p, -7);
    p.append("u.");
    const auto b = bytes(p);
    Unpickler u(b, "test", nullptr);
    const Value& d = load(u);
    BOOST_REQUIRE(d.entries.size() == std::size_t(n));
    BOOST_TEST(d.entries[7].second->i == -7);
    BOOST_TEST(d.entries[n - 1].first->s == "key." + std::to_string(n - 1));
}

BOOST_AUTO_TEST_SUITE_END()
