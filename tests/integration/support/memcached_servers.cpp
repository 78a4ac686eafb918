#include "support/memcached_servers.h"

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/memcache_client.h"

namespace shardproxy::testing {
namespace {

}  // namespace

RawConnection MemcachedServer::connect() const {
    return socket_path_.empty() ? RawConnection(options_.host, port_) : RawConnection(socket_path_);
}

bool MemcachedServer::wait_until_accepting() const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
        if (connect().connected()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

MemcachedServer::MemcachedServer(const MemcachedOptions& options)
    : options_(options), port_(options.unix_socket ? 0 : (options.port == 0 ? free_port() : options.port)) {
    if (options_.unix_socket) socket_path_ = dir_.file("memcached.sock");
    start();
}

std::string MemcachedServer::address() const {
    return socket_path_.empty() ? options_.host + ":" + std::to_string(port_) : "unix:" + socket_path_;
}

void MemcachedServer::start() {
    std::vector<std::string> argv{"memcached", "-U", "0", "-m", std::to_string(options_.memory_mb),
                                  "-t", std::to_string(options_.threads), "-c",
                                  std::to_string(options_.max_connections)};
    if (socket_path_.empty()) {
        argv.insert(argv.end(), {"-l", options_.host, "-p", std::to_string(port_)});
    } else {
        argv.insert(argv.end(), {"-s", socket_path_, "-a", "0700"});
    }
    if (!options_.item_size_max.empty()) argv.insert(argv.end(), {"-I", options_.item_size_max});
    // memcached refuses to start as root unless told which user to run as.
    if (geteuid() == 0) {
        const passwd* user = getpwuid(geteuid());
        argv.insert(argv.end(), {"-u", user != nullptr ? user->pw_name : "root"});
    }
    argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
    process_ = std::make_unique<Process>(argv, dir_.file("memcached.log"));
    const bool up = wait_until_accepting();
    if (!up) throw std::runtime_error("memcached did not start on " + address() + "; its log:\n" + log());
}

MemcachedServer::~MemcachedServer() {
    if (process_) process_->kill_hard();
}

void MemcachedServer::restart() {
    process_->kill_hard();
    start();
}

std::string MemcachedServer::log() const {
    std::ifstream in(dir_.file("memcached.log"));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::map<std::string, std::string> MemcachedServer::stats(const std::string& group) {
    std::map<std::string, std::string> found;
    RawConnection connection = connect();
    if (!connection.connected()) return found;
    const std::string reply =
        connection.exchange(group.empty() ? "stats\r\n" : "stats " + group + "\r\n", "END\r\n", 2000);
    std::istringstream lines(reply);
    std::string line;
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.starts_with("STAT ")) continue;
        const size_t space = line.find(' ', 5);
        if (space == std::string::npos) continue;
        found[line.substr(5, space - 5)] = line.substr(space + 1);
    }
    return found;
}

int64_t MemcachedServer::stat(const std::string& name) {
    const auto all = stats();
    const auto found = all.find(name);
    if (found == all.end()) return -1;
    try {
        return std::stoll(found->second);
    } catch (const std::exception&) {
        return -1;
    }
}

std::string memcache_proxy_config(const MemcacheClusterOptions& options,
                                  const std::vector<std::string>& addresses) {
    std::string servers;
    for (size_t i = 0; i < addresses.size(); ++i) {
        const int weight = i < options.weights.size() ? options.weights[i] : 1;
        std::string name = i < options.names.size() ? options.names[i]
                                                    : std::string("mc-") + static_cast<char>('a' + i);
        std::string entry = addresses[i] + ":" + std::to_string(weight);
        if (name != "-" && !name.empty()) entry += " " + name;
        servers += (i ? ",\n           \"" : "\"") + entry + "\"";
    }
    return "[proxy]\nworkers = " + std::to_string(options.workers) + "\n" + options.extra_proxy +
           "\n\n[[listener]]\nname = \"front\"\nlisten = \"127.0.0.1:@PORT@\"\n"
           "protocol = \"memcache\"\npool = \"main\"\n\n"
           "[pool.main]\nprotocol = \"memcache\"\nservers = [" + servers + "]\n"
           "hash = \"" + options.hash + "\"\ndistribution = \"" + options.distribution + "\"\n"
           "hash_tag = \"" + options.hash_tag + "\"\ntimeout_ms = " + std::to_string(options.timeout_ms) +
           "\n" + options.extra_pool;
}

MemcacheCluster::MemcacheCluster(const MemcacheClusterOptions& options) {
    std::vector<std::string> addresses;
    for (int i = 0; i < options.servers; ++i) {
        MemcachedOptions server;
        server.item_size_max = options.item_size_max;
        server.memory_mb = options.memory_mb;
        servers_.push_back(std::make_unique<MemcachedServer>(server));
        addresses.push_back(servers_.back()->address());
    }
    config_ = memcache_proxy_config(options, addresses);
    proxy_ = std::make_unique<ShardProxy>(config_);
}

std::vector<size_t> MemcacheCluster::holders(const std::string& key) {
    std::vector<size_t> found;
    for (size_t i = 0; i < servers_.size(); ++i) {
        const std::string reply = raw_exchange_until(servers_[i]->port(), "get " + key + "\r\n", "END\r\n");
        if (reply.starts_with("VALUE ")) found.push_back(i);
    }
    return found;
}

int MemcacheCluster::holder(const std::string& key) {
    const auto found = holders(key);
    return found.size() == 1 ? static_cast<int>(found[0]) : -1;
}

std::vector<std::string> MemcacheCluster::one_key_per_server(const std::string& prefix) {
    std::vector<std::string> keys(servers_.size());
    size_t covered = 0;
    MemcacheClient client(proxy_port());
    for (int n = 0; n < 10000 && covered < servers_.size(); ++n) {
        const std::string key = prefix + std::to_string(n);
        client.set(key, "probe");
        const int where = holder(key);
        client.del(key);
        if (where >= 0 && keys[static_cast<size_t>(where)].empty()) {
            keys[static_cast<size_t>(where)] = key;
            ++covered;
        }
    }
    if (covered < servers_.size()) throw std::runtime_error("no key found for some backend");
    return keys;
}

int64_t MemcacheCluster::total_stat(const std::string& name) {
    int64_t total = 0;
    for (const auto& server : servers_) {
        const int64_t value = server->stat(name);
        if (value > 0) total += value;
    }
    return total;
}

}  // namespace shardproxy::testing
