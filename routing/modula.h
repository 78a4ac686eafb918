#pragma once
// twemproxy's modula: hash % total weight picks a slot in a list where each server, in identity
// order, holds as many consecutive slots as its weight.
#include <cstdint>
#include <span>
#include <vector>

#include "routing/distribution.h"

namespace shardproxy::routing {

class ModulaDistribution final : public Distribution {
public:
    // Expects validated servers (see make_distribution).
    explicit ModulaDistribution(std::span<const WeightedServer> servers);

    uint32_t server_for(uint32_t key_hash) const override;
    // The slot's server, then the servers after it in identity order, wrapping.
    void replica_set(uint32_t key_hash, uint32_t count, std::vector<uint32_t>& out) const override;

private:
    size_t position(uint32_t key_hash) const;  // of the key's server in owners_

    // slot_ends_[i] is one past the last slot of owners_[i]; the last end is the total weight.
    // Storing ends instead of one entry per slot keeps large weights cheap.
    std::vector<uint32_t> slot_ends_;
    std::vector<uint32_t> owners_;
};

DistributionBuild build_modula(std::span<const WeightedServer> servers);

}  // namespace shardproxy::routing
