// What memcached clients see when backends die or hang: a fast SERVER_ERROR naming the backend,
// never a hang and never another request's reply.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "support/memcache_client.h"
#include "support/memcached_servers.h"

using namespace shardproxy::testing;
using Clock = std::chrono::steady_clock;

namespace {

long elapsed_ms(Clock::time_point since) {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

}  // namespace

TEST_CASE("a backend killed mid-run gives a fast SERVER_ERROR naming it, others keep serving, and it recovers") {
    MemcacheCluster cluster({.servers = 3, .timeout_ms = 500});
    const auto keys = cluster.one_key_per_server("kill:");
    RawConnection client(cluster.proxy_port());
    for (const auto& key : keys) REQUIRE(client.exchange("set " + key + " 0 0 6\r\nbefore\r\n", "\r\n") == "STORED\r\n");

    cluster.server(1).process().kill_hard();
    // The first request may find the connection still open and learn of the close from it.
    CHECK(client.exchange("get " + keys[1] + "\r\n", "\r\n").starts_with("SERVER_ERROR backend mc-b (127.0.0.1:"));

    const auto start = Clock::now();
    const std::string reply = client.exchange("get " + keys[1] + "\r\n", "\r\n");
    CHECK(elapsed_ms(start) < 200);  // no waiting for a timeout
    CHECK(reply.starts_with("SERVER_ERROR backend mc-b (" + cluster.server(1).address() + ")"));

    CHECK(client.exchange("get " + keys[0] + "\r\n", "END\r\n") == "VALUE " + keys[0] + " 0 6\r\nbefore\r\nEND\r\n");
    // A multi-get with one part on the dead backend fails whole, naming it.
    CHECK(client.exchange("get " + keys[0] + " " + keys[1] + "\r\n", "\r\n").starts_with("SERVER_ERROR backend mc-b"));
    // Through libmemcached: memcached_get folds a SERVER_ERROR into its NOT FOUND code (it does
    // so with memcached itself), and its last error message names the backend.
    MemcacheClient library(cluster.proxy_port());
    const McValue failed = library.get(keys[1]);
    CHECK_FALSE(failed.value.has_value());
    CHECK(failed.error.find("SERVER ERROR, backend mc-b (") != std::string::npos);
    CHECK(library.set(keys[1], "x").rc == MEMCACHED_SERVER_ERROR);
    CHECK(library.get(keys[2]).value == "before");

    cluster.server(1).restart();
    bool recovered = false;
    for (int i = 0; i < 100 && !recovered; ++i) {
        recovered = client.exchange("set " + keys[1] + " 0 0 5\r\nafter\r\n", "\r\n") == "STORED\r\n";
        if (!recovered) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(recovered);
    CHECK(client.exchange("get " + keys[1] + "\r\n", "END\r\n") == "VALUE " + keys[1] + " 0 5\r\nafter\r\nEND\r\n");
}

TEST_CASE("a hung backend times out with SERVER_ERROR; its late replies are dropped, not misdelivered") {
    MemcacheCluster cluster({.servers = 2, .timeout_ms = 300});
    const auto keys = cluster.one_key_per_server("hang:");
    RawConnection client(cluster.proxy_port());
    REQUIRE(client.exchange("set " + keys[0] + " 0 0 4\r\nzero\r\nset " + keys[1] + " 0 0 3\r\none\r\n", "STORED\r\nSTORED\r\n") ==
            "STORED\r\nSTORED\r\n");

    cluster.server(1).process().pause();
    const auto start = Clock::now();
    const std::string replies = client.exchange("get " + keys[1] + "\r\nget " + keys[0] + "\r\nmn\r\n", "MN\r\n", 3000);
    const long waited = elapsed_ms(start);
    CHECK(waited >= 250);
    CHECK(waited < 1500);
    CHECK(replies == "SERVER_ERROR backend mc-b (" + cluster.server(1).address() + ") timed out\r\n" +
                         "VALUE " + keys[0] + " 0 4\r\nzero\r\nEND\r\nMN\r\n");

    // The backend wakes up and answers the old request; that answer must go nowhere.
    cluster.server(1).process().resume();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(client.exchange("set " + keys[1] + " 0 0 5\r\nfresh\r\n", "\r\n") == "STORED\r\n");
    CHECK(client.exchange("get " + keys[1] + "\r\n", "END\r\n") == "VALUE " + keys[1] + " 0 5\r\nfresh\r\nEND\r\n");
}

TEST_CASE("noreply requests to a dead backend fail silently and are counted; the stream stays in step") {
    MemcacheCluster cluster({.servers = 2, .timeout_ms = 300});
    const auto keys = cluster.one_key_per_server("quiet:");
    cluster.server(1).process().kill_hard();
    RawConnection client(cluster.proxy_port());
    // Give the proxy a moment to notice; either way nothing may be answered for noreply.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::string replies = client.exchange("set " + keys[1] + " 0 0 1 noreply\r\nx\r\nset " + keys[0] +
                                                    " 0 0 1 noreply\r\ny\r\nget " + keys[0] + "\r\n",
                                                "END\r\n");
    CHECK(replies == "VALUE " + keys[0] + " 0 1\r\ny\r\nEND\r\n");
    const std::string stats = client.exchange("stats\r\n", "END\r\n");
    CHECK(stats.find("STAT noreply_failures 1\r\n") != std::string::npos);
}
