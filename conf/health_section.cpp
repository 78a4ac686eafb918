#include "conf/sections.h"

namespace shardproxy::conf {
namespace {

const KeySpec<HealthConfig> health_table[] = {
    {.name = "failure_limit",
     .type = ValueType::integer,
     .default_value = "3",
     .help = "Consecutive failures (connection errors and timeouts) that mark a server down, 1 to 1000. "
             "Any reply from the server resets the count.",
     .apply = [](const Setting& limit, HealthConfig& health) { limit.read(health.failure_limit, 1, 1000); }},
    {.name = "probe_interval_ms",
     .type = ValueType::integer,
     .default_value = "200",
     .help = "How long after being marked down a server is first probed, in milliseconds; at least 10.",
     .apply =
         [](const Setting& interval, HealthConfig& health) { interval.read_at_least(health.probe_interval_ms, 10); }},
    {.name = "probe_max_interval_ms",
     .type = ValueType::integer,
     .default_value = "5000",
     .help = "Failed probes double the wait before the next one, up to this many milliseconds; at least "
             "probe_interval_ms.",
     .apply = [](const Setting& interval,
                 HealthConfig& health) { interval.read_at_least(health.probe_max_interval_ms, 10); }},
    {.name = "max_down_percent",
     .type = ValueType::integer,
     .default_value = "50",
     .help = "Never mark more than this share of the pool's servers down at once, 0 to 100; past it, "
             "failing servers stay in service and their errors are counted.",
     .apply = [](const Setting& percent, HealthConfig& health) { percent.read(health.max_down_percent, 0, 100); }},
};

}  // namespace

std::span<const KeySpec<HealthConfig>> health_keys() { return health_table; }

}  // namespace shardproxy::conf
