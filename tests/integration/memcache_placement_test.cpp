// Placement compatibility for memcached fleets, against the real peers:
// - twemproxy: for the same server list, names and weights, shardproxy reads every key from the
//   memcached that nutcracker 0.5 wrote it to (including unnamed servers on port 11211, known by
//   their host alone);
// - libmemcached: with hash = "md5" and ketama, every key lands on the server that libmemcached's
//   weighted ketama (MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED) picks for it.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "support/memcache_client.h"
#include "support/memcached_servers.h"

using namespace shardproxy::testing;

namespace {

constexpr size_t backend_count = 4;
constexpr size_t key_count = 10000;
constexpr size_t batch_size = 500;

// 10,000 distinct valid memcached keys, the same on every run: sequential names, random
// printable keys, keys with bytes >= 0x80, and hash-tagged keys.
const std::vector<std::string>& test_keys() {
    static const std::vector<std::string> keys = [] {
        std::vector<std::string> out;
        std::unordered_set<std::string> seen;
        auto add = [&](std::string key) {
            if (!key.empty() && out.size() < key_count && seen.insert(key).second) out.push_back(std::move(key));
        };
        for (const char* key : {"apple", "a", "{}", "{}x", "x{}", "{x}", "x{y}z", "{user:1}", "\x80", "\xff"}) add(key);
        add(std::string(250, 'L'));
        for (int i = 0; i < 2000; ++i) add("key:" + std::to_string(i));
        std::mt19937 random(20261129);
        auto length = [&] { return std::uniform_int_distribution<int>(1, 48)(random); };
        std::uniform_int_distribution<int> printable(0x21, 0x7e);
        std::uniform_int_distribution<int> high(0x80, 0xff);
        while (out.size() < 6000) {
            std::string key(static_cast<size_t>(length()), ' ');
            for (char& c : key) c = static_cast<char>(printable(random));
            add(std::move(key));
        }
        while (out.size() < 8000) {
            std::string key(static_cast<size_t>(length()), ' ');
            for (char& c : key) c = static_cast<char>(printable(random));
            key[static_cast<size_t>(random()) % key.size()] = static_cast<char>(high(random));
            add(std::move(key));
        }
        for (int n = 0; out.size() < key_count; ++n) add("{user:" + std::to_string(n / 3) + "}:" + std::to_string(n % 3));
        return out;
    }();
    return keys;
}

// Stores every key through `port` with the value `value`, pipelined.
void store_all(int port, const std::string& value) {
    RawConnection connection(port);
    REQUIRE(connection.connected());
    const auto& keys = test_keys();
    for (size_t first = 0; first < keys.size(); first += batch_size) {
        std::string batch;
        const size_t last = std::min(keys.size(), first + batch_size);
        for (size_t i = first; i < last; ++i) {
            batch += "set " + keys[i] + " 0 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\n";
        }
        connection.send(batch);
        const std::string replies = connection.read_lines(last - first, 10000);
        std::string expected;
        for (size_t i = first; i < last; ++i) expected += "STORED\r\n";
        REQUIRE(replies == expected);
    }
}

// How many of `keys` a get through `port` finds with `value`.
size_t count_found(RawConnection& connection, const std::vector<std::string>& keys, const std::string& value) {
    size_t found = 0;
    for (size_t first = 0; first < keys.size(); first += 100) {
        std::string request = "get";
        for (size_t i = first; i < std::min(keys.size(), first + 100); ++i) request += " " + keys[i];
        const std::string reply = connection.exchange(request + "\r\n", "END\r\n", 10000);
        REQUIRE(reply.ends_with("END\r\n"));
        for (size_t at = reply.find("\r\n" + value + "\r\n"); at != std::string::npos;
             at = reply.find("\r\n" + value + "\r\n", at + 1)) {
            ++found;
        }
    }
    return found;
}

// Four loopback addresses 127.x.y.z whose port 11211 is free, so the servers can all listen on
// memcached's default port.
std::vector<std::string> hosts_with_free_11211() {
    std::vector<std::string> hosts;
    std::mt19937 random(static_cast<unsigned>(getpid()));
    for (int attempt = 0; attempt < 200 && hosts.size() < backend_count; ++attempt) {
        const std::string host = "127." + std::to_string(random() % 250 + 2) + "." +
                                 std::to_string(random() % 250 + 1) + "." + std::to_string(random() % 250 + 1);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(11211);
        inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
        const int fd = socket(AF_INET, SOCK_STREAM, 0);
        const bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
        close(fd);
        if (free) hosts.push_back(host);
    }
    REQUIRE(hosts.size() == backend_count);
    return hosts;
}

struct Scenario {
    std::string hash;
    std::string distribution = "ketama";
    std::vector<std::string> names;  // empty: unnamed
    std::vector<int> weights = {1, 1, 1, 1};
    bool hash_tag = false;
    bool port_11211 = false;  // unnamed servers on 127.x.y.z:11211, known by host alone
};

std::string server_entry(const Scenario& s, const MemcachedServer& server, size_t i) {
    return server.address() + ":" + std::to_string(s.weights[i]) + (s.names.empty() ? "" : " " + s.names[i]);
}

void check_same_as_nutcracker(const Scenario& s) {
    std::vector<std::unique_ptr<MemcachedServer>> servers;
    const std::vector<std::string> hosts = s.port_11211 ? hosts_with_free_11211() : std::vector<std::string>{};
    for (size_t i = 0; i < backend_count; ++i) {
        MemcachedOptions options;
        if (s.port_11211) {
            options.host = hosts[i];
            options.port = 11211;
        }
        servers.push_back(std::make_unique<MemcachedServer>(options));
    }
    std::string yaml = "pool:\n  listen: 127.0.0.1:@PORT@\n  hash: " + s.hash + "\n  distribution: " + s.distribution +
                       "\n  auto_eject_hosts: false\n  timeout: 5000\n" + (s.hash_tag ? "  hash_tag: \"{}\"\n" : "") +
                       "  servers:\n";
    std::string toml_servers;
    for (size_t i = 0; i < backend_count; ++i) {
        yaml += "   - " + server_entry(s, *servers[i], i) + "\n";
        toml_servers += (i ? ", \"" : "\"") + server_entry(s, *servers[i], i) + "\"";
    }
    Nutcracker nutcracker(yaml);
    ShardProxy proxy("[proxy]\nworkers = 2\n\n[[listener]]\nlisten = \"127.0.0.1:@PORT@\"\nprotocol = \"memcache\"\n"
                     "pool = \"main\"\n\n[pool.main]\nprotocol = \"memcache\"\nservers = [" + toml_servers + "]\n"
                     "hash = \"" + s.hash + "\"\ndistribution = \"" + s.distribution + "\"\nhash_tag = \"" +
                     (s.hash_tag ? "{}" : "") + "\"\ntimeout_ms = 5000\n");

    store_all(nutcracker.port(), "nc");
    int64_t stored = 0;
    size_t used = 0;
    for (const auto& server : servers) {
        const int64_t items = server->stat("curr_items");
        stored += items;
        used += items > 0 ? 1 : 0;
    }
    REQUIRE(stored == static_cast<int64_t>(key_count));  // each key on exactly one server
    CHECK(used == backend_count);
    RawConnection through_proxy(proxy.port());
    CHECK(count_found(through_proxy, test_keys(), "nc") == key_count);
}

}  // namespace

