#include "routing/hash_algorithms.h"

namespace shardproxy::routing {
namespace {

uint32_t read16(const char* p) {
    return static_cast<uint32_t>(static_cast<uint8_t>(p[0])) |
           static_cast<uint32_t>(static_cast<uint8_t>(p[1])) << 8;
}

}  // namespace

// Paul Hsieh's SuperFastHash, reading 16-bit words little-endian as twemproxy does everywhere.
uint32_t hash_hsieh(const char* key, size_t length) {
    if (length == 0) return 0;

    uint32_t hash = 0;
    const size_t tail = length & 3;
    for (size_t blocks = length >> 2; blocks > 0; --blocks, key += 4) {
        hash += read16(key);
        const uint32_t mixed = (read16(key + 2) << 11) ^ hash;
        hash = (hash << 16) ^ mixed;
        hash += hash >> 11;
    }

    switch (tail) {
    case 3:
        hash += read16(key);
        hash ^= hash << 16;
        // The third tail byte is widened from a signed char (as in Hsieh's original), so a byte
        // >= 0x80 sets the high bits too; the other tail reads are unsigned.
        hash ^= static_cast<uint32_t>(static_cast<int32_t>(static_cast<signed char>(key[2]))) << 18;
        hash += hash >> 11;
        break;
    case 2:
        hash += read16(key);
        hash ^= hash << 11;
        hash += hash >> 17;
        break;
    case 1:
        hash += static_cast<uint8_t>(key[0]);
        hash ^= hash << 10;
        hash += hash >> 1;
        break;
    default:
        break;
    }

    hash ^= hash << 3;
    hash += hash >> 5;
    hash ^= hash << 4;
    hash += hash >> 17;
    hash ^= hash << 25;
    hash += hash >> 6;
    return hash;
}

}  // namespace shardproxy::routing
