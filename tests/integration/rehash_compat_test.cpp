// on_down = "rehash" against the real thing: while a server is out, shardproxy places keys where
// nutcracker 0.5 with auto_eject_hosts places them, for the same servers, names and weights.
//
// One of four redis-servers is killed and both proxies eject it (nutcracker after
// server_failure_limit failures, shardproxy after failure_limit). Then 5,000 keys are written
// through nutcracker, onto the three servers left, and must all read back through shardproxy.
// Once the server is back and answers shardproxy's probe, shardproxy places keys on the full
// ring again.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/processes.h"

using namespace shardproxy::testing;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t server_count = 4;
constexpr size_t key_count = 5000;

struct Scenario {
    std::string hash;
    std::string distribution = "ketama";
    std::vector<int> weights = {1, 1, 1, 1};
    bool named = true;
};

std::string server_entry(const Scenario& s, const RedisServer& server, size_t i) {
    static const char* names[] = {"server-delta", "b", "alpha", "cc"};
    return server.address() + ":" + std::to_string(s.weights[i]) + (s.named ? std::string(" ") + names[i] : "");
}

std::vector<std::string> keys() {
    std::vector<std::string> out;
    for (size_t i = 0; i < key_count; ++i) out.push_back("rehash:" + std::to_string(i * 7919));
    return out;
}

bool wait_until(const std::function<bool()>& done, int timeout_ms) {
    const auto start = Clock::now();
    while (!done()) {
        if (Clock::now() - start > std::chrono::milliseconds(timeout_ms)) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

void check_rehash(const Scenario& s) {
    std::vector<std::unique_ptr<RedisServer>> servers;
    std::string yaml_servers;
    std::string toml_servers;
    for (size_t i = 0; i < server_count; ++i) {
        servers.push_back(std::make_unique<RedisServer>());
        yaml_servers += "   - " + server_entry(s, *servers[i], i) + "\n";
        toml_servers += (i ? ", \"" : "\"") + server_entry(s, *servers[i], i) + "\"";
    }
    Nutcracker nutcracker("pool:\n  listen: 127.0.0.1:@PORT@\n  hash: " + s.hash + "\n  distribution: " +
                          s.distribution + "\n  redis: true\n  timeout: 400\n  auto_eject_hosts: true\n"
                          "  server_failure_limit: 1\n  server_retry_timeout: 600000\n  servers:\n" + yaml_servers);
    ShardProxy proxy("[proxy]\nworkers = 1\n\n[[listener]]\nlisten = \"127.0.0.1:@PORT@\"\npool = \"main\"\n\n"
                     "[pool.main]\nservers = [" + toml_servers + "]\nhash = \"" + s.hash + "\"\ndistribution = \"" +
                     s.distribution + "\"\ntimeout_ms = 400\non_down = \"rehash\"\n\n[pool.main.health]\n"
                     "failure_limit = 1\nprobe_interval_ms = 50\nprobe_max_interval_ms = 100\n");
    Client through_nutcracker(nutcracker.port(), 5000);
    Client through_proxy(proxy.port(), 5000);
    const std::vector<std::string> all_keys = keys();

    // A key that lives on the server about to die, so nutcracker sees it fail.
    std::string victim_key;
    for (const std::string& key : all_keys) {
        through_nutcracker.command({"SET", key, "probe"});
        if (describe(Client(servers[2]->port()).command({"GET", key}).get()) == "string:probe") {
            victim_key = key;
            break;
        }
    }
    REQUIRE_FALSE(victim_key.empty());

    servers[2]->process().kill_hard();
    // nutcracker ejects the server after its failures; its keys then succeed elsewhere.
    REQUIRE(wait_until([&] { return describe(through_nutcracker.command({"SET", victim_key, "x"}).get()) == "status:OK"; },
                       5000));
    // shardproxy marks it down from the lost connection and its failed reconnects.
    REQUIRE(wait_until([&] { return describe(through_proxy.command({"SET", victim_key, "x"}).get()) == "status:OK"; },
                       5000));

    for (size_t i = 0; i < server_count; ++i) {
        if (i != 2) Client(servers[i]->port()).command({"FLUSHALL"});
    }
    for (size_t first = 0; first < all_keys.size(); first += 500) {
        std::vector<std::vector<std::string>> batch;
        for (size_t i = first; i < first + 500; ++i) batch.push_back({"SET", all_keys[i], "nc"});
        for (const auto& reply : through_nutcracker.pipeline(batch)) REQUIRE(describe(reply.get()) == "status:OK");
    }
    size_t found = 0;
    for (size_t first = 0; first < all_keys.size(); first += 500) {
        std::vector<std::vector<std::string>> batch;
        for (size_t i = first; i < first + 500; ++i) batch.push_back({"GET", all_keys[i]});
        for (const auto& reply : through_proxy.pipeline(batch)) found += describe(reply.get()) == "string:nc";
    }
    CHECK(found == key_count);

    // Back in service after an answered probe: the full ring again, so the victim key's writes
    // go to the restarted server.
    servers[2]->restart();
    REQUIRE(wait_until([&] {
        through_proxy.command({"SET", victim_key, "home"});
        return describe(Client(servers[2]->port()).command({"GET", victim_key}).get()) == "string:home";
    }, 5000));
}

}  // namespace

TEST_CASE("rehash with ketama and fnv1a_64, named servers, moves keys as nutcracker's auto_eject_hosts") {
    check_rehash({.hash = "fnv1a_64"});
}

TEST_CASE("rehash with ketama and md5, unnamed servers with unequal weights") {
    check_rehash({.hash = "md5", .weights = {1, 2, 3, 1}, .named = false});
}

TEST_CASE("rehash with modula") {
    check_rehash({.hash = "murmur", .distribution = "modula"});
}
