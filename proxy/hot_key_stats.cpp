#include "proxy/hot_key_stats.h"

#include <cmath>

namespace shardproxy::proxy {
namespace {

// Keys may hold any byte; the stats line format may not hold spaces, commas or equals signs.
std::string printable(std::string_view key) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string text;
    for (const char c : key) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= ' ' || byte >= 0x7f || c == ',' || c == '=' || c == '\\') {
            text.append("\\x").push_back(kHex[byte >> 4]);
            text.push_back(kHex[byte & 15]);
        } else {
            text.push_back(c);
        }
    }
    return text;
}

std::string actions(const conf::PoolConfig& pool) {
    std::string text;
    auto add = [&](bool on, std::string_view name) {
        if (!on) return;
        if (!text.empty()) text += '+';
        text += name;
    };
    add(pool.hotkey.near_cache, "near_cache");
    add(pool.hotkey.coalesce, "coalesce");
    add(pool.hotkey.spread_replicas && pool.replicas > 1 && pool.on_down == conf::OnDown::failover, "spread");
    return text.empty() ? "none" : text;
}

}  // namespace

std::vector<HotKeyStatsLine> hot_key_stats(const ProxyStats& stats, const conf::Config& config, size_t max_keys) {
    std::vector<HotKeyStatsLine> lines;
    for (const conf::PoolConfig& pool_config : config.pools) {
        const HotKeyBoard* board = stats.hot_keys(pool_config);
        if (board == nullptr) continue;
        auto total = [&](std::atomic<uint64_t> HotKeyCounters::*counter) {
            return std::to_string(board->total(counter));
        };
        const std::vector<HotKeyReport> keys = board->hot_keys();
        lines.push_back({"hotkeys_" + pool_config.name,
                         "hot_keys=" + std::to_string(keys.size()) + ",hot_reads=" + total(&HotKeyCounters::hot_reads) +
                             ",cache_hits=" + total(&HotKeyCounters::cache_hits) +
                             ",fills=" + total(&HotKeyCounters::fills) +
                             ",coalesced=" + total(&HotKeyCounters::coalesced) +
                             ",spread_reads=" + total(&HotKeyCounters::spread_reads) +
                             ",invalidations=" + total(&HotKeyCounters::invalidations) +
                             ",cache_entries=" + total(&HotKeyCounters::cache_entries) +
                             ",cache_bytes=" + total(&HotKeyCounters::cache_bytes) +
                             ",cache_evictions=" + total(&HotKeyCounters::cache_evictions) +
                             ",actions=" + actions(pool_config)});
        for (size_t i = 0; i < keys.size() && i < max_keys; ++i) {
            lines.push_back({"hotkey_" + pool_config.name + "_" + std::to_string(i),
                             "key=" + printable(keys[i].key) +
                                 ",rate=" + std::to_string(std::llround(keys[i].rate))});
        }
    }
    return lines;
}

}  // namespace shardproxy::proxy
