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
    void sample(const std::string& labels, double value) { sample_as(name_, labels, value); }
    // A histogram: its _bucket samples (cumulative, bounds in seconds), _sum and _count.
    void histogram(const std::string& labels, const std::vector<const backends::LatencyHistogram*>& workers) {
        const std::string name(name_);
        const std::string separator = labels.empty() ? "" : ",";
        uint64_t cumulative = 0;
        uint64_t sum_us = 0;
        for (size_t bucket = 0; bucket <= backends::kLatencyBoundsUs.size(); ++bucket) {
            for (const backends::LatencyHistogram* histogram : workers) cumulative += histogram->bucket(bucket);
            char bound[32] = "+Inf";
            if (bucket < backends::kLatencyBoundsUs.size()) {
                std::snprintf(bound, sizeof(bound), "%g", static_cast<double>(backends::kLatencyBoundsUs[bucket]) / 1e6);
            }
            sample_as(name + "_bucket", labels + separator + "le=\"" + bound + "\"", static_cast<double>(cumulative));
        }
        for (const backends::LatencyHistogram* histogram : workers) sum_us += histogram->sum_us();
        sample_as(name + "_sum", labels, static_cast<double>(sum_us) / 1e6);
        sample_as(name + "_count", labels, static_cast<double>(cumulative));
    }

private:
    void sample_as(std::string_view name, const std::string& labels, double value) {
        out_.append(name);
        if (!labels.empty()) out_.append("{").append(labels).append("}");
        char number[32];
        if (value == std::floor(value) && std::fabs(value) < 1e15) {
            std::snprintf(number, sizeof(number), " %.0f\n", value);
        } else {
            std::snprintf(number, sizeof(number), " %.6g\n", value);
        }
        out_.append(number);
    }

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

std::string listener_label(const conf::ListenerConfig& listener) {
    return "listener=\"" + label_value(listener.name) + "\"";
}

// The sum over the workers of one counter of their per-worker sets.
template <class Traffic>
uint64_t sum_workers(const Traffic* traffic, size_t workers, const backends::WorkerCounter Traffic::*counter) {
    uint64_t sum = 0;
    for (size_t i = 0; i < workers; ++i) sum += (traffic[i].*counter).load();
    return sum;
}

// The sum over the workers of one counter of a per-kind array (requests by class, errors by kind).
template <size_t N>
uint64_t sum_workers(const ListenerTraffic* traffic, size_t workers,
                     const std::array<backends::WorkerCounter, N> ListenerTraffic::*counters, size_t kind) {
    uint64_t sum = 0;
    for (size_t i = 0; i < workers; ++i) sum += (traffic[i].*counters)[kind].load();
    return sum;
}

template <class Traffic>
std::vector<const backends::LatencyHistogram*> worker_latencies(const Traffic* traffic, size_t workers) {
    std::vector<const backends::LatencyHistogram*> out;
    for (size_t i = 0; i < workers; ++i) out.push_back(&traffic[i].latency);
    return out;
}

struct ServerTrafficCounter {
    std::string_view name;
    std::string_view help;
    backends::WorkerCounter backends::ServerTraffic::*counter;
};

constexpr ServerTrafficCounter kServerTrafficCounters[] = {
    {"shardproxy_server_requests_total", "Requests sent to the server, health probes included.",
     &backends::ServerTraffic::requests},
    {"shardproxy_server_errors_total",
     "Requests the proxy failed because of the server: refused while down, connection lost, unreadable reply.",
     &backends::ServerTraffic::errors},
    {"shardproxy_server_timeouts_total", "Requests to the server answered with a timeout error.",
     &backends::ServerTraffic::timeouts},
    {"shardproxy_server_sent_bytes_total", "Bytes written to the server.", &backends::ServerTraffic::bytes_sent},
    {"shardproxy_server_received_bytes_total", "Bytes read from the server.", &backends::ServerTraffic::bytes_received},
};

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

