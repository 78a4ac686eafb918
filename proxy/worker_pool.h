#pragma once
// One worker's live state for one pool: its connections to each server, its view of their
// health, the placement it uses while servers are down (on_down = "rehash") and its hot-key
// handling. A reload gives every worker new pools; a server whose connection settings did not
// change moves into the new pool with its connections, its health and the requests they carry,
// and what is left of the old pool is retired: freed once no request waits on it.
#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "backends/backend_connection.h"
#include "backends/server_health.h"
#include "backends/write_batcher.h"
#include "proxy/hot_keys.h"
#include "proxy/proxy_stats.h"
#include "routing/live_placement.h"
#include "routing/topology.h"

namespace shardproxy::proxy {

// A configuration's backend addresses, resolved once for all workers: per pool, per server.
// Shared, so that the connections a reload keeps go on referring to the endpoint they have.
using PoolEndpoints = std::vector<std::shared_ptr<const backends::BackendEndpoint>>;
using BackendEndpoints = std::vector<PoolEndpoints>;

struct WorkerServer {
    std::shared_ptr<const backends::BackendEndpoint> endpoint;
    std::unique_ptr<backends::ServerHealth> health;  // outlives the connections reporting to it
    std::vector<std::unique_ptr<backends::BackendConnection>> connections;
};

struct WorkerPoolContext {
    event_base* base;
    backends::WriteBatcher& writes;
    ProxyStats& stats;
    uint32_t worker;
    uint32_t workers;
};

class WorkerPool {
    // First, so that they outlive the members below, which refer to them.
    std::shared_ptr<const routing::Topology> topology_;  // holds the config_ that hot_keys reads
    const conf::PoolConfig* config_;
    std::unique_ptr<backends::PoolHealth> health_;  // the cap on down servers, read by their health
    uint32_t worker_;  // for the log lines

public:
    // The state of `topology`'s pool `index`. The servers of `previous` whose connections
    // would be the same (address, name, timeout, login, health settings) are moved over.
    WorkerPool(const WorkerPoolContext& context, std::shared_ptr<const routing::Topology> topology, uint32_t index,
               const PoolEndpoints& endpoints, WorkerPool* previous);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    const conf::PoolConfig& config() const { return *config_; }
    // Whether a reload to `config` with `endpoints` would build the same pool: then the worker
    // keeps this one as it is, hot keys and near cache included.
    bool serves(const conf::PoolConfig& config, const PoolEndpoints& endpoints) const;

    // Called after one of its servers is marked down or back up, which is logged too.
    void set_on_health_change(const std::function<void()>& on_change);
    // Replaced by a reload: what its servers do from now on concerns nobody.
    void retire();
    // The servers marked down, for on_down = "rehash"; none when all are up.
    std::vector<bool> servers_up() const;
    // Nothing waits on a reply from its connections or its hot-key reads.
    bool idle() const;

    // Declared before the servers, whose pending reads point into it: destroyed after them.
    std::unique_ptr<HotKeys> hot_keys;
    std::vector<WorkerServer> servers;
    std::optional<routing::LivePlacement> live_placement;
};

}  // namespace shardproxy::proxy
