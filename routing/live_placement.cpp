#include "routing/live_placement.h"

namespace shardproxy::routing {

std::optional<LivePlacement> LivePlacement::build(const conf::PoolConfig& pool, const std::vector<bool>& up) {
    std::vector<WeightedServer> servers;
    std::vector<uint32_t> pool_index;
    for (size_t i = 0; i < pool.servers.size(); ++i) {
        if (!up[i]) continue;
        servers.push_back(WeightedServer{pool.servers[i].identity, pool.servers[i].weight});
        pool_index.push_back(static_cast<uint32_t>(i));
    }
    if (servers.empty()) return std::nullopt;
    DistributionBuild built = make_distribution(pool.distribution, servers);
    // The full pool built with these rules, so a subset does too (jump's equal weights stay equal).
    if (!built.distribution) return std::nullopt;
    return LivePlacement(KeyPlacement(find_hash_function(pool.hash), std::move(built.distribution), pool.hash_tag,
                                      static_cast<uint32_t>(servers.size())),
                         std::move(pool_index));
}

}  // namespace shardproxy::routing
