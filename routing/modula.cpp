#include "routing/modula.h"

#include <algorithm>

#include "routing/server_order.h"

namespace shardproxy::routing {

ModulaDistribution::ModulaDistribution(std::span<const WeightedServer> servers)
    : owners_(identity_order(servers)) {
    slot_ends_.reserve(owners_.size());
    uint32_t end = 0;
    for (uint32_t owner : owners_) {
        end += servers[owner].weight;
        slot_ends_.push_back(end);
    }
}

uint32_t ModulaDistribution::server_for(uint32_t key_hash) const {
    const uint32_t slot = key_hash % slot_ends_.back();
    const auto it = std::upper_bound(slot_ends_.begin(), slot_ends_.end(), slot);
    return owners_[static_cast<size_t>(it - slot_ends_.begin())];
}

DistributionBuild build_modula(std::span<const WeightedServer> servers) {
    return {std::make_unique<ModulaDistribution>(servers), {}};
}

}  // namespace shardproxy::routing
