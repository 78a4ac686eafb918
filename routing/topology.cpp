#include "routing/topology.h"

namespace shardproxy::routing {
namespace {

uint32_t pool_index(const conf::Config& config, const std::string& name) {
    for (size_t i = 0; i < config.pools.size(); ++i) {
        if (config.pools[i].name == name) return static_cast<uint32_t>(i);
    }
    return UINT32_MAX;
}

}  // namespace

std::shared_ptr<const Topology> Topology::build(conf::Config config, std::string& error) {
    auto topology = std::shared_ptr<Topology>(new Topology());
    topology->config_ = std::move(config);
    const conf::Config& cfg = topology->config_;

    for (const conf::PoolConfig& pool : cfg.pools) {
        HashFunction hash = find_hash_function(pool.hash);
        if (hash == nullptr) {
            error = "pool " + pool.name + ": unknown hash " + pool.hash;
            return nullptr;
        }
        std::vector<WeightedServer> servers;
        servers.reserve(pool.servers.size());
        for (const conf::ServerConfig& server : pool.servers) {
            servers.push_back(WeightedServer{server.identity, server.weight});
        }
        DistributionBuild built = make_distribution(pool.distribution, servers);
        if (!built.distribution) {
            error = "pool " + pool.name + ": " + built.error;
            return nullptr;
        }
        topology->pools_.push_back(PoolTopology{
            &pool, KeyPlacement(hash, std::move(built.distribution), pool.hash_tag,
                                static_cast<uint32_t>(pool.servers.size()))});
    }

    for (const conf::ListenerConfig& listener : cfg.listeners) {
        const uint32_t default_pool = pool_index(cfg, listener.pool);
        if (default_pool == UINT32_MAX) {
            error = "listener " + listener.name + ": unknown pool " + listener.pool;
            return nullptr;
        }
        ListenerTopology entry{&listener, default_pool, PrefixRouter(default_pool)};
        for (const conf::RouteConfig& route : listener.routes) {
            const uint32_t pool = pool_index(cfg, route.pool);
            if (pool == UINT32_MAX) {
                error = "listener " + listener.name + ": unknown pool " + route.pool;
                return nullptr;
            }
            entry.router.add_route(route.prefix, pool);
        }
        topology->listeners_.push_back(std::move(entry));
    }
    return topology;
}

}  // namespace shardproxy::routing
