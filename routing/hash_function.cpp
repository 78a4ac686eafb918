#include "routing/hash_function.h"

#include <libhashkit-1.0/hashkit.h>

#include <array>

#include "routing/hash_algorithms.h"

namespace shardproxy::routing {
namespace {

struct NamedHash {
    std::string_view name;
    HashFunction function;
};

// libhashkit gives twemproxy's exact values for these on the platforms we build for, including
// the widening of bytes >= 0x80 from signed char in one_at_a_time and the fnv family; the unit
// tests pin both ASCII and high-byte values.
constexpr std::array<NamedHash, 13> hashes{{
    {"one_at_a_time", libhashkit_one_at_a_time},
    {"md5", libhashkit_md5},
    {"crc16", hash_crc16},
    {"crc32", libhashkit_crc32},
    {"crc32a", hash_crc32a},
    {"fnv1_64", libhashkit_fnv1_64},
    {"fnv1a_64", libhashkit_fnv1a_64},
    {"fnv1_32", libhashkit_fnv1_32},
    {"fnv1a_32", libhashkit_fnv1a_32},
    {"hsieh", hash_hsieh},
    {"murmur", libhashkit_murmur},
    {"jenkins", libhashkit_jenkins},
    // Not in twemproxy: libmemcached's MurmurHash3 (x86, 32-bit) seeded with 0xdeadbeef * length.
    {"murmur3", libhashkit_murmur3},
}};

}  // namespace

HashFunction find_hash_function(std::string_view name) {
    for (const NamedHash& hash : hashes) {
        if (hash.name == name) return hash.function;
    }
    return nullptr;
}

const std::vector<std::string_view>& hash_function_names() {
    static const std::vector<std::string_view> names = [] {
        std::vector<std::string_view> all;
        for (const NamedHash& hash : hashes) all.push_back(hash.name);
        return all;
    }();
    return names;
}

}  // namespace shardproxy::routing
