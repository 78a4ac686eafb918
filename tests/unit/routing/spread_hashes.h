#pragma once
// Well-spread key hashes for balance and disruption tests: MD5 of "key:<i>", so every
// distribution is judged on the same inputs and not on a weak hash.
#include <cstdint>
#include <string>
#include <vector>

#include "routing/hash_function.h"

namespace shardproxy::routing::test {

inline std::vector<uint32_t> spread_hashes(size_t count) {
    const HashFunction md5 = find_hash_function("md5");
    std::vector<uint32_t> hashes;
    hashes.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        const std::string key = "key:" + std::to_string(i);
        hashes.push_back(md5(key.data(), key.size()));
    }
    return hashes;
}

}  // namespace shardproxy::routing::test
