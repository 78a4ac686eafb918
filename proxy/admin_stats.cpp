#include "proxy/admin_stats.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "proxy/hot_key_stats.h"

namespace shardproxy::proxy {
namespace {

uint64_t uptime_seconds(const ProxyStats& stats) {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - stats.started).count());
}

uint64_t load(const std::atomic<uint64_t>& counter) { return counter.load(std::memory_order_relaxed); }

// Label values: backslash, double quote and line feed escaped, as the exposition format says.
std::string label_value(std::string_view text) {
    std::string escaped;
    for (const char c : text) {
        if (c == '\\' || c == '"') {
            escaped += '\\';
            escaped += c;
        } else if (c == '\n') {
            escaped += "\\n";
        } else {
            escaped += c;
        }
    }
    return escaped;
}

// JSON strings: quotes, backslashes and control bytes escaped; other bytes as they are.
std::string json_string(std::string_view text) {
    std::string escaped = "\"";
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            escaped += '\\';
            escaped += c;
        } else if (byte < 0x20 || byte == 0x7f) {
            char code[8];
            std::snprintf(code, sizeof(code), "\\u%04x", byte);
            escaped += code;
        } else {
            escaped += c;
        }
    }
    return escaped + '"';
}

// One metric family: HELP and TYPE, then its samples.
class Family {
public:
    Family(std::string& out, std::string_view name, std::string_view type, std::string_view help)
        : out_(out), name_(name) {
        out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
        out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    }
    // labels: `pool="main",server="b1"` or empty.
    void sample(const std::string& labels, double value) {
        out_.append(name_);
        if (!labels.empty()) out_.append("{").append(labels).append("}");
        char number[32];
        if (value == std::floor(value) && std::fabs(value) < 1e15) {
            std::snprintf(number, sizeof(number), " %.0f\n", value);
        } else {
            std::snprintf(number, sizeof(number), " %.6g\n", value);
        }
        out_.append(number);
    }

private:
    std::string& out_;
    std::string_view name_;
};

std::string server_labels(const conf::PoolConfig& pool, const conf::ServerConfig& server) {
    return "pool=\"" + label_value(pool.name) + "\",server=\"" + label_value(server.identity) + "\",address=\"" +
           label_value(server.address.to_string()) + "\"";
}

std::string pool_label(const conf::PoolConfig& pool) { return "pool=\"" + label_value(pool.name) + "\""; }

template <class Visit>
void for_each_server(const ProxyStats& stats, const conf::Config& config, Visit visit) {
    for (const conf::PoolConfig& pool : config.pools) {
        for (const conf::ServerConfig& server : pool.servers) visit(pool, server, stats.server(pool, server));
    }
}

template <class Visit>
void for_each_hot_pool(const ProxyStats& stats, const conf::Config& config, Visit visit) {
    for (const conf::PoolConfig& pool : config.pools) {
        if (const HotKeyBoard* board = stats.hot_keys(pool)) visit(pool, *board);
    }
}

struct ServerCounter {
    std::string_view name;
    std::string_view help;
    std::atomic<uint64_t> backends::ServerCounters::*counter;
};

constexpr ServerCounter kServerCounters[] = {
    {"shardproxy_server_failures_total", "Connection errors and timeouts of requests to the server.",
     &backends::ServerCounters::failures},
    {"shardproxy_server_downs_total", "Times a worker marked the server down.", &backends::ServerCounters::downs},
    {"shardproxy_server_probes_total", "Health probes sent to the server while it was down.",
     &backends::ServerCounters::probes},
    {"shardproxy_server_probe_failures_total", "Health probes the server failed.",
     &backends::ServerCounters::probe_failures},
    {"shardproxy_server_refused_total", "Requests refused at once because the server was down.",
     &backends::ServerCounters::refused},
    {"shardproxy_server_failovers_total", "Reads of the server's keys answered by another replica.",
     &backends::ServerCounters::failovers},
};

struct HotKeyCounter {
    std::string_view name;
    std::string_view type;
    std::string_view help;
    std::atomic<uint64_t> HotKeyCounters::*counter;
};

