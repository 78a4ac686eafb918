#pragma once
// twemproxy's random: every request goes to a uniformly random server, whatever its key. Like
// twemproxy it ignores weights.
#include <cstdint>
#include <span>

#include "routing/distribution.h"

namespace shardproxy::routing {

class RandomDistribution final : public Distribution {
public:
    explicit RandomDistribution(uint32_t server_count) : server_count_(server_count) {}

    // Safe to call from any number of threads at once: each thread has its own generator.
    uint32_t server_for(uint32_t key_hash) const override;
    // A random server, then the ones after it in the server list.
    void replica_set(uint32_t key_hash, uint32_t count, std::vector<uint32_t>& out) const override;

private:
    uint32_t server_count_;
};

DistributionBuild build_random(std::span<const WeightedServer> servers);

}  // namespace shardproxy::routing
