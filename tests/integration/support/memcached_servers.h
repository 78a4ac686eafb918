#pragma once
// Real memcached processes for integration tests, and N of them behind one real shardproxy with
// a memcache listener (MemcacheCluster, the memcache counterpart of RedisCluster).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/memcache_client.h"
#include "support/processes.h"

namespace shardproxy::testing {

struct MemcachedOptions {
    // Any 127.x.y.z: servers on distinct loopback addresses can share a port, such as 11211,
    // whose servers placement knows by host alone.
    std::string host = "127.0.0.1";
    int port = 0;               // 0: a free loopback port
    bool unix_socket = false;   // listen on a unix socket in the server's directory instead of TCP
    int memory_mb = 64;         // -m
    std::string item_size_max;  // -I, e.g. "2m" or "1048576"; empty: memcached's default (1m)
    int threads = 2;            // -t
    int max_connections = 1024; // -c
    std::vector<std::string> extra_args;  // more command-line arguments, e.g. {"-o", "idle_timeout=5"}
};

// One memcached on 127.0.0.1 (UDP off), started at construction, waited for until it accepts
// connections, and killed (SIGKILL) when it goes away: memcached keeps nothing to lose, and on
// SIGTERM it takes up to a second to exit (its clock tick checks the stop flag).
// Like RedisServer: process() stops (SIGTERM), kills (SIGKILL), pauses (SIGSTOP) and resumes
// (SIGCONT) it; restart() starts it again on the same port, empty.
class MemcachedServer {
public:
    explicit MemcachedServer(const MemcachedOptions& options = {});
    ~MemcachedServer();
    MemcachedServer(const MemcachedServer&) = delete;
    MemcachedServer& operator=(const MemcachedServer&) = delete;

    int port() const { return port_; }  // 0 for a unix socket server
    // "HOST:PORT", or "unix:/path" for a unix socket server: a shardproxy server string.
    std::string address() const;
    const std::string& socket_path() const { return socket_path_; }  // empty for TCP
    Process& process() { return *process_; }
    // Kills the process if it still runs (paused or not), then starts a new one on the same port
    // with the same options, and waits until it accepts connections. For a graceful stop first,
    // call process().stop() before.
    void restart();
    std::string log() const;

    // "stats" (or "stats GROUP", e.g. "settings", "items", "slabs"), asked over a fresh socket:
    // every "STAT name value" line as name -> value. Empty when the server does not answer.
    std::map<std::string, std::string> stats(const std::string& group = "");
    // One numeric counter of "stats", e.g. "cmd_get", "cmd_set", "get_hits", "curr_items",
    // "total_items", "curr_connections", "total_connections", "cmd_flush"; -1 when absent.
    int64_t stat(const std::string& name);

    // A fresh raw connection to the server, bypassing any proxy.
    RawConnection connect() const;

private:
    void start();
    bool wait_until_accepting() const;
    MemcachedOptions options_;
    int port_;
    TempDir dir_;
    std::string socket_path_;
    std::unique_ptr<Process> process_;
};

struct MemcacheClusterOptions {
    int servers = 3;
    std::vector<int> weights;        // per server; empty or missing entries: 1
    std::vector<std::string> names;  // per server; empty: "mc-a", "mc-b", ...; an entry "-": no name
    std::string hash = "fnv1a_64";
    std::string distribution = "ketama";
    std::string hash_tag;            // "" (none) or two characters such as "{}"
    int timeout_ms = 500;
    int workers = 2;
    std::string item_size_max;       // memcached -I for every server; empty: memcached's default
    int memory_mb = 64;              // memcached -m for every server
    std::string extra_proxy;         // more lines for [proxy]
    std::string extra_pool;          // more lines for [pool.main], e.g. "server_connections = 2\n"
};

// The shardproxy TOML for a memcache listener ("127.0.0.1:@PORT@", named "front") in front of
// [pool.main] holding these server addresses ("127.0.0.1:PORT" or "unix:/path").
std::string memcache_proxy_config(const MemcacheClusterOptions& options,
                                  const std::vector<std::string>& addresses);

class MemcacheCluster {
public:
    explicit MemcacheCluster(const MemcacheClusterOptions& options = {});

    ShardProxy& proxy() { return *proxy_; }
    int proxy_port() const { return proxy_->port(); }
    MemcachedServer& server(size_t i) { return *servers_[i]; }
    size_t size() const { return servers_.size(); }
    const std::string& config() const { return config_; }

    // Index of every backend that holds the key (asked directly with "get", not through the proxy).
    std::vector<size_t> holders(const std::string& key);
    // The backend that holds the key, or -1 when none or several do.
    int holder(const std::string& key);
    // Keys ("prefix0", "prefix1", ...) until one lands on each backend, by storing them through
    // the proxy and asking the backends where they went.
    std::vector<std::string> one_key_per_server(const std::string& prefix);
    // Sum of one "stats" counter over all backends.
    int64_t total_stat(const std::string& name);

private:
    std::vector<std::unique_ptr<MemcachedServer>> servers_;
    std::string config_;
    std::unique_ptr<ShardProxy> proxy_;
};

}  // namespace shardproxy::testing