constexpr HotKeyCounter kHotKeyCounters[] = {
    {"shardproxy_hotkey_reads_total", "counter", "Reads of keys found hot.", &HotKeyCounters::hot_reads},
    {"shardproxy_hotkey_cache_hits_total", "counter", "Hot reads answered from the near cache.",
     &HotKeyCounters::cache_hits},
    {"shardproxy_hotkey_fills_total", "counter", "Hot reads sent to a server on behalf of the near cache or joiners.",
     &HotKeyCounters::fills},
    {"shardproxy_hotkey_coalesced_total", "counter", "Hot reads that joined an identical read in flight.",
     &HotKeyCounters::coalesced},
    {"shardproxy_hotkey_spread_reads_total", "counter", "Hot reads sent to a replica in turn.",
     &HotKeyCounters::spread_reads},
    {"shardproxy_hotkey_invalidations_total", "counter", "Invalidation messages from the servers (tracking).",
     &HotKeyCounters::invalidations},
    {"shardproxy_hotkey_cache_entries", "gauge", "Entries in the near caches of all workers.",
     &HotKeyCounters::cache_entries},
    {"shardproxy_hotkey_cache_bytes", "gauge", "Memory charged to the near caches of all workers.",
     &HotKeyCounters::cache_bytes},
    {"shardproxy_hotkey_cache_evictions_total", "counter", "Near-cache entries evicted to stay within max_bytes.",
     &HotKeyCounters::cache_evictions},
};

}  // namespace

std::string prometheus_metrics(const ProxyStats& stats, const conf::Config& config) {
    std::string out;
    Family(out, "shardproxy_build_info", "gauge", "Always 1; the version is a label.")
        .sample("version=\"" SHARDPROXY_VERSION "\"", 1);
    Family(out, "shardproxy_uptime_seconds", "gauge", "Seconds since the proxy started.")
        .sample("", static_cast<double>(uptime_seconds(stats)));
    Family(out, "shardproxy_workers", "gauge", "Event-loop threads.").sample("", static_cast<double>(stats.workers.size()));
    Family(out, "shardproxy_client_connections", "gauge", "Client connections open now.")
        .sample("", stats.connected_clients.load(std::memory_order_relaxed));
    Family(out, "shardproxy_client_connections_accepted_total", "counter", "Client connections accepted.")
        .sample("", static_cast<double>(stats.total_connections()));
    Family(out, "shardproxy_client_connections_rejected_total", "counter",
           "Client connections closed at once: max_client_connections reached.")
        .sample("", static_cast<double>(stats.rejected_connections.load(std::memory_order_relaxed)));
    Family(out, "shardproxy_config_reloads_total", "counter", "Configuration reloads applied (SIGHUP, POST /reload).")
        .sample("", static_cast<double>(stats.reloads.load(std::memory_order_relaxed)));
    Family(out, "shardproxy_config_reload_failures_total", "counter",
           "Configuration reloads refused: the file failed validation or could not be served.")
        .sample("", static_cast<double>(stats.reload_failures.load(std::memory_order_relaxed)));
    Family(out, "shardproxy_config_last_reload_successful", "gauge",
           "1 unless the last reload was refused (then the previous configuration is serving).")
        .sample("", stats.last_reload_ok.load(std::memory_order_relaxed) ? 1 : 0);
    Family(out, "shardproxy_requests_total", "counter", "Client requests parsed, all listeners.")
        .sample("", static_cast<double>(stats.total_commands()));
    Family(out, "shardproxy_noreply_failures_total", "counter",
           "memcached noreply requests that failed (the client hears nothing of them).")
        .sample("", static_cast<double>(stats.total_noreply_failures()));
    Family(out, "shardproxy_background_write_failures_total", "counter",
           "Replica writes that failed after the client was answered (write_policy quorum or one).")
        .sample("", static_cast<double>(stats.total_background_write_failures()));

    const double workers = static_cast<double>(stats.workers.size());
    {
        Family up(out, "shardproxy_server_up", "gauge",
                  "Share of workers that have the server in service: 1 up, 0 marked down in every worker.");
        for_each_server(stats, config, [&](const auto& pool, const auto& server, const backends::ServerCounters& counters) {
            const double down = counters.down_workers.load(std::memory_order_relaxed);
            up.sample(server_labels(pool, server), workers > 0 ? (workers - std::min(down, workers)) / workers : 1);
        });
    }
    for (const ServerCounter& counter : kServerCounters) {
        Family family(out, counter.name, "counter", counter.help);
        for_each_server(stats, config, [&](const auto& pool, const auto& server, const backends::ServerCounters& counters) {
            family.sample(server_labels(pool, server), static_cast<double>(load(counters.*counter.counter)));
        });
    }
    bool any_hot_pool = false;
    for_each_hot_pool(stats, config, [&](const auto&, const auto&) { any_hot_pool = true; });
    if (!any_hot_pool) return out;
    for (const HotKeyCounter& counter : kHotKeyCounters) {
        Family family(out, counter.name, counter.type, counter.help);
        for_each_hot_pool(stats, config, [&](const conf::PoolConfig& pool, const HotKeyBoard& board) {
            family.sample(pool_label(pool), static_cast<double>(board.total(counter.counter)));
        });
    }
    Family rate(out, "shardproxy_hotkey_reads_per_second", "gauge",
                "Estimated reads per second of each hot key through the proxy (the hottest, at most 20 per pool).");
    for_each_hot_pool(stats, config, [&](const conf::PoolConfig& pool, const HotKeyBoard& board) {
        const std::vector<HotKeyReport> keys = board.hot_keys();
        for (size_t i = 0; i < keys.size() && i < kHotKeysShown; ++i) {
            rate.sample(pool_label(pool) + ",key=\"" + label_value(keys[i].key) + "\"", std::round(keys[i].rate));
        }
    });
    return out;
}

