#include "proxy/worker_pool.h"

#include <algorithm>
#include <string>

#include "proxy/log.h"

namespace shardproxy::proxy {
namespace {

// The same server, however its connections are set up.
bool same_server(const backends::BackendEndpoint& a, const backends::BackendEndpoint& b) {
    return a.label == b.label && a.address.length == b.address.length &&
           std::equal(reinterpret_cast<const char*>(&a.address.storage),
                      reinterpret_cast<const char*>(&a.address.storage) + a.address.length,
                      reinterpret_cast<const char*>(&b.address.storage));
}

// The same server with the same settings: its connections can serve on.
bool same_endpoint(const backends::BackendEndpoint& a, const backends::BackendEndpoint& b) {
    return same_server(a, b) && a.timeout_ms == b.timeout_ms && a.protocol == b.protocol &&
           a.auth_user == b.auth_user && a.auth_password == b.auth_password && a.db == b.db;
}

// A server's connections can move from one pool state to another.
bool same_connections(const conf::PoolConfig& a, const conf::PoolConfig& b) {
    return a.server_connections == b.server_connections && a.health == b.health;
}

}  // namespace

WorkerPool::WorkerPool(const WorkerPoolContext& context, std::shared_ptr<const routing::Topology> topology,
                       uint32_t index, const PoolEndpoints& endpoints, WorkerPool* previous)
    : topology_(std::move(topology)),
      config_(topology_->pools()[index].config),
      health_(std::make_unique<backends::PoolHealth>()),
      worker_(context.worker) {
    const conf::PoolConfig& config = *config_;
    health_->max_down = static_cast<uint32_t>(endpoints.size()) * config.health.max_down_percent / 100;
    const backends::HealthSettings settings{config.health.failure_limit, config.health.probe_interval_ms,
                                            config.health.probe_max_interval_ms};
    const bool can_move = previous != nullptr && same_connections(previous->config(), config);
    servers.reserve(endpoints.size());
    for (size_t server = 0; server < endpoints.size(); ++server) {
        const backends::BackendEndpoint& endpoint = *endpoints[server];
        if (can_move) {
            auto kept = std::find_if(previous->servers.begin(), previous->servers.end(), [&](const WorkerServer& old) {
                return old.health && same_endpoint(*old.endpoint, endpoint);
            });
            if (kept != previous->servers.end()) {
                kept->health->move_to_pool(*health_);
                servers.push_back(std::move(*kept));
                continue;
            }
        }
        WorkerServer& fresh = servers.emplace_back();
        fresh.endpoint = endpoints[server];
        backends::ServerCounters& counters = context.stats.server(config, config.servers[server]);
        fresh.health = std::make_unique<backends::ServerHealth>(context.base, settings, *health_, counters);
        for (uint32_t i = 0; i < config.server_connections; ++i) {
            fresh.connections.push_back(std::make_unique<backends::BackendConnection>(
                context.base, context.writes, endpoint, *fresh.health, counters.traffic[context.worker]));
        }
        fresh.health->set_probe_connection(fresh.connections.front().get());
        if (previous != nullptr) {
            auto& before = previous->servers;
            auto same = std::find_if(before.begin(), before.end(), [&](const WorkerServer& old) {
                return old.health && same_server(*old.endpoint, endpoint);
            });
            if (same != before.end()) fresh.health->continue_outage_of(*same->health);
        }
    }
    // What moved out of `previous` left empty entries behind; the rest stays there, retired.
    if (previous != nullptr) {
        std::erase_if(previous->servers, [](const WorkerServer& server) { return !server.health; });
    }
    if (config.hotkey.enabled) {
        hot_keys = std::make_unique<HotKeys>(config, context.worker, context.workers, *context.stats.hot_keys(config),
                                             context.base, endpoints);
    }
}

WorkerPool::~WorkerPool() {
    // Connections first: failing what waits on them reaches their health and the hot keys.
    for (WorkerServer& server : servers) server.connections.clear();
}

bool WorkerPool::serves(const conf::PoolConfig& config, const PoolEndpoints& endpoints) const {
    if (!(config == *config_) || endpoints.size() != servers.size()) return false;
    for (size_t server = 0; server < endpoints.size(); ++server) {
        if (!same_endpoint(*endpoints[server], *servers[server].endpoint)) return false;
    }
    return true;
}

// Each worker judges servers on its own, so each logs its own verdicts: one line per change.
void WorkerPool::set_on_health_change(const std::function<void()>& on_change) {
    for (WorkerServer& server : servers) {
        const backends::ServerHealth* health = server.health.get();
        std::string subject = "worker " + std::to_string(worker_) + ": pool " + config_->name + ", server " +
                              server.endpoint->label;
        server.health->set_on_change([health, subject = std::move(subject), on_change] {
            if (health->down()) {
                log_warning(subject + " " + health->down_reason());
            } else {
                log_info(subject + " is up again: it answered a probe");
            }
            if (on_change) on_change();
        });
    }
}

void WorkerPool::retire() {
    for (WorkerServer& server : servers) server.health->set_on_change(nullptr);
}

std::vector<bool> WorkerPool::servers_up() const {
    std::vector<bool> up;
    up.reserve(servers.size());
    for (const WorkerServer& server : servers) up.push_back(!server.health->down());
    return up;
}

bool WorkerPool::idle() const {
    for (const WorkerServer& server : servers) {
        for (const auto& connection : server.connections) {
            if (connection->outstanding() > 0) return false;
        }
    }
    return !hot_keys || hot_keys->idle();
}

}  // namespace shardproxy::proxy
