#pragma once
// One worker's near cache for one pool: the replies to reads of hot keys, kept for a short
// time so that repeated reads are answered without a backend. Owned by one worker thread.
//
// Only keys the detector found hot are stored, so admission is already by frequency; among
// them, eviction is least recently used, which costs O(1) per hit and lets a flood of
// briefly-hot keys push out only each other while the keys read all the time stay.
//
// An entry is served only while it is younger than the TTL and the key's version (see
// key_versions.h) is the one it was read at, so a write seen by any worker, or an invalidation
// from the server, makes it a miss at once; stale entries are dropped when met or evicted.
//
// Memory: every entry is charged its key, its reply and kEntryOverhead for the list and index
// nodes; the total never exceeds max_bytes.
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

#include "routing/key_versions.h"

namespace shardproxy::routing {

class NearCache {
public:
    static constexpr size_t kEntryOverhead = 160;

    NearCache(uint64_t max_bytes, uint32_t ttl_ms) : max_bytes_(max_bytes), ttl_ms_(ttl_ms) {}

    // The reply stored under `lookup` (the request's signature and key), if fresh at now_ms and
    // read at `version`; null otherwise.
    const std::string* find(std::string_view lookup, const KeyVersions::Snapshot& version, uint64_t now_ms);
    // Keeps `reply`, read at `version`, unless it alone would exceed the bound.
    void store(std::string_view lookup, std::string_view reply, const KeyVersions::Snapshot& version,
               uint64_t now_ms);

    uint64_t bytes() const { return bytes_; }
    size_t entries() const { return index_.size(); }
    uint64_t evictions() const { return evictions_; }

private:
    struct Entry {
        std::string lookup;
        std::string reply;
        KeyVersions::Snapshot version;
        uint64_t expires_ms;
    };
    using Lru = std::list<Entry>;  // most recently used first

    static uint64_t cost(const Entry& entry) { return entry.lookup.size() + entry.reply.size() + kEntryOverhead; }
    void erase(Lru::iterator entry);

    uint64_t max_bytes_;
    uint32_t ttl_ms_;
    uint64_t bytes_ = 0;
    uint64_t evictions_ = 0;
    Lru lru_;
    std::unordered_map<std::string_view, Lru::iterator> index_;  // views into the entries' lookup
};

}  // namespace shardproxy::routing
