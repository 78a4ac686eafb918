#pragma once
// What the admin endpoint serves, rendered from the shared counters (proxy_stats.h) at request
// time: Prometheus text for /metrics, JSON for /stats, and the readiness verdict for /readyz.
// Workers keep their counters without locks; these functions only read them.
#include <string>

#include "conf/config.h"
#include "proxy/proxy_stats.h"

namespace shardproxy::proxy {

// Prometheus text exposition format 0.0.4.
std::string prometheus_metrics(const ProxyStats& stats, const conf::Config& config);
// The same figures as one JSON object.
std::string stats_json(const ProxyStats& stats, const conf::Config& config);

struct Readiness {
    bool ready;
    std::string reason;  // why not, for the operator
};
// Ready: listening (the admin endpoint starts after the listeners), not draining, and at least
// one server of every pool is up in at least one worker.
Readiness readiness(const ProxyStats& stats, const conf::Config& config, bool draining);

}  // namespace shardproxy::proxy
