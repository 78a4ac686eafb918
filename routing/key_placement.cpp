#include "routing/key_placement.h"

#include <utility>

namespace shardproxy::routing {

// A tag needs both an open and a close character; anything shorter cannot delimit a part.
std::string_view hashable_part(std::string_view key, std::string_view hash_tag) {
    if (hash_tag.size() < 2) return key;
    const size_t open = key.find(hash_tag[0]);
    if (open == std::string_view::npos) return key;
    const size_t close = key.find(hash_tag[1], open + 1);
    if (close == std::string_view::npos || close == open + 1) return key;
    return key.substr(open + 1, close - open - 1);
}

KeyPlacement::KeyPlacement(HashFunction hash, std::unique_ptr<Distribution> distribution,
                           std::string hash_tag, uint32_t server_count)
    : hash_(hash),
      distribution_(std::move(distribution)),
      hash_tag_(std::move(hash_tag)),
      server_count_(server_count) {}

// twemproxy never hashes for a one-server pool and hashes an empty key to 0 without calling the
// hash function (whose value for no bytes is not 0 for most of them).
uint32_t KeyPlacement::hash(std::string_view key) const {
    if (server_count_ <= 1) return 0;
    const std::string_view part = hashable_part(key, hash_tag_);
    if (part.empty()) return 0;
    return hash_(part.data(), part.size());
}

uint32_t KeyPlacement::server_for(std::string_view key) const {
    if (server_count_ <= 1) return 0;
    return distribution_->server_for(hash(key));
}

void KeyPlacement::replicas_for(std::string_view key, uint32_t count, std::vector<uint32_t>& out) const {
    if (server_count_ <= 1) {
        out.assign(1, 0);
        return;
    }
    distribution_->replica_set(hash(key), count, out);
}

}  // namespace shardproxy::routing
