#pragma once
// The twemproxy hashes that libhashkit lacks (crc16, crc32a) or that Debian builds it without
// (hsieh, which libhashkit then answers with 0). Signatures match HashFunction.
#include <cstddef>
#include <cstdint>

namespace shardproxy::routing {

uint32_t hash_crc16(const char* key, size_t length);
uint32_t hash_crc32a(const char* key, size_t length);
uint32_t hash_hsieh(const char* key, size_t length);

}  // namespace shardproxy::routing
