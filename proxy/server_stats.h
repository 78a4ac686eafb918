#pragma once
// Each backend server's health as the stats commands show it (INFO's "servers" section, the
// memcached "stats" lines): its state over all workers and its counters.
#include <string>
#include <vector>

#include "conf/config.h"
#include "proxy/proxy_stats.h"

namespace shardproxy::proxy {

struct ServerStatsLine {
    std::string pool;
    uint32_t index;   // position in the pool's server list
    std::string text; // "name=cache-a,state=up,failures=0,downs=0,probes=0,probe_failures=0,refused=0,failovers=0"
};

std::vector<ServerStatsLine> server_stats(const ProxyStats& stats, const conf::Config& config);

}  // namespace shardproxy::proxy