TEST_CASE("ketama memcache pools place keys as nutcracker does") {
    SUBCASE("fnv1a_64 (the default), named servers, hash tag") {
        check_same_as_nutcracker({.hash = "fnv1a_64", .names = {"server-delta", "b", "alpha", "cc"}, .hash_tag = true});
    }
    SUBCASE("md5, unnamed servers host:port, unequal weights") {
        check_same_as_nutcracker({.hash = "md5", .weights = {1, 2, 3, 1}});
    }
    SUBCASE("murmur, unnamed servers on port 11211 known by host alone, unequal weights") {
        check_same_as_nutcracker({.hash = "murmur", .weights = {2, 1, 1, 3}, .port_11211 = true});
    }
    SUBCASE("modula with crc32a") {
        check_same_as_nutcracker({.hash = "crc32a", .distribution = "modula", .weights = {1, 1, 2, 1}});
    }
}

TEST_CASE("md5 ketama places every key where libmemcached's weighted ketama does") {
    const std::vector<int> weights = {1, 2, 3, 5};
    std::vector<std::unique_ptr<MemcachedServer>> servers;
    std::string toml_servers;
    for (size_t i = 0; i < backend_count; ++i) {
        servers.push_back(std::make_unique<MemcachedServer>());
        toml_servers += (i ? ", \"" : "\"") + servers[i]->address() + ":" + std::to_string(weights[i]) + "\"";
    }
    ShardProxy proxy("[[listener]]\nlisten = \"127.0.0.1:@PORT@\"\nprotocol = \"memcache\"\npool = \"main\"\n\n"
                     "[pool.main]\nprotocol = \"memcache\"\nservers = [" + toml_servers + "]\nhash = \"md5\"\n"
                     "distribution = \"ketama\"\ntimeout_ms = 5000\n");
    store_all(proxy.port(), "sp");

    // libmemcached, configured as an application would be, says where each key belongs.
    memcached_st* library = memcached_create(nullptr);
    REQUIRE(memcached_behavior_set(library, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1) == MEMCACHED_SUCCESS);
    std::map<int, size_t> index_of_port;
    for (size_t i = 0; i < backend_count; ++i) {
        REQUIRE(memcached_server_add_with_weight(library, "127.0.0.1", static_cast<in_port_t>(servers[i]->port()),
                                                 static_cast<uint32_t>(weights[i])) == MEMCACHED_SUCCESS);
        index_of_port[servers[i]->port()] = i;
    }
    std::vector<std::vector<std::string>> expected(backend_count);
    for (const std::string& key : test_keys()) {
        memcached_return_t rc = MEMCACHED_SUCCESS;
        const memcached_instance_st* chosen = memcached_server_by_key(library, key.data(), key.size(), &rc);
        REQUIRE(rc == MEMCACHED_SUCCESS);
        expected[index_of_port.at(static_cast<int>(memcached_server_port(chosen)))].push_back(key);
    }
    memcached_free(library);

    // Each server holds exactly the keys libmemcached assigns it.
    for (size_t i = 0; i < backend_count; ++i) {
        CAPTURE(i);
        CHECK(servers[i]->stat("curr_items") == static_cast<int64_t>(expected[i].size()));
        RawConnection direct = servers[i]->connect();
        CHECK(count_found(direct, expected[i], "sp") == expected[i].size());
    }
}
