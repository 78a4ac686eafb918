#pragma once
// What keeps the near cache and coalesced reads from serving a value older than a write this
// proxy has seen, across all its workers, without a lock: a table of versions shared by the
// workers of a pool, one per bucket of key hashes, plus one for the whole pool (flushes).
//
// A write bumps its key's bucket when it is parsed and again when its reply is in (the slot
// is recycled), and counts itself in flight in between. A read may be answered from the near
// cache, or join a read already in flight, only while no write of its bucket is in flight and
// only with a value read at the version it sees now:
//
//   write k parsed ─► version v+1, 1 in flight ─ ... ─ reply in ─► version v+2, 0 in flight
//   fill of k sent at version s ──► reply stored only if the version is still s
//
// A bucket holds many keys, so a write may also invalidate its neighbours; that only costs a
// backend read. A version word packs the bump count (high bits) and the writes in flight (low
// bits), so one atomic load tells both.
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
        // No write of the bucket, and no flush of the pool, is in flight.
        bool stable() const { return ((bucket | pool) & kInFlightMask) == 0; }
        bool operator==(const Snapshot&) const = default;
    };

    KeyVersions();

    Snapshot snapshot(uint64_t hash) const {
        return Snapshot{bucket(hash).load(std::memory_order_acquire), pool_.load(std::memory_order_acquire)};
    }
    void begin_write(uint64_t hash) { bucket(hash).fetch_add(kBump + 1, std::memory_order_acq_rel); }
    void end_write(uint64_t hash) { bucket(hash).fetch_add(kBump - 1, std::memory_order_acq_rel); }
    // The key changed elsewhere (an invalidation message from the server).
    void invalidate(uint64_t hash) { bucket(hash).fetch_add(kBump, std::memory_order_acq_rel); }
    // The same for every key of the pool: FLUSHALL, flush_all, scripts that may write anything.
    void begin_flush() { pool_.fetch_add(kBump + 1, std::memory_order_acq_rel); }
    void end_flush() { pool_.fetch_add(kBump - 1, std::memory_order_acq_rel); }
    void invalidate_all() { pool_.fetch_add(kBump, std::memory_order_acq_rel); }

private:
    static constexpr uint64_t kInFlightMask = (uint64_t{1} << 24) - 1;
    static constexpr uint64_t kBump = uint64_t{1} << 24;
    static constexpr uint32_t kBuckets = 1u << 14;

    std::atomic<uint64_t>& bucket(uint64_t hash) const { return buckets_[hash & (kBuckets - 1)]; }

    std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
    std::atomic<uint64_t> pool_{0};
};

}  // namespace shardproxy::routing
