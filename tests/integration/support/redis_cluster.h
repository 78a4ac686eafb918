#pragma once
// N real redis-servers behind one real shardproxy, for tests that drive the proxy as a client
// would and check on the backends where things went.
#include <memory>
#include <string>
#include <vector>

#include "support/processes.h"

namespace shardproxy::testing {

struct RedisClusterOptions {
    int servers = 3;
    int workers = 2;
    std::string hash = "fnv1a_64";
    std::string distribution = "ketama";
    std::string hash_tag = "{}";
    int timeout_ms = 500;
    std::string extra_proxy;  // more lines for [proxy]
    std::string extra_pool;   // more lines after [pool.main]'s keys (may open [pool.main.health])
};

class RedisCluster {
public:
    explicit RedisCluster(const RedisClusterOptions& options = {});

    ShardProxy& proxy() { return *proxy_; }
    int proxy_port() const { return proxy_->port(); }
    RedisServer& server(size_t i) { return *servers_[i]; }
    size_t size() const { return servers_.size(); }
    const std::string& config() const { return config_; }

    // Index of every backend that holds the key (asked directly, not through the proxy).
    std::vector<size_t> holders(const std::string& key);
    // The backend that holds the key, or -1 when none or several do.
    int holder(const std::string& key);
    // Keys ("prefix0", "prefix1", ...) until one lands on each backend, by asking the proxy to
    // SET them and the backends where they went.
    std::vector<std::string> one_key_per_server(const std::string& prefix);

private:
    std::vector<std::unique_ptr<RedisServer>> servers_;
    std::string config_;
    std::unique_ptr<ShardProxy> proxy_;
};

}  // namespace shardproxy::testing
