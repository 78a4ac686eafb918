#pragma once
// nutcracker 0.5's ketama continuum, point for point: a pool moved from twemproxy to shardproxy
// keeps every key on the same server.
#include <cstdint>
#include <span>
#include <vector>

#include "routing/distribution.h"

namespace shardproxy::routing {

// Ring points a server gets, always a multiple of 4: 160 with equal weights, and possibly 0 for a
// weight that is tiny next to the total.
uint32_t ketama_point_count(uint32_t weight, uint32_t total_weight, uint32_t server_count);

class KetamaDistribution final : public Distribution {
public:
    // Expects validated servers (see make_distribution).
    explicit KetamaDistribution(std::span<const WeightedServer> servers);

    uint32_t server_for(uint32_t key_hash) const override;
    // The owners of the points from the key's point clockwise, each server once.
    void replica_set(uint32_t key_hash, uint32_t count, std::vector<uint32_t>& out) const override;

    // The ring, ascending; owners[i] is the config position of the server owning points[i].
    const std::vector<uint32_t>& points() const { return points_; }
    const std::vector<uint32_t>& owners() const { return owners_; }

private:
    size_t point_index(uint32_t key_hash) const;

    std::vector<uint32_t> points_;
    std::vector<uint32_t> owners_;
    uint32_t server_count_;
};

DistributionBuild build_ketama(std::span<const WeightedServer> servers);

}  // namespace shardproxy::routing