std::string stats_json(const ProxyStats& stats, const conf::Config& config) {
    const uint32_t workers = static_cast<uint32_t>(stats.workers.size());
    std::string out = "{\"version\":\"" SHARDPROXY_VERSION "\"";
    out += ",\"uptime_seconds\":" + std::to_string(uptime_seconds(stats));
    out += ",\"workers\":" + std::to_string(workers);
    out += ",\"client_connections\":" + std::to_string(stats.connected_clients.load(std::memory_order_relaxed));
    out += ",\"client_connections_accepted\":" + std::to_string(stats.total_connections());
    out += ",\"client_connections_rejected\":" + std::to_string(stats.rejected_connections.load(std::memory_order_relaxed));
    out += ",\"reloads\":" + std::to_string(stats.reloads.load(std::memory_order_relaxed));
    out += ",\"reload_failures\":" + std::to_string(stats.reload_failures.load(std::memory_order_relaxed));
    out += ",\"requests\":" + std::to_string(stats.total_commands());
    out += ",\"noreply_failures\":" + std::to_string(stats.total_noreply_failures());
    out += ",\"background_write_failures\":" + std::to_string(stats.total_background_write_failures());
    out += ",\"pools\":[";
    for (size_t pool = 0; pool < config.pools.size(); ++pool) {
        const conf::PoolConfig& pool_config = config.pools[pool];
        if (pool > 0) out += ',';
        out += "{\"name\":" + json_string(pool_config.name) + ",\"servers\":[";
        for (size_t server = 0; server < pool_config.servers.size(); ++server) {
            const backends::ServerCounters& counters = stats.server(pool_config, pool_config.servers[server]);
            const uint32_t down = counters.down_workers.load(std::memory_order_relaxed);
            if (server > 0) out += ',';
            out += "{\"name\":" + json_string(pool_config.servers[server].identity);
            out += ",\"address\":" + json_string(pool_config.servers[server].address.to_string());
            out += std::string(",\"state\":\"") + (down == 0 ? "up" : down >= workers ? "down" : "partly_down") + "\"";
            out += ",\"failures\":" + std::to_string(load(counters.failures));
            out += ",\"downs\":" + std::to_string(load(counters.downs));
            out += ",\"probes\":" + std::to_string(load(counters.probes));
            out += ",\"probe_failures\":" + std::to_string(load(counters.probe_failures));
            out += ",\"refused\":" + std::to_string(load(counters.refused));
            out += ",\"failovers\":" + std::to_string(load(counters.failovers)) + "}";
        }
        out += "]";
        if (const HotKeyBoard* hot = stats.hot_keys(pool_config)) {
            const HotKeyBoard& board = *hot;
            out += ",\"hotkeys\":{";
            for (const HotKeyCounter& counter : kHotKeyCounters) {
                std::string_view name = counter.name.substr(std::string_view("shardproxy_hotkey_").size());
                if (name.ends_with("_total")) name.remove_suffix(std::string_view("_total").size());
                out += "\"" + std::string(name) + "\":" + std::to_string(board.total(counter.counter)) + ",";
            }
            out += "\"keys\":[";
            const std::vector<HotKeyReport> keys = board.hot_keys();
            for (size_t i = 0; i < keys.size() && i < kHotKeysShown; ++i) {
                if (i > 0) out += ',';
                out += "{\"key\":" + json_string(keys[i].key) + ",\"rate\":" + std::to_string(std::llround(keys[i].rate)) + "}";
            }
            out += "]}";
        }
        out += "}";
    }
    out += "]}\n";
    return out;
}

Readiness readiness(const ProxyStats& stats, const conf::Config& config, bool draining) {
    if (draining) return {false, "draining: shutting down"};
    const auto workers = static_cast<uint32_t>(stats.workers.size());
    for (const conf::PoolConfig& pool : config.pools) {
        bool any_up = false;
        for (const conf::ServerConfig& server : pool.servers) {
            any_up = any_up || stats.server(pool, server).down_workers.load(std::memory_order_relaxed) < workers;
        }
        if (!any_up) return {false, "pool " + pool.name + " has no server up"};
    }
    return {true, ""};
}

}  // namespace shardproxy::proxy
