#include <array>

#include "routing/hash_algorithms.h"

namespace shardproxy::routing {
namespace {

// CRC-16/XMODEM table (polynomial 0x1021, MSB first).
constexpr std::array<uint16_t, 256> make_table() {
    std::array<uint16_t, 256> table{};
    for (uint32_t byte = 0; byte < 256; ++byte) {
        uint32_t crc = byte << 8;
        for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1;
        table[byte] = static_cast<uint16_t>(crc);
    }
    return table;
}

constexpr std::array<uint16_t, 256> table = make_table();

}  // namespace

// twemproxy keeps the running value in 32 bits and never masks it to 16, so bits above 15
// survive into the result ("apple" -> 3662830516); that is what makes it differ from the
// Redis Cluster slot CRC. Only the low byte of the index matters, so the sign of char does not.
uint32_t hash_crc16(const char* key, size_t length) {
    uint32_t crc = 0;
    for (size_t i = 0; i < length; ++i) {
        const auto byte = static_cast<uint8_t>(key[i]);
        crc = (crc << 8) ^ table[((crc >> 8) ^ byte) & 0xff];
    }
    return crc;
}

}  // namespace shardproxy::routing
