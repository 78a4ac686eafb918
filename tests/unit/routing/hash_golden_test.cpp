#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "routing/hash_function.h"

using shardproxy::routing::find_hash_function;

namespace {

uint32_t hash_of(std::string_view function, std::string_view key) {
    const auto hash = find_hash_function(function);
    REQUIRE(static_cast<bool>(hash));
    return hash(key.data(), key.size());
}

struct Golden {
    std::string_view function;
    uint32_t value;
};

}  // namespace

// The values twemproxy 0.5 and libmemcached's own tests give for "apple".
TEST_CASE("every twemproxy hash gives twemproxy's value for \"apple\"") {
    const Golden golden[] = {
        {"one_at_a_time", 2297466611u}, {"md5", 3195025439u},      {"crc16", 3662830516u},
        {"crc32", 10542u},              {"crc32a", 2838417488u},   {"fnv1_32", 67176023u},
        {"fnv1a_32", 280767167u},       {"fnv1_64", 473199127u},   {"fnv1a_64", 1488911807u},
        {"hsieh", 3738850110u},         {"jenkins", 1442444624u},  {"murmur", 4142305122u},
    };
    for (const Golden& g : golden) {
        CAPTURE(g.function);
        CHECK(hash_of(g.function, "apple") == g.value);
    }
}

// Expected values come from a line-by-line reimplementation of twemproxy's src/hashkit on x86-64,
// where char is signed: one_at_a_time, the fnv family and hsieh's 3-byte tail widen bytes >= 0x80
// with sign extension, so an unsigned implementation fails these.
TEST_CASE("hashes of keys with bytes >= 0x80 match twemproxy's signed-char widening") {
    const std::string keys[] = {"caf\xc3\xa9", "\xff\xfe\xfd", "user:\xe2\x82\xac", "\x80", "abcdef\xf0"};
    struct Row {
        std::string_view function;
        uint32_t values[5];
    };
    const Row rows[] = {
        {"one_at_a_time", {3650908318u, 1196771768u, 3316635745u, 3273477671u, 96139073u}},
        {"md5", {3833532679u, 3259918217u, 564229740u, 2128427405u, 3996647741u}},
        {"crc16", {4129724007u, 504217887u, 2435211970u, 37256u, 1044022534u}},
        {"crc32", {6317u, 2282u, 25628u, 16314u, 24385u}},
        {"crc32a", {2561491637u, 149598061u, 1679601260u, 1069182125u, 1598123073u}},
        {"fnv1_64", {2315714289u, 2481844359u, 3952485258u, 2046707807u, 2481446904u}},
        {"fnv1a_64", {3472276361u, 2400096983u, 2199362520u, 2046684255u, 3897964494u}},
        {"fnv1_32", {3598905713u, 2437714183u, 2804896426u, 4210270879u, 1404638520u}},
        {"fnv1a_32", {1970454601u, 3211609367u, 1782981912u, 83079839u, 4234249774u}},
        {"hsieh", {3728705621u, 3649655134u, 3050733764u, 3606367026u, 3241106220u}},
        {"murmur", {3658586143u, 3269769215u, 1619492419u, 2421514821u, 2971668565u}},
        {"jenkins", {3412207021u, 573299006u, 1577144039u, 2976898632u, 3783838291u}},
    };
    for (const Row& row : rows) {
        for (size_t i = 0; i < 5; ++i) {
            CAPTURE(row.function);
            CAPTURE(i);
            CHECK(hash_of(row.function, keys[i]) == row.values[i]);
        }
    }
}

TEST_CASE("crc16 keeps its running value in 32 bits, unlike the Redis Cluster slot CRC") {
    // The Redis Cluster CRC16 of "123456789" is 0x31c3; twemproxy's keeps the bits shifted out.
    CHECK(hash_of("crc16", "123456789") != 0x31c3u);
    CHECK((hash_of("crc16", "123456789") & 0xffffu) == 0x31c3u);
}

TEST_CASE("crc32 is libmemcached's 15-bit variant and crc32a the standard CRC-32") {
    CHECK(hash_of("crc32a", "123456789") == 0xcbf43926u);
    CHECK(hash_of("crc32", "123456789") == ((0xcbf43926u >> 16) & 0x7fffu));
}

TEST_CASE("hsieh is computed here, not taken from a libhashkit built without it") {
    CHECK(hash_of("hsieh", "") == 0u);
    CHECK(hash_of("hsieh", "a") != 0u);
    CHECK(hash_of("hsieh", "ab") != 0u);
    CHECK(hash_of("hsieh", "abc") != 0u);
}

TEST_CASE("murmur3 is MurmurHash3 x86 32-bit seeded with 0xdeadbeef times the length") {
    CHECK(hash_of("murmur3", "apple") == 1120212521u);
    CHECK(hash_of("murmur3", "caf\xc3\xa9") == 592794272u);
    CHECK(hash_of("murmur3", "\xff\xfe\xfd") == 2466195946u);
}
