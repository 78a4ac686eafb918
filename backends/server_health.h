#pragma once
// How one worker judges one backend server. Connection errors and request timeouts are
// failures, any reply is a success; failure_limit consecutive failures mark the server down, as
// long as the pool's cap on down servers allows it. A down server is refused requests at once
// (no waiting for a timeout) and probed with backoff; only an answered probe brings it back,
// never the mere passing of time (twemproxy re-admits blindly, and its rings flap).
//
// Each worker keeps its own view: the request path reads and writes it without locks.
#include <event2/event.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "backends/reply_sink.h"
#include "backends/traffic_counters.h"

namespace shardproxy::backends {

class BackendConnection;

struct HealthSettings {
    uint32_t failure_limit = 3;
    uint32_t probe_interval_ms = 200;
    uint32_t probe_max_interval_ms = 5000;
};

// Per server, shared by all workers. They change on failures and probes only, never on the
// request path of a healthy server, so an atomic add costs nothing that matters. The request
// path's counters are per worker (`traffic`).
struct ServerCounters {
    explicit ServerCounters(uint32_t workers = 1) : traffic(std::make_unique<ServerTraffic[]>(workers)) {}

    std::atomic<uint64_t> failures{0};        // connection errors and timeouts
    std::atomic<uint64_t> downs{0};           // times marked down
    std::atomic<uint64_t> probes{0};          // probes sent
    std::atomic<uint64_t> probe_failures{0};  // probes unanswered or refused
    std::atomic<uint64_t> refused{0};         // requests failed at once while down
    std::atomic<uint64_t> failovers{0};       // reads sent on to the next replica instead
    std::atomic<uint32_t> down_workers{0};    // workers that see the server down now
    std::unique_ptr<ServerTraffic[]> traffic;  // one per worker

    static void bump(std::atomic<uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }
};

// The cap on down servers of one pool, as one worker sees it.
struct PoolHealth {
    uint32_t max_down = 0;
    uint32_t down = 0;
};

class ServerHealth final : private ReplySink {
public:
    ServerHealth(event_base* base, const HealthSettings& settings, PoolHealth& pool, ServerCounters& counters);
    ~ServerHealth();
    ServerHealth(const ServerHealth&) = delete;
    ServerHealth& operator=(const ServerHealth&) = delete;

    // Probes go out on this connection (the server's first in this worker).
    void set_probe_connection(BackendConnection* connection) { probe_connection_ = connection; }
    // Called after the server is marked down or back up.
    void set_on_change(std::function<void()> on_change) { on_change_ = std::move(on_change); }
    // A reload kept the server in a pool rebuilt around it: its down state counts there now.
    void move_to_pool(PoolHealth& pool);
    // A reload changed how the server is reached (its timeout, its connections) but not which
    // server it is: an outage `previous` saw goes on here, probed afresh, rather than the
    // server being handed requests again before it answers a probe.
    void continue_outage_of(ServerHealth& previous);

    bool down() const { return down_; }
    // While down: why, as the tail of an error ("is down: 3 consecutive failures, last: ...").
    const std::string& down_reason() const { return down_reason_; }

    void on_reply() {
        if (!down_) consecutive_failures_ = 0;
    }
    void on_failure(std::string_view reason);
    void count_refused() { ServerCounters::bump(counters_.refused); }
    // A read of one of the server's keys went to another replica.
    void count_failover() { ServerCounters::bump(counters_.failovers); }

private:
    void mark_down(std::string_view reason);
    void mark_up();
    void schedule_probe();
    void send_probe();
    void probe_failed();

    // The probe's reply (ReplySink).
    DirectReply claim_direct(uint32_t) override { return {}; }
    void on_reply_bytes(uint32_t, evbuffer* from, size_t length) override;
    void on_reply_object(uint32_t, redisReply* reply) override;
    void on_failure(uint32_t, std::string_view) override { probe_failed(); }
    void release() override {}

    static void probe_cb(evutil_socket_t, short, void* self);

    HealthSettings settings_;
    PoolHealth* pool_;
    ServerCounters& counters_;
    BackendConnection* probe_connection_ = nullptr;
    std::function<void()> on_change_;
    event* probe_timer_;
    bool down_ = false;
    // Its outage went on in the health that replaced it at a reload: it still counts what its
    // retired connections fail, but judges the server no more.
    bool handed_over_ = false;
    bool probe_in_flight_ = false;
    uint32_t consecutive_failures_ = 0;
    uint32_t probe_delay_ms_ = 0;
    std::string down_reason_;
};

}  // namespace shardproxy::backends
