#pragma once
// One event-loop thread. It owns its event base, the client sessions it accepted and its own
// connections to every backend, so nothing on the request path is shared with other workers.
#include <event2/event.h>
#include <event2/listener.h>

#include <algorithm>
#include <cstdint>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "backends/backend_connection.h"
#include "backends/write_batcher.h"
#include "proxy/hot_keys.h"
#include "proxy/noreply_sink.h"
#include "proxy/proxy_stats.h"
#include "proxy/reply_slot.h"
#include "proxy/worker_pool.h"
#include "routing/topology.h"

namespace shardproxy::proxy {

class ClientSession;

struct ListenSocket {
    evutil_socket_t fd;
    uint32_t listener;  // index into the topology's listeners
};

// What the workers serve: built by the process at startup and at each reload.
struct WorkerConfiguration {
    std::shared_ptr<const routing::Topology> topology;
    BackendEndpoints endpoints;
    std::vector<ListenSocket> sockets;
};

class Worker {
public:
    Worker(uint32_t index, uint32_t worker_count, const WorkerConfiguration& configuration, ProxyStats& stats);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    void start();  // runs the loop on a new thread
    void join();
    // Any thread: stop accepting, finish in-flight requests (bounded by drain_timeout_ms), exit.
    void request_stop();
    // Any thread: serve `configuration` from the loop's next turn, and count `applied` down
    // then. Sessions and the requests in flight carry on (see apply()).
    void reconfigure(std::shared_ptr<const WorkerConfiguration> configuration, std::latch& applied);
    // Counts the configurations applied. What holds pool or server numbers across loop turns
    // (a read failing over, a repair) compares it, since a reload renumbers them.
    uint64_t generation() const { return generation_; }

    event_base* base() const { return base_; }
    const routing::Topology& topology() const { return *topology_; }
    SlotPool& slots() { return slots_; }
    backends::WriteBatcher& writes() { return *writes_; }
    WorkerStats& stats() { return *stats_.workers[index_]; }
    NoReplySink& noreply_sink() { return noreply_sink_; }
    const ProxyStats& proxy_stats() const { return stats_; }
    ListenerTraffic& listener_traffic(const conf::ListenerConfig& listener) { return stats_.listener(listener)[index_]; }

    // The server a key of the pool goes to: the topology's placement, or while servers are down
    // in a pool with on_down = "rehash", the placement over the servers that are up.
    uint32_t server_for(uint32_t pool, std::string_view key) const {
        if (pools_[pool]->live_placement) return pools_[pool]->live_placement->server_for(key);
        return topology_->pools()[pool].placement.server_for(key);
    }

    // The key's replica set in the pool (most preferred first), into `out`.
    void replicas_for(uint32_t pool, std::string_view key, std::vector<uint32_t>& out) const {
        const routing::PoolTopology& topology = topology_->pools()[pool];
        topology.placement.replicas_for(key, topology.config->replicas, out);
    }
    // The replicas a write of the key goes to: with on_down = "failover", those not marked
    // down (a server that is down misses the write; miss_failover heals it later). When all
    // are down, all of them, so that the client hears why.
    void write_replicas_for(uint32_t pool, std::string_view key, uint64_t client_id, std::vector<uint32_t>& out) {
        replicas_for(pool, key, out);
        if (topology_->pools()[pool].config->on_down != conf::OnDown::failover) return;
        std::erase_if(out, [&](uint32_t server) { return backend(pool, server, client_id).marked_down(); });
        if (out.empty()) replicas_for(pool, key, out);
    }
    // Where a read of the key goes: the first replica whose server is in service in this
    // worker (on_down = "failover"), else the key's own server, whose error the client gets.
    uint32_t read_server_for(uint32_t pool, std::string_view key, uint64_t client_id,
                             std::vector<uint32_t>& scratch) {
        const conf::PoolConfig& config = *topology_->pools()[pool].config;
        if (config.replicas <= 1 || config.on_down != conf::OnDown::failover) return server_for(pool, key);
        replicas_for(pool, key, scratch);
        order_for_read(pool, client_id, scratch);
        return scratch.front();
    }
    // Puts a key's replicas in the order a read tries them: those in service first, by the
    // pool's read_policy (replica order, or fewest requests waiting); the order is otherwise
    // kept, so equal replicas are tried primary first.
    void order_for_read(uint32_t pool, uint64_t client_id, std::vector<uint32_t>& replicas) {
        auto rank = [&](uint32_t server) {
            const backends::BackendConnection& connection = backend(pool, server, client_id);
            if (!connection.available()) return SIZE_MAX;
            return topology_->pools()[pool].config->read_policy == conf::ReadPolicy::spread ? connection.outstanding()
                                                                                            : size_t{0};
        };
        std::stable_sort(replicas.begin(), replicas.end(),
                         [&](uint32_t a, uint32_t b) { return rank(a) < rank(b); });
    }

