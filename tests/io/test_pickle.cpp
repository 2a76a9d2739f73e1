// The pickle subset's dicts: equal string / integer keys replace (as Python's dict), order
// is insertion order, and many keys go through the hash index (a hostile file of ~1 MB with
// 100k keys used to take quadratic time).
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cascadev/io/pickle.hpp"
#include "../common/byte_files.hpp"

using namespace cascadev::io::pickle;

namespace {

struct Pickle : cascadev::testing::BasicPickle<Pickle> {};

std::vector<std::byte> bytes(const std::string& s) {
    std::vector<std::byte> b(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) b[i] = std::byte(static_cast<unsigned char>(s[i]));
    return b;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pickle_dicts)

BOOST_AUTO_TEST_CASE(equal_keys_replace_in_place) {
    // {"a": 1, 2: 3, "b": 4} then "a" -> 5 and 2 -> 6 (SETITEM each).
    Pickle p;
    p.op('}');
    for (auto [k, v] : std::vector<std::pair<std::string, int>>{{"a", 1}, {"", 3}, {"b", 4}, {"a", 5}, {"", 6}}) {
        if (k.empty()) p.i(2);
        else p.str(k);
        p.i(v).op('s');
    }
    const auto b = bytes(p.done());
    Unpickler u(b, "test", nullptr);
    const Value& d = u.load();
    BOOST_TEST(int(d.kind) == int(Kind::dict));
    BOOST_REQUIRE(d.entries.size() == 3u);
    BOOST_TEST(d.entries[0].first->s == "a");
    BOOST_TEST(d.entries[0].second->i == 5);
    BOOST_TEST(d.entries[1].first->i == 2);
    BOOST_TEST(d.entries[1].second->i == 6);
    BOOST_TEST(d.entries[2].first->s == "b");
}

BOOST_AUTO_TEST_CASE(many_keys_through_the_hash_index) {
    // 100k keys and a repeat (SETITEMS): the index finds the repeat among them. Its speed is
    // not asserted (no timed assertions in tests): linear, this takes milliseconds; the old
    // quadratic scan took 5e9 string compares.
    constexpr int n = 100000;
    Pickle p;
    p.op('}').op('(');
    for (int i = 0; i < n; ++i) p.str("key." + std::to_string(i)).i(i);
    p.str("key.7").i(-7).op('u');  // a repeat replaces
    const auto b = bytes(p.done());
    Unpickler u(b, "test", nullptr);
    const Value& d = u.load();
    BOOST_REQUIRE(d.entries.size() == std::size_t(n));
    BOOST_TEST(d.entries[7].second->i == -7);
    BOOST_TEST(d.entries[n - 1].first->s == "key." + std::to_string(n - 1));
}

BOOST_AUTO_TEST_SUITE_END()
