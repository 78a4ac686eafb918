#pragma once
// twemproxy's auto_eject_hosts (on_down = "rehash"): while servers are down, the pool's keys are
// placed by the same hash and distribution built from the servers that are up, so the keys of
// a down server move to the others, exactly where nutcracker moves them (its ketama recomputes
// every live server's points from the live count and weights).
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "routing/key_placement.h"

namespace shardproxy::routing {

class LivePlacement {
public:
    // Null when no server is up (then nothing better than the full placement exists).
    static std::optional<LivePlacement> build(const conf::PoolConfig& pool, const std::vector<bool>& up);

    // Index in the pool's full server list.
    uint32_t server_for(std::string_view key) const { return pool_index_[placement_.server_for(key)]; }

private:
    LivePlacement(KeyPlacement placement, std::vector<uint32_t> pool_index)
        : placement_(std::move(placement)), pool_index_(std::move(pool_index)) {}

    KeyPlacement placement_;
    std::vector<uint32_t> pool_index_;  // live position -> position in the pool
};

}  // namespace shardproxy::routing
