#include <array>

#include "routing/hash_algorithms.h"

namespace shardproxy::routing {
namespace {

// Reflected CRC-32 table (polynomial 0xEDB88320), as zlib and Ethernet use.
constexpr std::array<uint32_t, 256> make_table() {
    std::array<uint32_t, 256> table{};
    for (uint32_t byte = 0; byte < 256; ++byte) {
        uint32_t crc = byte;
        for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        table[byte] = crc;
    }
    return table;
}

constexpr std::array<uint32_t, 256> table = make_table();

}  // namespace

// The standard CRC-32; twemproxy's "crc32" is libmemcached's 15-bit variant instead.
uint32_t hash_crc32a(const char* key, size_t length) {
    uint32_t crc = ~0u;
    for (size_t i = 0; i < length; ++i) {
        crc = table[(crc ^ static_cast<uint8_t>(key[i])) & 0xff] ^ (crc >> 8);
    }
    return ~crc;
}

}  // namespace shardproxy::routing
