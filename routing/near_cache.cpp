#include "routing/near_cache.h"

namespace shardproxy::routing {

const std::string* NearCache::find(std::string_view lookup, const KeyVersions::Snapshot& version, uint64_t now_ms) {
    const auto found = index_.find(lookup);
    if (found == index_.end()) return nullptr;
    const Lru::iterator entry = found->second;
    if (entry->expires_ms <= now_ms || entry->version != version) {
        erase(entry);
        return nullptr;
    }
    lru_.splice(lru_.begin(), lru_, entry);
    return &entry->reply;
}

void NearCache::store(std::string_view lookup, std::string_view reply, const KeyVersions::Snapshot& version,
                      uint64_t now_ms) {
    if (const auto found = index_.find(lookup); found != index_.end()) erase(found->second);
    if (lookup.size() + reply.size() + kEntryOverhead > max_bytes_) return;
    lru_.push_front(Entry{std::string(lookup), std::string(reply), version, now_ms + ttl_ms_});
    index_.emplace(lru_.front().lookup, lru_.begin());
    bytes_ += cost(lru_.front());
    while (bytes_ > max_bytes_) {
        erase(std::prev(lru_.end()));
        ++evictions_;
    }
}

void NearCache::erase(Lru::iterator entry) {
    bytes_ -= cost(*entry);
    index_.erase(entry->lookup);
    lru_.erase(entry);
}

}  // namespace shardproxy::routing
