#pragma once
// Hot keys as the stats commands show them (INFO's "hotkeys" section, memcached's
// "stats hotkeys"): per pool with hot-key handling, its counters summed over the workers, and
// its hot keys with their rates through the whole proxy and what is done with them.
#include <string>
#include <vector>

#include "conf/config.h"
#include "proxy/proxy_stats.h"

namespace shardproxy::proxy {

struct HotKeyStatsLine {
    std::string name;  // "hotkeys_main", "hotkey_main_0", ...
    std::string text;  // "key=user:1,rate=5120,action=near_cache+coalesce"; no spaces
};

// The stats commands show this many hot keys per pool at most.
inline constexpr size_t kHotKeysShown = 20;

// At most `max_keys` hot keys per pool, hottest first.
std::vector<HotKeyStatsLine> hot_key_stats(const ProxyStats& stats, const conf::Config& config, size_t max_keys);

}  // namespace shardproxy::proxy
