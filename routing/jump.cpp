#include "routing/jump.h"

#include <string>

namespace shardproxy::routing {

uint32_t JumpDistribution::server_for(uint32_t key_hash) const {
    uint64_t key = key_hash;
    int64_t bucket = -1;
    int64_t next = 0;
    while (next < static_cast<int64_t>(server_count_)) {
        bucket = next;
        key = key * 2862933555777941757ull + 1;
        next = static_cast<int64_t>(static_cast<double>(bucket + 1) *
                                    (static_cast<double>(1ll << 31) / static_cast<double>((key >> 33) + 1)));
    }
    return static_cast<uint32_t>(bucket);
}

DistributionBuild build_jump(std::span<const WeightedServer> servers) {
    for (const WeightedServer& server : servers) {
        if (server.weight != servers.front().weight) {
            return {nullptr, "distribution 'jump' cannot honour weights, but server '" + server.identity +
                                 "' has weight " + std::to_string(server.weight) + " and server '" +
                                 servers.front().identity + "' has weight " +
                                 std::to_string(servers.front().weight) +
                                 "; give every server the same weight or use 'ketama' or 'maglev'"};
        }
    }
    return {std::make_unique<JumpDistribution>(static_cast<uint32_t>(servers.size())), {}};
}

}  // namespace shardproxy::routing
