#include "support/redis_cluster.h"

#include <stdexcept>

namespace shardproxy::testing {

RedisCluster::RedisCluster(const RedisClusterOptions& options) {
    std::string servers;
    for (int i = 0; i < options.servers; ++i) {
        servers_.push_back(std::make_unique<RedisServer>());
        servers += (i ? ", " : "") + std::string("\"") + servers_.back()->address() + ":1 cache-" +
                   static_cast<char>('a' + i) + "\"";
    }
    config_ = "[proxy]\nworkers = " + std::to_string(options.workers) + "\n" + options.extra_proxy +
              "\n\n[[listener]]\nname = \"front\"\nlisten = \"127.0.0.1:@PORT@\"\n"
              "protocol = \"redis\"\npool = \"main\"\n\n"
              "[pool.main]\nprotocol = \"redis\"\nservers = [" + servers + "]\n"
              "hash = \"" + options.hash + "\"\ndistribution = \"" + options.distribution + "\"\n"
              "hash_tag = \"" + options.hash_tag + "\"\ntimeout_ms = " +
              std::to_string(options.timeout_ms) + "\n" + options.extra_pool;
    proxy_ = std::make_unique<ShardProxy>(config_);
}

std::vector<size_t> RedisCluster::holders(const std::string& key) {
    std::vector<size_t> found;
    for (size_t i = 0; i < servers_.size(); ++i) {
        Client direct(servers_[i]->port());
        ReplyPtr reply = direct.command({"EXISTS", key});
        if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) found.push_back(i);
    }
    return found;
}

int RedisCluster::holder(const std::string& key) {
    const auto found = holders(key);
    return found.size() == 1 ? static_cast<int>(found[0]) : -1;
}

std::vector<std::string> RedisCluster::one_key_per_server(const std::string& prefix) {
    std::vector<std::string> keys(servers_.size());
    size_t covered = 0;
    Client client(proxy_port());
    for (int n = 0; n < 10000 && covered < servers_.size(); ++n) {
        const std::string key = prefix + std::to_string(n);
        client.command({"SET", key, "probe"});
        const int where = holder(key);
        client.command({"DEL", key});
        if (where >= 0 && keys[static_cast<size_t>(where)].empty()) {
            keys[static_cast<size_t>(where)] = key;
            ++covered;
        }
    }
    if (covered < servers_.size()) throw std::runtime_error("no key found for some backend");
    return keys;
}

}  // namespace shardproxy::testing
