// How servers are marked down and brought back: a hung server stops costing clients a timeout
// per request once it is down, other servers are not slowed, only an answered probe brings a
// server back, and a pool is never emptied by marking too many servers down.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "support/memcache_client.h"
#include "support/memcached_servers.h"
#include "support/redis_cluster.h"

using namespace shardproxy::testing;
using Clock = std::chrono::steady_clock;

namespace {

long elapsed_ms(Clock::time_point since) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

const std::string health = "\n[pool.main.health]\nfailure_limit = 2\nprobe_interval_ms = 100\nprobe_max_interval_ms = 400\n";

// The INFO "servers" line of server i: "name=cache-b,state=down,failures=2,...".
std::string server_info(Client& client, int i) {
    const std::string info = describe(client.command({"INFO", "servers"}).get());
    const std::string key = "server_main_" + std::to_string(i) + ":";
    const size_t at = info.find(key);
    if (at == std::string::npos) return "";
    return info.substr(at + key.size(), info.find("\r\n", at) - at - key.size());
}

uint64_t field(const std::string& line, const std::string& name) {
    const size_t at = line.find(name + "=");
    return at == std::string::npos ? 0 : std::stoull(line.substr(at + name.size() + 1));
}

}  // namespace

TEST_CASE("a hung server is marked down after failure_limit timeouts, then fails fast until a probe is answered") {
    RedisCluster cluster({.servers = 3, .workers = 1, .timeout_ms = 200, .extra_pool = health});
    const auto keys = cluster.one_key_per_server("health:");
    Client client(cluster.proxy_port());
    for (const auto& key : keys) REQUIRE(describe(client.command({"SET", key, "v"}).get()) == "status:OK");

    cluster.server(1).process().pause();
    for (int i = 0; i < 2; ++i) {  // failure_limit timeouts
        const auto start = Clock::now();
        CHECK(describe(client.command({"GET", keys[1]}).get()).ends_with("timed out"));
        CHECK(elapsed_ms(start) < 1000);
    }
    // Down now: refused at once, with the reason.
    auto start = Clock::now();
    const std::string refused = describe(client.command({"GET", keys[1]}).get());
    CHECK(elapsed_ms(start) < 100);
    CHECK(refused.starts_with("error:ERR backend cache-b (" + cluster.server(1).address() +
                              ") is down: 2 consecutive failures, last: timed out"));
    // Other servers are not slowed.
    start = Clock::now();
    CHECK(describe(client.command({"GET", keys[0]}).get()) == "string:v");
    CHECK(describe(client.command({"GET", keys[2]}).get()) == "string:v");
    CHECK(elapsed_ms(start) < 100);
    // A multi-key request with a part there fails whole, at once.
    start = Clock::now();
    CHECK(describe(client.command({"MGET", keys[0], keys[1]}).get()).find("is down") != std::string::npos);
    CHECK(elapsed_ms(start) < 100);

    // While it is stopped, probes go unanswered and back off.
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    std::string line = server_info(client, 1);
    CHECK(line.find("state=down") != std::string::npos);
    CHECK(field(line, "downs") == 1);
    CHECK(field(line, "probes") >= 2);
    CHECK(field(line, "probe_failures") >= 1);
    CHECK(field(line, "refused") >= 2);

    cluster.server(1).process().resume();
    bool back = false;
    start = Clock::now();
    while (!back && elapsed_ms(start) < 3000) {
        back = describe(client.command({"GET", keys[1]}).get()) == "string:v";
        if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(back);
    line = server_info(client, 1);
    CHECK(line.find("state=up") != std::string::npos);
    CHECK(field(line, "downs") == 1);
    CHECK(server_info(client, 0).find("state=up,failures=0,downs=0") != std::string::npos);
    // The operator's record: one line when the worker marked it down, one when it came back.
    const std::string server = "worker 0: pool main, server cache-b (" + cluster.server(1).address() + ")";
    CHECK(cluster.proxy().log().find("WARN " + server + " is down: 2 consecutive failures, last: timed out") !=
          std::string::npos);
    CHECK(cluster.proxy().log().find("INFO " + server + " is up again: it answered a probe") != std::string::npos);
}

TEST_CASE("a restarted server comes back through a probe, not because it accepts connections again") {
    RedisCluster cluster({.servers = 3, .workers = 1, .timeout_ms = 200, .extra_pool = health});
    const auto keys = cluster.one_key_per_server("restart:");
    Client client(cluster.proxy_port());
    cluster.server(2).process().kill_hard();
    // The lost connection and the refused reconnects are the failures.
    const auto start = Clock::now();
    while (server_info(client, 2).find("state=down") == std::string::npos && elapsed_ms(start) < 3000) {
        client.command({"GET", keys[2]});
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    REQUIRE(server_info(client, 2).find("state=down") != std::string::npos);
    const uint64_t probes_before = field(server_info(client, 2), "probes");
    cluster.server(2).restart();
    bool back = false;
    while (!back && elapsed_ms(start) < 6000) {
        back = describe(client.command({"SET", keys[2], "again"}).get()) == "status:OK";
        if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(back);
    CHECK(field(server_info(client, 2), "probes") > probes_before);
}

TEST_CASE("no more than max_down_percent of a pool is marked down; the rest keep being tried") {
    RedisCluster cluster({.servers = 2, .workers = 1, .timeout_ms = 150, .extra_pool = health});
    const auto keys = cluster.one_key_per_server("cap:");
    Client client(cluster.proxy_port());
    cluster.server(0).process().pause();
    cluster.server(1).process().pause();
    for (int i = 0; i < 3; ++i) {
        client.command({"GET", keys[0]});
        client.command({"GET", keys[1]});
    }
    // 50 % of two servers is one: one server is down, the other still gets requests (and
    // times out) rather than the pool being emptied.
    const std::string a = server_info(client, 0);
    const std::string b = server_info(client, 1);
    CHECK((a.find("state=down") != std::string::npos) != (b.find("state=down") != std::string::npos));
    const std::string& still_up = a.find("state=up") != std::string::npos ? a : b;
    CHECK(field(still_up, "failures") >= 3);
    cluster.server(0).process().resume();
    cluster.server(1).process().resume();
}

TEST_CASE("memcached pools report server health in stats") {
    MemcacheCluster cluster({.servers = 2, .timeout_ms = 200});
    RawConnection client(cluster.proxy_port());
    const std::string stats = client.exchange("stats\r\n", "END\r\n");
    CHECK(stats.find("STAT server_main_0 name=mc-a,state=up,failures=0,downs=0,probes=0") != std::string::npos);
    CHECK(stats.find("STAT server_main_1 name=mc-b,state=up,") != std::string::npos);
}