    // A hot key's replicas in the order its read tries them: those in service first, and
    // among them the one whose turn it is (turn counts up per read), so reads take turns.
    void order_for_hot_read(uint32_t pool, uint64_t client_id, uint32_t turn, std::vector<uint32_t>& replicas) {
        const auto in_service = std::stable_partition(replicas.begin(), replicas.end(), [&](uint32_t server) {
            return backend(pool, server, client_id).available();
        });
        const auto count = static_cast<uint32_t>(in_service - replicas.begin());
        if (count > 1) std::rotate(replicas.begin(), replicas.begin() + turn % count, in_service);
    }
    // Where a fill of a hot key goes: the replica whose turn it is when the pool spreads hot
    // reads, else where any read of the key goes.
    uint32_t hot_read_server(HotKeys& hot, uint32_t pool, std::string_view key, uint64_t client_id,
                             std::vector<uint32_t>& scratch) {
        if (!hot.spreads()) return read_server_for(pool, key, client_id, scratch);
        hot_replicas_for(hot, pool, key, client_id, scratch);
        return scratch.front();
    }
    // A hot key's replicas into `out`, in the order its next read tries them (its turn first).
    void hot_replicas_for(HotKeys& hot, uint32_t pool, std::string_view key, uint64_t client_id,
                          std::vector<uint32_t>& out) {
        replicas_for(pool, key, out);
        order_for_hot_read(pool, client_id, hot.next_turn(), out);
        hot.count_spread();
    }
    // The pool's hot-key handling in this worker, or null when it has none.
    HotKeys* hot_keys(uint32_t pool) const { return pools_[pool]->hot_keys.get(); }
    bool any_hot_keys() const { return any_hot_keys_; }

    // A read of the key that `server` should have answered went to another replica.
    void count_failover(uint32_t pool, uint32_t server) {
        pools_[pool]->servers[server].health->count_failover();
    }
    // Whether reads of the pool fail over between replicas.
    bool reads_fail_over(uint32_t pool) const {
        const conf::PoolConfig& config = *topology_->pools()[pool].config;
        return config.replicas > 1 && config.on_down == conf::OnDown::failover;
    }
    // Whether any pool does: when none does, as with replicas = 1, multi-key requests need not
    // look at each key's pool for it.
    bool any_reads_fail_over() const { return any_reads_fail_over_; }

    // A client's requests to one server always use the same connection, so they stay ordered.
    backends::BackendConnection& backend(uint32_t pool, uint32_t server, uint64_t client_id) {
        auto& connections = pools_[pool]->servers[server].connections;
        return *connections[client_id % connections.size()];
    }

    void close_session(ClientSession* session);

private:
    struct ListenerContext {
        Worker* worker;
        uint32_t listener;
        evconnlistener* handle;
    };

    void on_accept(evutil_socket_t fd, uint32_t listener);
    void on_health_change(uint32_t pool);
    void on_stop();
    void on_reconfigure();
    void apply(const WorkerConfiguration& configuration);
    void apply_pools(const WorkerConfiguration& configuration);
    void apply_listeners(const WorkerConfiguration& configuration);
    void rebind_sessions();
    void free_idle_retired_pools();

    static void accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* context);
    static void stop_cb(evutil_socket_t fd, short, void* self);
    static void drain_deadline_cb(evutil_socket_t, short, void* self);
    static void publish_cb(evutil_socket_t, short, void* self);
    static void reconfigure_cb(evutil_socket_t fd, short, void* self);
    static void retired_cb(evutil_socket_t, short, void* self);
    static void client_limits_cb(evutil_socket_t, short, void* self);

    uint32_t index_;
    uint32_t worker_count_;
    std::shared_ptr<const routing::Topology> topology_;
    uint64_t generation_ = 0;
    ProxyStats& stats_;
    event_base* base_;
    int stop_fd_;
    event* stop_event_;
    event* drain_timer_;
    event* publish_timer_;  // hot keys to the board
    int reconfigure_fd_;
    event* reconfigure_event_;
    event* retired_timer_;  // frees retired pools once idle
    event* client_limits_timer_;  // once a second: client timeouts and output limits
    std::mutex mailbox_mutex_;  // for the two below, between reconfigure() and the loop
    std::shared_ptr<const WorkerConfiguration> next_configuration_;
    std::vector<std::latch*> applied_;
    std::unique_ptr<backends::WriteBatcher> writes_;
    bool draining_ = false;
    uint64_t next_client_ = 0;
    std::vector<std::unique_ptr<ListenerContext>> listeners_;
    SlotPool slots_;
    NoReplySink noreply_sink_;
    // After the slots, whose requests they carry; their hot keys' pending reads point into them.
    std::vector<std::unique_ptr<WorkerPool>> pools_;
    // Left by reloads with requests still in flight; freed once idle.
    std::vector<std::unique_ptr<WorkerPool>> retired_pools_;
    bool any_reads_fail_over_ = false;
    bool any_hot_keys_ = false;
    std::unordered_set<ClientSession*> sessions_;
    std::thread thread_;
};

}  // namespace shardproxy::proxy
