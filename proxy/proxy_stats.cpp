#include "proxy/proxy_stats.h"

namespace shardproxy::proxy {

ProxyStats::ProxyStats(uint32_t worker_count) {
    for (uint32_t i = 0; i < worker_count; ++i) workers.push_back(std::make_unique<WorkerStats>());
}

void ProxyStats::prepare(const conf::Config& config) {
    const std::lock_guard lock(mutex_);
    for (const conf::ListenerConfig& listener : config.listeners) {
        auto& slot = listeners_[listener.name];
        if (!slot) slot = std::make_unique<ListenerTraffic[]>(workers.size());
    }
    for (const conf::PoolConfig& pool : config.pools) {
        PoolCounters& counters = pools_[pool.name];
        for (const conf::ServerConfig& server : pool.servers) {
            auto& slot = counters.servers[server.identity];
            if (!slot) slot = std::make_unique<backends::ServerCounters>(static_cast<uint32_t>(workers.size()));
        }
        if (pool.hotkey.enabled && !counters.hot_keys) {
            counters.hot_keys = std::make_unique<HotKeyBoard>(static_cast<uint32_t>(workers.size()));
        }
    }
}

backends::ServerCounters& ProxyStats::server(const conf::PoolConfig& pool, const conf::ServerConfig& server) const {
    const std::lock_guard lock(mutex_);
    return *pools_.find(pool.name)->second.servers.find(server.identity)->second;
}

HotKeyBoard* ProxyStats::hot_keys(const conf::PoolConfig& pool) const {
    if (!pool.hotkey.enabled) return nullptr;
    const std::lock_guard lock(mutex_);
    return pools_.find(pool.name)->second.hot_keys.get();
}

ListenerTraffic* ProxyStats::listener(const conf::ListenerConfig& listener) const {
    const std::lock_guard lock(mutex_);
    return listeners_.find(listener.name)->second.get();
}

}  // namespace shardproxy::proxy
