#pragma once
// Key hash functions by their twemproxy names. Every function returns 32 bits, exactly the value
// twemproxy 0.5 / libmemcached compute for the same bytes (golden values in the unit tests).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace shardproxy::routing {

using HashFunction = uint32_t (*)(const char* key, size_t length);

// nullptr when the name is not a known hash.
HashFunction find_hash_function(std::string_view name);

// Every accepted name, for validation messages and the config reference.
const std::vector<std::string_view>& hash_function_names();

}  // namespace shardproxy::routing
