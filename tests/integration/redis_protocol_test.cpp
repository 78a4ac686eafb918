// The client-facing wire protocol, spoken byte by byte over raw sockets.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "support/redis_cluster.h"

using namespace shardproxy::testing;

namespace {

RedisCluster& cluster() {
    static RedisCluster instance;
    return instance;
}

}  // namespace

TEST_CASE("a client that writes one byte at a time gets the same replies") {
    const std::string wire =
        "*3\r\n$3\r\nSET\r\n$5\r\nslow1\r\n$5\r\nvalue\r\n"
        "GET slow1\r\n"
        "*2\r\n$4\r\nMGET\r\n$5\r\nslow1\r\n";
    const int fd = connect_loopback(cluster().proxy_port());
    REQUIRE(fd >= 0);
    for (char c : wire) {
        REQUIRE(send(fd, &c, 1, 0) == 1);
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    const std::string expected = "+OK\r\n$5\r\nvalue\r\n*1\r\n$5\r\nvalue\r\n";
    std::string received;
    char buffer[256];
    while (received.size() < expected.size()) {
        const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
        if (n <= 0) break;
        received.append(buffer, static_cast<size_t>(n));
    }
    close(fd);
    CHECK(received == expected);
}

TEST_CASE("a malformed request gets Redis's protocol error, then the connection closes") {
    CHECK(raw_exchange(cluster().proxy_port(), "PING\r\n*x\r\n") ==
          "+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n<closed>");
    CHECK(raw_exchange(cluster().proxy_port(), "*1\r\n+PING\r\n") ==
          "-ERR Protocol error: expected '$', got '+'\r\n<closed>");
    CHECK(raw_exchange(cluster().proxy_port(), "GET \"open\r\n") ==
          "-ERR Protocol error: unbalanced quotes in request\r\n<closed>");
}

TEST_CASE("replies to pipelined requests before a protocol error still arrive in order") {
    Client setup(cluster().proxy_port());
    setup.command({"SET", "before-error", "1"});
    CHECK(raw_exchange(cluster().proxy_port(), "GET before-error\r\nPING\r\n*1\r\n$x\r\n") ==
          "$1\r\n1\r\n+PONG\r\n-ERR Protocol error: invalid bulk length\r\n<closed>");
}

TEST_CASE("QUIT answers OK, runs nothing after it and closes") {
    CHECK(raw_exchange(cluster().proxy_port(), "PING\r\nQUIT\r\nSET after-quit 1\r\n") ==
          "+PONG\r\n+OK\r\n<closed>");
    Client client(cluster().proxy_port());
    CHECK(describe(client.command({"GET", "after-quit"}).get()) == "nil");
}

TEST_CASE("null replies are forwarded byte for byte") {
    CHECK(raw_exchange(cluster().proxy_port(), "GET no-such-key\r\n") == "$-1\r\n");
    const auto keys = cluster().one_key_per_server("nullmerge:");
    CHECK(raw_exchange(cluster().proxy_port(), "MGET " + keys[0] + " " + keys[1] + "\r\n") ==
          "*2\r\n$-1\r\n$-1\r\n");
}

TEST_CASE("an oversized request is refused with a clear error") {
    RedisCluster small({.servers = 1, .extra_proxy = "max_request_bytes = 4096"});
    const std::string reply = raw_exchange(small.proxy_port(), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n");
    CHECK(reply == "-ERR Protocol error: request is larger than max_request_bytes (4096)\r\n<closed>");
}

TEST_CASE("many clients at once each get their own replies") {
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([t, &wrong] {
            Client client(cluster().proxy_port());
            for (int i = 0; i < 200; ++i) {
                const std::string key = "client" + std::to_string(t) + ":" + std::to_string(i);
                const std::string value = std::to_string(t * 1000 + i);
                auto replies = client.pipeline({{"SET", key, value}, {"GET", key}});
                if (describe(replies[1].get()) != "string:" + value) ++wrong;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(wrong == 0);
}

TEST_CASE("a deeply nested reply is forwarded whole and later requests still get their own replies") {
    // Deeper than hiredis 0.14 can read, so the bytes are checked raw.
    std::string nested = ":1\r\n";
    for (int i = 0; i < 12; ++i) nested = "*1\r\n" + nested;
    CHECK(raw_exchange(cluster().proxy_port(),
                       "EVAL \"return {{{{{{{{{{{{1}}}}}}}}}}}}\" 0\r\nEVAL \"return 'next'\" 0\r\n") ==
          nested + "$4\r\nnext\r\n");
}

TEST_CASE("requests forwarded as they are and requests the proxy rewrites keep their order") {
    Client client(cluster().proxy_port());
    const auto keys = cluster().one_key_per_server("order:");
    for (const auto& key : keys) client.command({"SET", key, "v-" + key});
    // One packet: a forwarded GET, then an inline GET (re-encoded) for the same server.
    CHECK(raw_exchange(cluster().proxy_port(), "*2\r\n$3\r\nGET\r\n$" +
                                                   std::to_string(keys[0].size()) + "\r\n" + keys[0] +
                                                   "\r\nGET " + keys[0] + "\r\n") ==
          "$" + std::to_string(keys[0].size() + 2) + "\r\nv-" + keys[0] + "\r\n$" +
              std::to_string(keys[0].size() + 2) + "\r\nv-" + keys[0] + "\r\n");
    // One packet: a forwarded GET, then a split MGET and a broadcast DBSIZE.
    const std::string value0 = "v-" + keys[0];
    const std::string value1 = "v-" + keys[1];
    const std::string reply = raw_exchange(
        cluster().proxy_port(),
        "*2\r\n$3\r\nGET\r\n$" + std::to_string(keys[0].size()) + "\r\n" + keys[0] + "\r\n" +
            "*3\r\n$4\r\nMGET\r\n$" + std::to_string(keys[0].size()) + "\r\n" + keys[0] + "\r\n$" +
            std::to_string(keys[1].size()) + "\r\n" + keys[1] + "\r\n" + "*1\r\n$6\r\nDBSIZE\r\n");
    const std::string expected_prefix = "$" + std::to_string(value0.size()) + "\r\n" + value0 +
                                        "\r\n*2\r\n$" + std::to_string(value0.size()) + "\r\n" +
                                        value0 + "\r\n$" + std::to_string(value1.size()) + "\r\n" +
                                        value1 + "\r\n:";
    CHECK(reply.starts_with(expected_prefix));
    for (const auto& key : keys) client.command({"DEL", key});
}

TEST_CASE("a client that shuts down its sending side still gets the replies to what it sent") {
    const int fd = connect_loopback(cluster().proxy_port());
    REQUIRE(fd >= 0);
    const std::string wire = "SET halfclose 1\r\nGET halfclose\r\nPING\r\n";
    REQUIRE(send(fd, wire.data(), wire.size(), 0) == static_cast<ssize_t>(wire.size()));
    shutdown(fd, SHUT_WR);
    std::string received;
    char buffer[256];
    ssize_t n;
    while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) received.append(buffer, static_cast<size_t>(n));
    close(fd);
    CHECK(received == "+OK\r\n$1\r\n1\r\n+PONG\r\n");
}

TEST_CASE("a status or error line longer than 64 KiB is forwarded without harming the connection") {
    Client client(cluster().proxy_port());
    client.command({"SET", "longline:k", "kept"});
    auto replies = client.pipeline({{"EVAL", "return redis.status_reply(string.rep('x', 70000))", "1", "longline:k"},
                                    {"EVAL", "return redis.error_reply(string.rep('e', 70000))", "1", "longline:k"},
                                    {"GET", "longline:k"}});
    CHECK(describe(replies[0].get()) == "status:" + std::string(70000, 'x'));
    CHECK(describe(replies[1].get()) == "error:ERR " + std::string(70000, 'e'));  // Redis adds the ERR code
    CHECK(describe(replies[2].get()) == "string:kept");
}