namespace {

void write_listener_metrics(std::string& out, const ProxyStats& stats, const conf::Config& config) {
    const size_t workers = stats.workers.size();
    {
        Family requests(out, "shardproxy_listener_requests_total", "counter",
                        "Client requests by class: read, write, local (answered by the proxy), other.");
        for (const conf::ListenerConfig& listener : config.listeners) {
            const ListenerTraffic* traffic = stats.listener(listener);
            for (size_t kind = 0; kind < kRequestClassNames.size(); ++kind) {
                const uint64_t sum = sum_workers(traffic, workers, &ListenerTraffic::requests, kind);
                requests.sample(listener_label(listener) + ",class=\"" + std::string(kRequestClassNames[kind]) + "\"",
                                static_cast<double>(sum));
            }
        }
    }
    {
        Family errors(out, "shardproxy_listener_errors_total", "counter",
                      "Error replies to clients by kind: request (refused by the proxy), backend (no answer from a server).");
        for (const conf::ListenerConfig& listener : config.listeners) {
            const ListenerTraffic* traffic = stats.listener(listener);
            for (size_t kind = 0; kind < kErrorKindNames.size(); ++kind) {
                const uint64_t sum = sum_workers(traffic, workers, &ListenerTraffic::errors, kind);
                errors.sample(listener_label(listener) + ",kind=\"" + std::string(kErrorKindNames[kind]) + "\"",
                              static_cast<double>(sum));
            }
        }
    }
    struct ListenerCounter {
        std::string_view name;
        std::string_view help;
        backends::WorkerCounter ListenerTraffic::*counter;
    };
    static constexpr ListenerCounter kCounters[] = {
        {"shardproxy_listener_connections_accepted_total", "Client connections accepted.", &ListenerTraffic::connections},
        {"shardproxy_listener_received_bytes_total", "Bytes read from clients.", &ListenerTraffic::bytes_received},
        {"shardproxy_listener_sent_bytes_total", "Bytes written to clients.", &ListenerTraffic::bytes_sent},
    };
    for (const ListenerCounter& counter : kCounters) {
        Family family(out, counter.name, "counter", counter.help);
        for (const conf::ListenerConfig& listener : config.listeners) {
            family.sample(listener_label(listener),
                          static_cast<double>(sum_workers(stats.listener(listener), workers, counter.counter)));
        }
    }
    Family latency(out, "shardproxy_listener_request_duration_seconds", "histogram",
                   "From the event-loop turn a request was read to the turn its reply was written to the client.");
    for (const conf::ListenerConfig& listener : config.listeners) {
        latency.histogram(listener_label(listener), worker_latencies(stats.listener(listener), workers));
    }
}

// ",\"latency_sum_us\":S,\"latency_count\":N": what a page needs for the mean over an interval.
std::string latency_json(const std::vector<const backends::LatencyHistogram*>& workers) {
    uint64_t sum = 0;
    uint64_t count = 0;
    for (const backends::LatencyHistogram* histogram : workers) {
        sum += histogram->sum_us();
        count += histogram->count();
    }
    return ",\"latency_sum_us\":" + std::to_string(sum) + ",\"latency_count\":" + std::to_string(count);
}

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
    const size_t worker_count = stats.workers.size();
    for (const ServerTrafficCounter& counter : kServerTrafficCounters) {
        Family family(out, counter.name, "counter", counter.help);
        for_each_server(stats, config, [&](const auto& pool, const auto& server, const backends::ServerCounters& counters) {
            family.sample(server_labels(pool, server),
                          static_cast<double>(sum_workers(counters.traffic.get(), worker_count, counter.counter)));
        });
    }
    {
        Family latency(out, "shardproxy_server_request_duration_seconds", "histogram",
                       "From the event-loop turn a request was sent to the server to the turn its reply arrived.");
        for_each_server(stats, config, [&](const auto& pool, const auto& server, const backends::ServerCounters& counters) {
            latency.histogram(server_labels(pool, server), worker_latencies(counters.traffic.get(), worker_count));
        });
    }
    write_listener_metrics(out, stats, config);
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
    out += ",\"listeners\":[";
    for (size_t i = 0; i < config.listeners.size(); ++i) {
        const conf::ListenerConfig& listener = config.listeners[i];
        const ListenerTraffic* traffic = stats.listener(listener);
        if (i > 0) out += ',';
        out += "{\"name\":" + json_string(listener.name) + ",\"listen\":" + json_string(listener.listen.to_string());
        uint64_t total = 0;
        std::string by_class;
        for (size_t kind = 0; kind < kRequestClassNames.size(); ++kind) {
            const uint64_t sum = sum_workers(traffic, workers, &ListenerTraffic::requests, kind);
            total += sum;
            by_class += std::string(kind ? "," : "") + "\"" + std::string(kRequestClassNames[kind]) + "\":" + std::to_string(sum);
        }
        out += ",\"requests\":" + std::to_string(total) + ",\"requests_by_class\":{" + by_class + "}";
        out += ",\"errors\":{";
        for (size_t kind = 0; kind < kErrorKindNames.size(); ++kind) {
            const uint64_t sum = sum_workers(traffic, workers, &ListenerTraffic::errors, kind);
            out += std::string(kind ? "," : "") + "\"" + std::string(kErrorKindNames[kind]) + "\":" + std::to_string(sum);
        }
        out += "},\"connections_accepted\":" + std::to_string(sum_workers(traffic, workers, &ListenerTraffic::connections));
        out += ",\"bytes_received\":" + std::to_string(sum_workers(traffic, workers, &ListenerTraffic::bytes_received));
        out += ",\"bytes_sent\":" + std::to_string(sum_workers(traffic, workers, &ListenerTraffic::bytes_sent));
        out += latency_json(worker_latencies(traffic, workers)) + "}";
    }
    out += "],\"pools\":[";
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
            out += ",\"failovers\":" + std::to_string(load(counters.failovers));
            const backends::ServerTraffic* traffic = counters.traffic.get();
            for (const auto& [name, counter] : {std::pair{"requests", &backends::ServerTraffic::requests},
                                                {"errors", &backends::ServerTraffic::errors},
                                                {"timeouts", &backends::ServerTraffic::timeouts},
                                                {"bytes_sent", &backends::ServerTraffic::bytes_sent},
                                                {"bytes_received", &backends::ServerTraffic::bytes_received}}) {
                out += ",\"" + std::string(name) + "\":" + std::to_string(sum_workers(traffic, workers, counter));
            }
            out += latency_json(worker_latencies(traffic, workers)) + "}";
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
