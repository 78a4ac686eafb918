#include "routing/jump.h"

#include <algorithm>
#include <string>

namespace shardproxy::routing {

namespace {

uint32_t jump(uint64_t key, uint32_t buckets) {
    int64_t bucket = -1;
    int64_t next = 0;
    while (next < static_cast<int64_t>(buckets)) {
        bucket = next;
        key = key * 2862933555777941757ull + 1;
        next = static_cast<int64_t>(static_cast<double>(bucket + 1) *
                                    (static_cast<double>(1ll << 31) / static_cast<double>((key >> 33) + 1)));
    }
    return static_cast<uint32_t>(bucket);
}

}  // namespace

uint32_t JumpDistribution::server_for(uint32_t key_hash) const { return jump(key_hash, server_count_); }

void JumpDistribution::replica_set(uint32_t key_hash, uint32_t count, std::vector<uint32_t>& out) const {
    out.clear();
    const uint32_t wanted = std::min(count, server_count_);
    // A few re-mixes find distinct servers with high probability; the scan after them makes
    // the set complete however unlucky the key.
    for (uint64_t r = 0; out.size() < wanted && r < 8ull * wanted; ++r) {
        const uint64_t mixed = r == 0 ? key_hash : (key_hash ^ (r * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
        const uint32_t server = jump(mixed, server_count_);
        if (std::find(out.begin(), out.end(), server) == out.end()) out.push_back(server);
    }
    for (uint32_t step = 1; out.size() < wanted; ++step) {
        const uint32_t server = (out.front() + step) % server_count_;
        if (std::find(out.begin(), out.end(), server) == out.end()) out.push_back(server);
    }
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
