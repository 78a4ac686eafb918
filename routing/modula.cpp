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

size_t ModulaDistribution::position(uint32_t key_hash) const {
    const uint32_t slot = key_hash % slot_ends_.back();
    const auto it = std::upper_bound(slot_ends_.begin(), slot_ends_.end(), slot);
    return static_cast<size_t>(it - slot_ends_.begin());
}

uint32_t ModulaDistribution::server_for(uint32_t key_hash) const { return owners_[position(key_hash)]; }

void ModulaDistribution::replica_set(uint32_t key_hash, uint32_t count, std::vector<uint32_t>& out) const {
    out.clear();
    const size_t first = position(key_hash);
    for (size_t i = 0; i < owners_.size() && out.size() < count; ++i) {
        out.push_back(owners_[(first + i) % owners_.size()]);
    }
}

DistributionBuild build_modula(std::span<const WeightedServer> servers) {
    return {std::make_unique<ModulaDistribution>(servers), {}};
}

}  // namespace shardproxy::routing
