#pragma once
// Key -> server index for one pool: hash tag, hash function and distribution together, with
// twemproxy's rules that an empty key, or a pool of one server, hashes to 0.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "routing/distribution.h"
#include "routing/hash_function.h"

namespace shardproxy::routing {

// The part of the key that is hashed: the text between the first tag[0] and the next tag[1]
// after it, when that text is non-empty; otherwise the whole key. An empty tag hashes the key.
std::string_view hashable_part(std::string_view key, std::string_view hash_tag);

class KeyPlacement {
public:
    KeyPlacement(HashFunction hash, std::unique_ptr<Distribution> distribution,
                 std::string hash_tag, uint32_t server_count);

    uint32_t hash(std::string_view key) const;
    uint32_t server_for(std::string_view key) const;
    // The key's `count` replicas, most preferred first (Distribution::replica_set); out[0] is
    // server_for(key).
    void replicas_for(std::string_view key, uint32_t count, std::vector<uint32_t>& out) const;

private:
    HashFunction hash_;
    std::unique_ptr<Distribution> distribution_;
    std::string hash_tag_;
    uint32_t server_count_;
};

}  // namespace shardproxy::routing
