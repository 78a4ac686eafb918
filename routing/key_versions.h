#pragma once
// What keeps the near cache and coalesced reads from serving a value older than a write this
// proxy has answered, across all its workers, without a lock: a version per bucket of key
// hashes, plus one for the whole pool (flushes), shared by the workers of a pool.
//
// A write bumps its key's bucket when its client is answered, and again once every server it
// went to has answered (replica writes may answer the client first). A near-cache entry or a
// read in flight is used only at the version it was read at:
//
//   fill of k sent at version v ─► reply stored only if the version is still v
//   write of k answered        ─► version v+1: entries and reads in flight from before are
//                                 never used again, by any worker
//
// Reads concurrent with a write (sent before its answer) may still get the older value, as
// they would from the server; the writing connection's own reads, though, skip the near cache
// until its writes are answered (client_session.h), so a client always reads its own writes.
// A bucket holds many keys, so a write may also invalidate its neighbours; that only costs a
// backend read.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace shardproxy::routing {

// The hash that hot-key handling files a key under (versions, detector), computed once per read.
inline uint64_t key_hash(std::string_view key) { return std::hash<std::string_view>{}(key); }

class KeyVersions {
public:
    // A read's view: the key's bucket and the whole pool.
    struct Snapshot {
        uint64_t bucket = 0;
        uint64_t pool = 0;
        bool operator==(const Snapshot&) const = default;
    };

    KeyVersions();

    Snapshot snapshot(uint64_t hash) const {
        return Snapshot{bucket(hash).load(std::memory_order_acquire), pool_.load(std::memory_order_acquire)};
    }
    // The key changed: a write was answered, or the server said so.
    void bump(uint64_t hash) { bucket(hash).fetch_add(1, std::memory_order_acq_rel); }
    // Every key of the pool changed: FLUSHALL, flush_all, a script that may write anything.
    void bump_all() { pool_.fetch_add(1, std::memory_order_acq_rel); }

private:
    static constexpr uint32_t kBuckets = 1u << 14;

    std::atomic<uint64_t>& bucket(uint64_t hash) const { return buckets_[hash & (kBuckets - 1)]; }

    std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
    std::atomic<uint64_t> pool_{0};
};

}  // namespace shardproxy::routing
