#pragma once
// Google's Maglev lookup table (Eisenbud et al., NSDI 2016): each server walks its own
// permutation of the table's slots, taking free ones in turns, so servers end up with near-equal
// (or weight-proportional) shares and a pool change moves few keys between remaining servers.
// Lookups are one modulo and one load. A server whose share is under one slot gets none.
#include <cstdint>
#include <span>
#include <vector>

#include "routing/distribution.h"

namespace shardproxy::routing {

// The smallest prime that is at least 65537 and at least 100 slots per server: fewer slots per
// server make shares uneven.
uint32_t maglev_table_size(uint32_t server_count);

class MaglevDistribution final : public Distribution {
public:
    // Expects validated servers (see make_distribution).
    explicit MaglevDistribution(std::span<const WeightedServer> servers);

    uint32_t server_for(uint32_t key_hash) const override;
    // The key's server, then the owners of slots found by looking the key up again re-mixed.
    void replica_set(uint32_t key_hash, uint32_t count, std::vector<uint32_t>& out) const override;

    // Config position of the server owning each slot.
    const std::vector<uint32_t>& table() const { return table_; }

private:
    std::vector<uint32_t> table_;
    uint32_t server_count_;
};

DistributionBuild build_maglev(std::span<const WeightedServer> servers);

}  // namespace shardproxy::routing
