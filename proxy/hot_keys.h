#pragma once
// One worker's hot-key handling for one pool ([pool.NAME.hotkey]): the detector that finds hot
// keys, and the three remedies a session applies to a read of one:
//
//   read of key k ─► detector: hot? ──no──► the normal path
//                        │yes
//                        ├─ this client's own writes not answered yet ──► the normal path
//                        ├─ near cache has k at the current version ──► answered here
//                        ├─ a read of k at this version is in flight ─► joins it (coalescing)
//                        ├─ near cache or coalescing on ──► a fill: one read to a backend
//                        │     (a replica in turn when spreading), answering every joiner
//                        └─ spreading only ──► the normal path, to the replica whose turn it is
//
// A fill goes over the client's own connection to the server (so it follows the client's
// earlier requests), or with invalidation = "tracking" over the worker's tracking connection
// to that server (backends/tracking_connection.h), whose invalidation messages bump the key's
// version. A fill that fails is answered with its error to every joiner; the next read tries
// again (on the next replica in turn when spreading).
#include <event2/event.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backends/backend_connection.h"
#include "backends/reply_sink.h"
#include "backends/tracking_connection.h"
#include "conf/config.h"
#include "proxy/hot_key_board.h"
#include "routing/hot_key_sketch.h"
#include "routing/key_versions.h"
#include "routing/near_cache.h"

namespace shardproxy::proxy {

class HotKeys;
class ReplySlot;

// A read sent to a backend on behalf of every client that asks for the same thing meanwhile.
class PendingRead final : public backends::ReplySink {
public:
    explicit PendingRead(HotKeys& owner) : owner_(owner) {}

    // The client's slot gets this read's reply.
    void join(ReplySlot* slot);

    backends::DirectReply claim_direct(uint32_t) override { return {}; }
    void on_reply_bytes(uint32_t child, evbuffer* from, size_t length) override;
    void on_reply_object(uint32_t child, redisReply* reply) override;
    void on_failure(uint32_t child, std::string_view error) override;
    void release() override;

private:
    friend class HotKeys;

    HotKeys& owner_;
    std::string lookup_;  // the request's signature and key
    uint64_t hash_ = 0;
    routing::KeyVersions::Snapshot version_;
    std::vector<ReplySlot*> waiters_;
    std::string reply_;
    bool in_flight_map_ = false;  // still the read that new requests join
};

class HotKeys final : public backends::TrackingListener {
public:
    HotKeys(const conf::PoolConfig& pool, uint32_t worker, uint32_t workers, HotKeyBoard& board,
            event_base* base, const std::vector<std::shared_ptr<const backends::BackendEndpoint>>& endpoints);
    ~HotKeys();
    HotKeys(const HotKeys&) = delete;
    HotKeys& operator=(const HotKeys&) = delete;

    struct Read {
        enum class Kind { normal, cached, in_flight, fill, spread };
        Kind kind = Kind::normal;
        const std::string* reply = nullptr;  // cached
        PendingRead* pending = nullptr;      // in_flight
    };
    // Counts a read of `key`; true when the key is hot. Every read of the pool goes through
    // here, so it does no more than that.
    bool record(std::string_view key);
    // For a hot key just recorded: what to do with the read. `signature` tells apart requests
    // for the same key whose replies differ ("get\n" and "gets\n", meta flags). A client with
    // writes not answered yet reads behind them (own_writes_pending). A fill must follow as
    // start_fill(), or not at all, before the next record.
    Read look_up(std::string_view signature, std::string_view key, bool own_writes_pending);
    // Registers the fill decided by the last look_up; the caller sends it with the result as
    // its sink and joins it.
    PendingRead& start_fill();
    // With invalidation = "tracking": the worker's tracking connection to the server, or null
    // while it is not ready (then reads of hot keys on that server are not cached).
    backends::TrackingConnection* tracking(uint32_t server) const;
    bool tracks() const { return !tracking_.empty(); }
    // Reads of hot keys take turns over the replicas (spread_replicas, replicas > 1, and reads
    // that fail over: on_down = "failover").
    bool spreads() const { return spreads_; }
    // Whose turn it is among a hot key's replicas.
    uint32_t next_turn() { return turn_++; }
    void count_spread() { HotKeyCounters::bump(counters_.spread_reads); }
    // No read of its own waits on a backend: a reload may free it.
    bool idle() const { return free_reads_.size() == reads_.size(); }
    routing::KeyVersions& versions() { return board_.versions; }

    // Publishes the hot keys and the cache's size to the board (once a second, from a timer).
    void publish();

    void on_invalidate(std::string_view key) override;
    void on_invalidate_all() override;

private:
    friend class PendingRead;
    void finish(PendingRead& read);
    void recycle(PendingRead* read);

    const conf::HotKeyConfig& config_;
    uint32_t worker_;
    bool spreads_;
    HotKeyBoard& board_;
    HotKeyCounters& counters_;
    routing::HotKeySketch sketch_;
    std::optional<routing::NearCache> cache_;
    std::vector<std::unique_ptr<backends::TrackingConnection>> tracking_;  // per server
    // Reads in flight that others can join, by lookup; views into the reads' lookup_.
    std::unordered_map<std::string_view, PendingRead*> in_flight_;
    std::vector<std::unique_ptr<PendingRead>> reads_;  // every read ever made, for reuse
    std::vector<PendingRead*> free_reads_;
    uint32_t turn_ = 0;
    // The last record and look_up, for start_fill.
    uint64_t hash_ = 0;
    uint64_t now_ms_ = 0;
    std::string lookup_;
    routing::KeyVersions::Snapshot version_;
};

// Milliseconds on a cheap monotonic clock, precise to a few milliseconds: enough for detector
// windows and cache lifetimes, and read on every hot-key lookup.
uint64_t coarse_monotonic_ms();

}  // namespace shardproxy::proxy
