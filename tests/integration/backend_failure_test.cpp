// What clients see when backends die, hang or come back.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "support/redis_cluster.h"

using namespace shardproxy::testing;
using Clock = std::chrono::steady_clock;

namespace {

long elapsed_ms(Clock::time_point since) {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

}  // namespace

TEST_CASE("a killed backend gives a fast error naming it, other backends keep serving, and it recovers") {
    RedisCluster cluster({.servers = 3, .timeout_ms = 500});
    const auto keys = cluster.one_key_per_server("kill:");
    Client client(cluster.proxy_port());
    for (const auto& key : keys) client.command({"SET", key, "before"});

    cluster.server(1).process().kill_hard();
    // The first request may find the connection still open and learn of the close from it.
    auto first = client.command({"GET", keys[1]});
    CHECK(describe(first.get()).starts_with("error:ERR backend cache-b (127.0.0.1:"));

    const auto start = Clock::now();
    auto reply = client.command({"GET", keys[1]});
    CHECK(elapsed_ms(start) < 200);  // no waiting for a timeout
    const std::string text = describe(reply.get());
    CHECK(text.starts_with("error:ERR backend cache-b (" + cluster.server(1).address() + ")"));

    CHECK(describe(client.command({"GET", keys[0]}).get()) == "string:before");
    CHECK(describe(client.command({"GET", keys[2]}).get()) == "string:before");
    // A split request with one part on the dead backend fails whole, naming it.
    CHECK(describe(client.command({"MGET", keys[0], keys[1]}).get()).starts_with("error:ERR backend cache-b"));

    cluster.server(1).restart();
    bool recovered = false;
    for (int i = 0; i < 100 && !recovered; ++i) {
        recovered = describe(client.command({"SET", keys[1], "after"}).get()) == "status:OK";
        if (!recovered) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(recovered);
    CHECK(describe(client.command({"GET", keys[1]}).get()) == "string:after");
}

TEST_CASE("a hung backend times out with an error naming it; its late replies are dropped, not misdelivered") {
    RedisCluster cluster({.servers = 2, .timeout_ms = 300});
    const auto keys = cluster.one_key_per_server("hang:");
    Client client(cluster.proxy_port());
    client.command({"SET", keys[0], "zero"});
    client.command({"SET", keys[1], "one"});

    cluster.server(1).process().pause();
    const auto start = Clock::now();
    auto replies = client.pipeline({{"GET", keys[1]}, {"GET", keys[0]}, {"INCR", "hang:counter-on-1"}});
    const long waited = elapsed_ms(start);
    CHECK(waited >= 250);
    CHECK(waited < 1500);
    CHECK(describe(replies[0].get()) ==
          "error:ERR backend cache-b (" + cluster.server(1).address() + ") timed out");
    CHECK(describe(replies[1].get()) == "string:zero");

    // The backend wakes up and answers the old requests; those answers must go nowhere.
    cluster.server(1).process().resume();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(describe(client.command({"SET", keys[1], "fresh"}).get()) == "status:OK");
    CHECK(describe(client.command({"GET", keys[1]}).get()) == "string:fresh");
    CHECK(describe(client.command({"GET", keys[0]}).get()) == "string:zero");
}

TEST_CASE("a backend that is down when the proxy starts is retried until it comes up") {
    RedisServer late;
    const int port = late.port();
    late.process().stop();
    ShardProxy proxy("[proxy]\nworkers = 1\n[[listener]]\nlisten = \"127.0.0.1:@PORT@\"\nprotocol = \"redis\"\n"
                     "pool = \"main\"\n[pool.main]\nprotocol = \"redis\"\nservers = [\"127.0.0.1:" +
                     std::to_string(port) + "\"]\ntimeout_ms = 300\n");
    Client client(proxy.port());
    CHECK(describe(client.command({"GET", "k"}).get()).starts_with("error:ERR backend 127.0.0.1:" + std::to_string(port)));
    RedisServer revived(port);
    bool served = false;
    for (int i = 0; i < 100 && !served; ++i) {
        served = describe(client.command({"SET", "k", "v"}).get()) == "status:OK";
        if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(served);
}

TEST_CASE("a request sent while an earlier one is already timed out still times out on time") {
    RedisCluster cluster({.servers = 1, .workers = 1, .timeout_ms = 300});
    Client slow(cluster.proxy_port(), 5000);
    Client later(cluster.proxy_port(), 5000);
    later.command({"SET", "ontime", "v"});
    // Keeps redis-server busy for a second.
    redisAppendCommand(slow.context(), "EVAL %s 0",
                       "local t = redis.call('TIME') while true do local n = redis.call('TIME') "
                       "if (n[1] - t[1]) * 1000000 + n[2] - t[2] > 1000000 then break end end return 1");
    int written = 0;
    while (!written) REQUIRE(redisBufferWrite(slow.context(), &written) == REDIS_OK);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // the EVAL has timed out by now
    const auto start = Clock::now();
    auto reply = later.command({"GET", "ontime"});
    CHECK(describe(reply.get()).ends_with("timed out"));
    CHECK(elapsed_ms(start) < 550);  // answered at its own deadline, not when redis frees up
    void* late = nullptr;
    REQUIRE(redisGetReply(slow.context(), &late) == REDIS_OK);
    CHECK(describe(static_cast<redisReply*>(late)).ends_with("timed out"));
    freeReplyObject(late);
}
