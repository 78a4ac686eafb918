#include "proxy/memcache_local_commands.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <string>

#include "proxy/hot_key_stats.h"
#include "proxy/server_stats.h"
#include "proxy/worker.h"

namespace shardproxy::proxy {
namespace {

constexpr std::string_view kMemcachedVersion = "1.6.18";

void add_stat(std::string& text, std::string_view name, uint64_t value) {
    text.append("STAT ").append(name).append(" ").append(std::to_string(value)).append("\r\n");
}

}  // namespace

void append_memcache_version(evbuffer* out) {
    const std::string line =
        "VERSION " + std::string(kMemcachedVersion) + " shardproxy-" SHARDPROXY_VERSION "\r\n";
    evbuffer_add(out, line.data(), line.size());
}

void append_memcache_stats(const Worker& worker, std::span<const std::string_view> tokens,
                           evbuffer* out) {
    const ProxyStats& stats = worker.proxy_stats();
    if (tokens.size() == 2 && tokens[1] == "hotkeys") {
        std::string text;
        for (const HotKeyStatsLine& line : hot_key_stats(stats, worker.topology().config(), kHotKeysShown)) {
            text.append("STAT ").append(line.name).append(" ").append(line.text).append("\r\n");
        }
        text.append("END\r\n");
        evbuffer_add(out, text.data(), text.size());
        return;
    }
    if (tokens.size() > 1) {
        // The proxy has no slabs, items or settings of its own to show.
        evbuffer_add_printf(out, "ERROR\r\n");
        return;
    }
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now() - stats.started).count();
    std::string text;
    add_stat(text, "pid", static_cast<uint64_t>(getpid()));
    add_stat(text, "uptime", static_cast<uint64_t>(uptime));
    add_stat(text, "time", static_cast<uint64_t>(std::time(nullptr)));
    text.append("STAT version ").append(kMemcachedVersion).append("\r\n");
    text.append("STAT shardproxy_version " SHARDPROXY_VERSION "\r\n");
    add_stat(text, "threads", stats.workers.size());
    add_stat(text, "curr_connections", stats.connected_clients.load(std::memory_order_relaxed));
    add_stat(text, "total_connections", stats.total_connections());
    add_stat(text, "rejected_connections", stats.rejected_connections.load(std::memory_order_relaxed));
    add_stat(text, "cmd_total", stats.total_commands());
    add_stat(text, "noreply_failures", stats.total_noreply_failures());
    add_stat(text, "background_write_failures", stats.total_background_write_failures());
    for (const ServerStatsLine& line : server_stats(stats, worker.topology().config())) {
        text.append("STAT server_").append(line.pool).append("_").append(std::to_string(line.index));
        text.append(" ").append(line.text).append("\r\n");
    }
    text.append("END\r\n");
    evbuffer_add(out, text.data(), text.size());
}

}  // namespace shardproxy::proxy
