#pragma once
// What the workers of a proxy share about one pool's hot keys: the key versions that keep
// near caches and coalesced reads from serving data older than a write (routing/key_versions.h),
// each worker's counters, and the hot keys each worker found, published once a second. The
// stats commands merge the workers' views here; nothing on the request path takes a lock.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "routing/key_versions.h"

namespace shardproxy::proxy {

// One worker's counters for one pool: written by that worker only (relaxed load and store).
struct HotKeyCounters {
    std::atomic<uint64_t> hot_reads{0};        // reads of keys the detector found hot
    std::atomic<uint64_t> cache_hits{0};       // answered from the near cache
    std::atomic<uint64_t> fills{0};            // hot reads sent to a backend for the cache or joiners
    std::atomic<uint64_t> coalesced{0};        // hot reads that joined one already in flight
    std::atomic<uint64_t> spread_reads{0};     // hot reads sent to a replica in turn
    std::atomic<uint64_t> invalidations{0};    // invalidation messages from the servers (tracking)
    std::atomic<uint64_t> cache_entries{0};
    std::atomic<uint64_t> cache_bytes{0};
    std::atomic<uint64_t> cache_evictions{0};

    static void bump(std::atomic<uint64_t>& counter) {
        counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
};

struct HotKeyReport {
    std::string key;
    double rate;  // reads per second through the whole proxy
};

class HotKeyBoard {
public:
    explicit HotKeyBoard(uint32_t workers);

    routing::KeyVersions versions;

    HotKeyCounters& counters(uint32_t worker) { return *workers_[worker].counters; }
    // The sum of every worker's counter.
    uint64_t total(std::atomic<uint64_t> HotKeyCounters::*counter) const;
    // A worker's latest view of its hot keys (off the request path, from a timer).
    void publish(uint32_t worker, std::vector<HotKeyReport> keys);
    // The workers' views merged: each key's rates summed, hottest first.
    std::vector<HotKeyReport> hot_keys() const;

private:
    struct WorkerView {
        std::unique_ptr<HotKeyCounters> counters = std::make_unique<HotKeyCounters>();
        std::vector<HotKeyReport> keys;  // under mutex_
    };
    mutable std::mutex mutex_;
    std::vector<WorkerView> workers_;
};

}  // namespace shardproxy::proxy
