#include "proxy/server_stats.h"

namespace shardproxy::proxy {

std::vector<ServerStatsLine> server_stats(const ProxyStats& stats, const conf::Config& config) {
    std::vector<ServerStatsLine> lines;
    const auto workers = static_cast<uint32_t>(stats.workers.size());
    for (const conf::PoolConfig& pool_config : config.pools) {
        for (size_t server = 0; server < pool_config.servers.size(); ++server) {
            const backends::ServerCounters& counters = stats.server(pool_config, pool_config.servers[server]);
            const uint32_t down = counters.down_workers.load(std::memory_order_relaxed);
            // Workers judge servers on their own; "partly" means some see it down, some not yet.
            const char* state = down == 0 ? "up" : down >= workers ? "down" : "partly_down";
            auto count = [](const std::atomic<uint64_t>& counter) {
                return std::to_string(counter.load(std::memory_order_relaxed));
            };
            lines.push_back({pool_config.name, static_cast<uint32_t>(server),
                             "name=" + pool_config.servers[server].identity + ",state=" + state +
                                 ",failures=" + count(counters.failures) + ",downs=" + count(counters.downs) +
                                 ",probes=" + count(counters.probes) +
                                 ",probe_failures=" + count(counters.probe_failures) +
                                 ",refused=" + count(counters.refused) + ",failovers=" + count(counters.failovers)});
        }
    }
    return lines;
}

}  // namespace shardproxy::proxy
