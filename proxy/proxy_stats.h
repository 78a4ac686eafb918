#pragma once
// Process-wide and per-worker counters. A worker's counters are written only by that worker
// (relaxed load+store, no locked instruction on the request path) and read by anyone.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/server_health.h"
#include "conf/config.h"
#include "proxy/hot_key_board.h"
#include "proxy/listener_traffic.h"

namespace shardproxy::proxy {

class WorkerStats {
public:
    void bump_commands() { add(commands_, 1); }
    void bump_connections() { add(connections_, 1); }
    void bump_noreply_failures() { add(noreply_failures_, 1); }
    void bump_background_write_failures() { add(background_write_failures_, 1); }
    uint64_t commands() const { return commands_.load(std::memory_order_relaxed); }
    uint64_t connections() const { return connections_.load(std::memory_order_relaxed); }
    uint64_t noreply_failures() const { return noreply_failures_.load(std::memory_order_relaxed); }
    uint64_t background_write_failures() const {
        return background_write_failures_.load(std::memory_order_relaxed);
    }

private:
    static void add(std::atomic<uint64_t>& counter, uint64_t delta) {
        counter.store(counter.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
    }
    std::atomic<uint64_t> commands_{0};
    std::atomic<uint64_t> connections_{0};
    std::atomic<uint64_t> noreply_failures_{0};  // memcached noreply requests that failed
    // Replica writes that failed after the client had its answer (write_policy quorum, one).
    std::atomic<uint64_t> background_write_failures_{0};
};

class ProxyStats {
public:
    explicit ProxyStats(uint32_t worker_count);

    // Makes the counters `config` needs that do not exist yet. Counters are kept by pool and
    // server name for the life of the process: a reload neither resets the counters of a server
    // it keeps nor frees what a worker of the old configuration still points to.
    void prepare(const conf::Config& config);
    // The server's counters, shared by the workers; prepare() made them.
    backends::ServerCounters& server(const conf::PoolConfig& pool, const conf::ServerConfig& server) const;
    // The pool's hot-key board, or null when the pool has no hot-key handling.
    HotKeyBoard* hot_keys(const conf::PoolConfig& pool) const;
    // The listener's counters, one per worker; prepare() made them.
    ListenerTraffic* listener(const conf::ListenerConfig& listener) const;

    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::vector<std::unique_ptr<WorkerStats>> workers;
    // Shared by all workers, touched only when a client connects or leaves.
    std::atomic<uint32_t> connected_clients{0};
    std::atomic<uint64_t> rejected_connections{0};
    // Configuration reloads applied and refused, and whether the last one was applied.
    std::atomic<uint64_t> reloads{0};
    std::atomic<uint64_t> reload_failures{0};
    std::atomic<bool> last_reload_ok{true};

    uint64_t total_commands() const {
        uint64_t sum = 0;
        for (const auto& worker : workers) sum += worker->commands();
        return sum;
    }
    uint64_t total_connections() const {
        uint64_t sum = 0;
        for (const auto& worker : workers) sum += worker->connections();
        return sum;
    }
    uint64_t total_background_write_failures() const {
        uint64_t sum = 0;
        for (const auto& worker : workers) sum += worker->background_write_failures();
        return sum;
    }
    uint64_t total_noreply_failures() const {
        uint64_t sum = 0;
        for (const auto& worker : workers) sum += worker->noreply_failures();
        return sum;
    }

private:
    struct PoolCounters {
        std::map<std::string, std::unique_ptr<backends::ServerCounters>, std::less<>> servers;  // by identity
        std::unique_ptr<HotKeyBoard> hot_keys;
    };
    mutable std::mutex mutex_;  // for the maps only: counters are read and written without it
    std::map<std::string, PoolCounters, std::less<>> pools_;
    std::map<std::string, std::unique_ptr<ListenerTraffic[]>, std::less<>> listeners_;
};

}  // namespace shardproxy::proxy
