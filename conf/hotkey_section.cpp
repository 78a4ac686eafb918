#include "conf/sections.h"

namespace shardproxy::conf {
namespace {

const KeySpec<HotKeyConfig> hotkey_table[] = {
    {.name = "min_rate",
     .type = ValueType::integer,
     .default_value = "100",
     .help = "Reads per second of one key, through this proxy, that make it hot (1 to 100000000). Each "
             "worker judges its own share: min_rate divided by the number of workers.",
     .apply = [](const Setting& rate, HotKeyConfig& hotkey) { rate.read(hotkey.min_rate, 1, 100'000'000); }},
    {.name = "window_ms",
     .type = ValueType::integer,
     .default_value = "1000",
     .help = "The detector's window, 100 to 60000 milliseconds: a key turns hot within one window of being "
             "read that fast, and cools within about three once its reads stop.",
     .apply = [](const Setting& window, HotKeyConfig& hotkey) { window.read(hotkey.window_ms, 100, 60'000); }},
    {.name = "tracked_keys",
     .type = ValueType::integer,
     .default_value = "256",
     .help = "How many candidate keys each worker's detector follows (8 to 65536); at most this many keys "
             "are hot at once per worker. The detector's memory is fixed by it: under 32 KiB + 400 bytes per "
             "tracked key, whatever the key space.",
     .apply = [](const Setting& count, HotKeyConfig& hotkey) { count.read(hotkey.tracked_keys, 8, 65'536); }},
    {.name = "near_cache",
     .type = ValueType::boolean,
     .default_value = "false",
     .help = "Keep the replies to reads of hot keys in the proxy for ttl_ms (Redis GET; memcached get, "
             "gets and mg), so repeated reads are answered without a backend. Reads may then be stale by "
             "up to ttl_ms for writes that do not pass through this proxy (see invalidation).",
     .apply = [](const Setting& enabled, HotKeyConfig& hotkey) { hotkey.near_cache = enabled.boolean(); }},
    {.name = "ttl_ms",
     .type = ValueType::integer,
     .default_value = "200",
     .help = "How long a near-cache entry is served, 1 to 3600000 milliseconds.",
     .apply = [](const Setting& ttl, HotKeyConfig& hotkey) { ttl.read(hotkey.ttl_ms, 1, 3'600'000); }},
    {.name = "max_bytes",
     .type = ValueType::integer,
     .default_value = "16777216",
     .help = "The near cache's memory bound for the pool, keys, replies and bookkeeping counted, shared "
             "evenly by the workers (at least 4096). Past it, the least recently used entries go.",
     .apply = [](const Setting& bytes, HotKeyConfig& hotkey) { bytes.read_at_least(hotkey.max_bytes, 4096); }},
    {.name = "invalidation",
     .type = ValueType::string,
     .default_value = "\"ttl\"",
     .help = "How the near cache learns of writes that do not pass through this proxy: \"ttl\" (it does "
             "not; entries live ttl_ms) or, Redis pools only, \"tracking\" (Redis client-side caching: "
             "hot reads go over a RESP3 connection with CLIENT TRACKING ON per worker and server, and "
             "the server's invalidation messages drop entries at once; ttl_ms still bounds them).",
     .apply =
         [](const Setting& policy, HotKeyConfig& hotkey) {
             static constexpr std::string_view names[] = {"ttl", "tracking"};
             if (policy.string() == "ttl") {
                 hotkey.invalidation = Invalidation::ttl;
             } else if (policy.string() == "tracking") {
                 hotkey.invalidation = Invalidation::tracking;
             } else {
                 policy.unknown_name("invalidation", names);
             }
         }},
    {.name = "coalesce",
     .type = ValueType::boolean,
     .default_value = "true",
     .help = "Identical reads of a hot key in flight at the same time in one worker go to the backend "
             "once, and every one of them gets that reply.",
     .apply = [](const Setting& enabled, HotKeyConfig& hotkey) { hotkey.coalesce = enabled.boolean(); }},
    {.name = "spread_replicas",
     .type = ValueType::boolean,
     .default_value = "true",
     .help = "With replicas > 1, reads of hot keys take turns over every replica in service, whatever "
             "read_policy says.",
     .apply = [](const Setting& enabled, HotKeyConfig& hotkey) { hotkey.spread_replicas = enabled.boolean(); }},
};

}  // namespace

std::span<const KeySpec<HotKeyConfig>> hotkey_keys() { return hotkey_table; }

}  // namespace shardproxy::conf
