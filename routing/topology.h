#pragma once
// The routing view of one configuration: every pool's key placement and every listener's
// prefix routes, built once and shared read-only by all workers.
#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "routing/key_placement.h"
#include "routing/prefix_router.h"

namespace shardproxy::routing {

struct PoolTopology {
    const conf::PoolConfig* config;
    KeyPlacement placement;
};

struct ListenerTopology {
    const conf::ListenerConfig* config;
    uint32_t default_pool;
    PrefixRouter router;
};

class Topology {
public:
    // Null with a message when a pool cannot be placed (validation normally catches this).
    static std::shared_ptr<const Topology> build(conf::Config config, std::string& error);

    const conf::Config& config() const { return config_; }
    const std::vector<PoolTopology>& pools() const { return pools_; }
    const std::vector<ListenerTopology>& listeners() const { return listeners_; }

private:
    conf::Config config_;
    std::vector<PoolTopology> pools_;
    std::vector<ListenerTopology> listeners_;
};

}  // namespace shardproxy::routing
