#pragma once
// MD5 digest read as four little-endian 32-bit words, the form ketama's ring points take.
#include <array>
#include <cstdint>
#include <string_view>

namespace shardproxy::routing {

std::array<uint32_t, 4> md5_words(std::string_view text);

}  // namespace shardproxy::routing
