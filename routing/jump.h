#pragma once
// Lamping and Veach's jump consistent hash ("A Fast, Minimal Memory, Consistent Hash Algorithm",
// 2014) over the 32-bit key hash. Servers are buckets in config order, so a pool grows without
// moving keys between old servers only when new servers are appended to the end of its list.
// Buckets are equal by construction: pools whose weights differ are refused.
#include <cstdint>
#include <span>

#include "routing/distribution.h"

namespace shardproxy::routing {

class JumpDistribution final : public Distribution {
public:
    explicit JumpDistribution(uint32_t server_count) : server_count_(server_count) {}

    uint32_t server_for(uint32_t key_hash) const override;
    // Replica r is where jump sends the key hash re-mixed with r, skipping servers already
    // chosen, so each replica keeps jump's small movement when servers are added.
    void replica_set(uint32_t key_hash, uint32_t count, std::vector<uint32_t>& out) const override;

private:
    uint32_t server_count_;
};

DistributionBuild build_jump(std::span<const WeightedServer> servers);

}  // namespace shardproxy::routing
