// The near cache's tracking connection on its own, driven by a test-owned event loop: against a
// real redis-server (replies, invalidations, a killed server, a hung one), and against a
// scripted server for the replies Redis does not send but the protocol allows.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backends/tracking_connection.h"
#include "support/processes.h"

using namespace shardproxy::testing;
using shardproxy::backends::BackendEndpoint;
using shardproxy::backends::DirectReply;
using shardproxy::backends::ReplySink;
using shardproxy::backends::TrackingConnection;
using shardproxy::backends::TrackingListener;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint32_t kChild = 7;

long elapsed_ms(Clock::time_point since) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

struct Listener final : TrackingListener {
    std::vector<std::string> keys;
    int all = 0;
    void on_invalidate(std::string_view key) override { keys.emplace_back(key); }
    void on_invalidate_all() override { ++all; }
};

// Keeps the one answer it is given and checks the connection's side of the contract.
struct Sink final : ReplySink {
    std::string reply;
    std::string failure;
    int answers = 0;
    bool released = false;

    DirectReply claim_direct(uint32_t) override {
        FAIL_CHECK("claim_direct called");
        return {};
    }
    void on_reply_bytes(uint32_t child, evbuffer* from, size_t length) override {
        CHECK(child == kChild);
        REQUIRE(evbuffer_get_length(from) >= length);
        reply.resize(length);
        evbuffer_remove(from, reply.data(), length);
        ++answers;
    }
    void on_reply_object(uint32_t, redisReply*) override { FAIL_CHECK("on_reply_object called"); }
    void on_failure(uint32_t child, std::string_view error) override {
        CHECK(child == kChild);
        failure = error;
        ++answers;
    }
    void release() override {
        CHECK(answers == 1);
        CHECK_FALSE(released);
        released = true;
    }
};

// Declared before the connections it runs, so it outlives them.
class Loop {
public:
    Loop() : base_(event_base_new()) {}
    ~Loop() { event_base_free(base_); }
    event_base* base() { return base_; }

    // Runs the loop until `done` holds or timeout_ms passes; returns done().
    template <typename Done>
    bool run_until(Done done, int timeout_ms = 3000) {
        const auto start = Clock::now();
        while (!done()) {
            if (elapsed_ms(start) >= timeout_ms) return false;
            event_base_loop(base_, EVLOOP_NONBLOCK);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return true;
    }
    void run_for(int ms) {
        run_until([] { return false; }, ms);
    }

private:
    event_base* base_;
};

BackendEndpoint endpoint_for(const std::string& name, int port, uint32_t timeout_ms) {
    BackendEndpoint endpoint;
    endpoint.label = name + " (127.0.0.1:" + std::to_string(port) + ")";
    shardproxy::conf::Address address;
    address.host = "127.0.0.1";
    address.port = static_cast<uint16_t>(port);
    std::string error;
    REQUIRE(shardproxy::backends::resolve_address(address, endpoint.address, error));
    endpoint.timeout_ms = timeout_ms;
    return endpoint;
}

// Sends GET key and runs the loop until it is answered.
Sink get(Loop& loop, TrackingConnection& connection, const std::string& key) {
    Sink sink;
    REQUIRE(connection.send_get(key, &sink, kChild));
    REQUIRE(loop.run_until([&] { return sink.released; }));
    return sink;
}

}  // namespace

TEST_CASE("replies reach the sink as RESP2 bytes once the handshake is done") {
    RedisServer server;
    Loop loop;
    Listener listener;
    TrackingConnection connection(loop.base(), endpoint_for("near", server.port(), 1000), listener);
    CHECK(connection.label() == "near (" + server.address() + ")");
    CHECK_FALSE(connection.ready());
    Sink early;
    CHECK_FALSE(connection.send_get("k", &early, kChild));
    REQUIRE(loop.run_until([&] { return connection.ready(); }));
    CHECK(listener.all == 1);

    Client client(server.port());
    REQUIRE(describe(client.command({"SET", "present", "hello"}).get()) == "status:OK");
    REQUIRE(describe(client.command({"SET", "odd key\r\n", "a\r\nb"}).get()) == "status:OK");
    REQUIRE(describe(client.command({"RPUSH", "list", "x"}).get()) == "integer:1");
    const std::string large(3 << 20, 'v');
    REQUIRE(describe(client.command({"SET", "large", large}).get()) == "status:OK");

    CHECK(get(loop, connection, "missing").reply == "$-1\r\n");
    CHECK(get(loop, connection, "present").reply == "$5\r\nhello\r\n");
    CHECK(get(loop, connection, "odd key\r\n").reply == "$4\r\na\r\nb\r\n");
    const std::string wrong = get(loop, connection, "list").reply;
    CHECK(wrong.starts_with("-WRONGTYPE "));
    CHECK(wrong.ends_with("\r\n"));
    CHECK(get(loop, connection, "large").reply == "$" + std::to_string(large.size()) + "\r\n" + large + "\r\n");

    // Several in flight come back in order.
    std::vector<Sink> sinks(20);
    for (size_t i = 0; i < sinks.size(); ++i) {
        REQUIRE(connection.send_get(i % 2 == 0 ? "present" : "missing", &sinks[i], kChild));
    }
    REQUIRE(loop.run_until([&] { return sinks.back().released; }));
    for (size_t i = 0; i < sinks.size(); ++i) CHECK(sinks[i].reply == (i % 2 == 0 ? "$5\r\nhello\r\n" : "$-1\r\n"));
    CHECK(listener.all == 1);
    CHECK(listener.keys.empty());
}

TEST_CASE("a key read through the connection is invalidated when it changes; a flush invalidates all") {
    RedisServer server;
    Loop loop;
    Listener listener;
    TrackingConnection connection(loop.base(), endpoint_for("near", server.port(), 1000), listener);
    REQUIRE(loop.run_until([&] { return connection.ready(); }));
    Client client(server.port());
    REQUIRE(describe(client.command({"SET", "k", "v1"}).get()) == "status:OK");

    CHECK(get(loop, connection, "k").reply == "$2\r\nv1\r\n");
    CHECK(get(loop, connection, "unset").reply == "$-1\r\n");  // misses are tracked too
    REQUIRE(describe(client.command({"SET", "not-read", "x"}).get()) == "status:OK");
    REQUIRE(describe(client.command({"SET", "k", "v2"}).get()) == "status:OK");
    REQUIRE(loop.run_until([&] { return !listener.keys.empty(); }));
    // Pushes come in write order, so one for not-read would have come first.
    CHECK(listener.keys == std::vector<std::string>{"k"});
    REQUIRE(describe(client.command({"SET", "unset", "now"}).get()) == "status:OK");
    REQUIRE(loop.run_until([&] { return listener.keys.size() == 2; }));
    CHECK(listener.keys[1] == "unset");
    // The reply to a read after the write is the new value; the connection still works.
    CHECK(get(loop, connection, "k").reply == "$2\r\nv2\r\n");

    REQUIRE(describe(client.command({"FLUSHALL"}).get()) == "status:OK");
    REQUIRE(loop.run_until([&] { return listener.all == 2; }));
    CHECK(connection.ready());
    CHECK(get(loop, connection, "k").reply == "$-1\r\n");
}

TEST_CASE("a killed server fails waiting requests; the connection comes back with the server") {
    RedisServer server;
    Loop loop;
    Listener listener;
    TrackingConnection connection(loop.base(), endpoint_for("near", server.port(), 2000), listener);
    REQUIRE(loop.run_until([&] { return connection.ready(); }));
    REQUIRE(listener.all == 1);

    server.process().pause();  // so that the requests are still waiting when it dies
    Sink first;
    Sink second;
    REQUIRE(connection.send_get("a", &first, kChild));
    REQUIRE(connection.send_get("b", &second, kChild));
    loop.run_for(50);
    server.process().kill_hard();
    REQUIRE(loop.run_until([&] { return first.released && second.released; }));
    const std::string prefix = "ERR backend near (" + server.address() + ") connection closed: ";
    CHECK(first.failure.starts_with(prefix));
    CHECK(second.failure == first.failure);
    CHECK(listener.all == 2);
    CHECK_FALSE(connection.ready());
    Sink refused;
    CHECK_FALSE(connection.send_get("a", &refused, kChild));

    loop.run_for(300);  // reconnects are refused meanwhile
    CHECK_FALSE(connection.ready());
    CHECK(listener.all == 2);

    server.restart();
    REQUIRE(loop.run_until([&] { return connection.ready(); }, 5000));
    CHECK(listener.all == 3);
    CHECK(get(loop, connection, "a").reply == "$-1\r\n");
}

TEST_CASE("a hung server makes waiting requests time out, and the connection is replaced") {
    RedisServer server;
    Loop loop;
    Listener listener;
    TrackingConnection connection(loop.base(), endpoint_for("near", server.port(), 200), listener);
    REQUIRE(loop.run_until([&] { return connection.ready(); }));

    server.process().pause();
    Sink first;
    Sink second;
    const auto start = Clock::now();
    REQUIRE(connection.send_get("a", &first, kChild));
    loop.run_for(50);
    REQUIRE(connection.send_get("b", &second, kChild));
    REQUIRE(loop.run_until([&] { return first.released; }));
    const long waited = elapsed_ms(start);
    CHECK(waited >= 190);
    CHECK(waited < 600);
    // The later request goes with the connection, without waiting for its own deadline.
    CHECK(second.released);
    const std::string timed_out = "ERR backend near (" + server.address() + ") timed out";
    CHECK(first.failure == timed_out);
    CHECK(second.failure == timed_out);
    CHECK(listener.all == 2);
    CHECK_FALSE(connection.ready());

    loop.run_for(500);  // the new connections' handshakes go unanswered too
    CHECK_FALSE(connection.ready());
    server.process().resume();
    REQUIRE(loop.run_until([&] { return connection.ready(); }, 5000));
    CHECK(listener.all == 3);
    CHECK(get(loop, connection, "a").reply == "$-1\r\n");
}

namespace {

// A listening socket whose connections the test answers byte by byte.
class ScriptedServer {
public:
    ScriptedServer() {
        listener_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const int one = 1;
        setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        REQUIRE(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
        REQUIRE(listen(listener_, 16) == 0);
        socklen_t length = sizeof(addr);
        getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length);
        port_ = ntohs(addr.sin_port);
    }
    ~ScriptedServer() {
        if (client_ >= 0) close(client_);
        close(listener_);
    }
    int port() const { return port_; }

    // Takes the next connection, dropping the last one.
    bool accept_next(Loop& loop) {
        if (client_ >= 0) close(client_);
        client_ = -1;
        return loop.run_until([&] {
            client_ = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK);
            return client_ >= 0;
        });
    }
    // Runs the loop until at least `bytes` bytes have arrived on the current connection.
    std::string receive(Loop& loop, size_t bytes) {
        std::string received;
        loop.run_until([&] {
            char buffer[4096];
            const ssize_t n = recv(client_, buffer, sizeof(buffer), 0);
            if (n > 0) received.append(buffer, static_cast<size_t>(n));
            return received.size() >= bytes;
        });
        return received;
    }
    // True once the connection was closed by the other side.
    bool closed_by_peer(Loop& loop) {
        return loop.run_until([&] {
            char byte;
            return recv(client_, &byte, 1, 0) == 0;
        });
    }
    // One byte at a time, each in its own loop turn, so the connection sees every split.
    void send_slowly(Loop& loop, const std::string& bytes) {
        for (char c : bytes) {
            REQUIRE(send(client_, &c, 1, MSG_NOSIGNAL) == 1);
            event_base_loop(loop.base(), EVLOOP_NONBLOCK);
        }
    }
    void send_all(const std::string& bytes) {
        REQUIRE(send(client_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
    }

private:
    int listener_ = -1;
    int client_ = -1;
    int port_ = 0;
};

const std::string kHandshake = "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*3\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\nON\r\n";
const std::string kHelloReply = "%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n";

std::string get_request(const std::string& key) {
    return "*2\r\n$3\r\nGET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
}

}  // namespace

TEST_CASE("a scripted server: refused handshakes, attributes, pushes between replies, other reply types") {
    ScriptedServer server;
    Loop loop;
    Listener listener;
    const std::string label = "scripted (127.0.0.1:" + std::to_string(server.port()) + ")";
    auto connection = std::make_unique<TrackingConnection>(
        loop.base(), endpoint_for("scripted", server.port(), 2000), listener);

    // A server without RESP3 (Redis 5): not ready, dropped, tried again.
    REQUIRE(server.accept_next(loop));
    CHECK(server.receive(loop, kHandshake.size()) == kHandshake);
    server.send_all("-ERR unknown command `HELLO`, with args beginning with: `3`, \r\n");
    CHECK(server.closed_by_peer(loop));
    CHECK_FALSE(connection->ready());
    // HELLO accepted, tracking refused: the same.
    REQUIRE(server.accept_next(loop));
    CHECK(server.receive(loop, kHandshake.size()) == kHandshake);
    server.send_all(kHelloReply + "-ERR tracking is off\r\n");
    CHECK(server.closed_by_peer(loop));
    CHECK_FALSE(connection->ready());
    CHECK(listener.all == 0);

    REQUIRE(server.accept_next(loop));
    CHECK(server.receive(loop, kHandshake.size()) == kHandshake);
    server.send_slowly(loop, kHelloReply + ">2\r\n$7\r\nmessage\r\n$1\r\nx\r\n" + "+OK\r\n");
    REQUIRE(loop.run_until([&] { return connection->ready(); }));
    CHECK(listener.all == 1);

    const std::vector<std::string> keys = {"a", "b", "c", "d", "e", "f", "g"};
    std::vector<Sink> sinks(keys.size());
    std::string requests;
    for (size_t i = 0; i < keys.size(); ++i) {
        REQUIRE(connection->send_get(keys[i], &sinks[i], kChild));
        requests += get_request(keys[i]);
    }
    CHECK(server.receive(loop, requests.size()) == requests);
    server.send_slowly(loop,
                       "|1\r\n+ttl\r\n:5\r\n$2\r\nva\r\n"
                       ">2\r\n$10\r\ninvalidate\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n"
                       "!10\r\nERR a\r\nb c\r\n"
                       "=8\r\ntxt:abcd\r\n"
                       ">2\r\n$10\r\ninvalidate\r\n_\r\n"
                       "_\r\n"
                       ">3\r\n$7\r\nmessage\r\n$7\r\nchannel\r\n$4\r\nbody\r\n"
                       "|1\r\n+a\r\n+b\r\n-ERR plain\r\n"
                       "%1\r\n+k\r\n+v\r\n");
    REQUIRE(loop.run_until([&] { return sinks[5].released; }));
    const std::string unexpected = "-ERR backend " + label + " unexpected reply type\r\n";
    CHECK(sinks[0].reply == "$2\r\nva\r\n");
    CHECK(sinks[1].reply == "-ERR a  b c\r\n");
    CHECK(sinks[2].reply == unexpected);
    CHECK(sinks[3].reply == "$-1\r\n");
    CHECK(sinks[4].reply == "-ERR plain\r\n");
    CHECK(sinks[5].reply == unexpected);
    CHECK_FALSE(sinks[6].released);  // not answered yet
    CHECK(listener.keys == std::vector<std::string>{"x", "y"});
    CHECK(listener.all == 2);
    server.send_all(":1\r\n");
    REQUIRE(loop.run_until([&] { return sinks[6].released; }));
    CHECK(sinks[6].reply == unexpected);
    CHECK(connection->ready());

    // A reply nobody asked for: the stream can no longer be trusted.
    server.send_all("+OK\r\n");
    CHECK(server.closed_by_peer(loop));
    CHECK_FALSE(connection->ready());
    CHECK(listener.all == 3);

    // So is a malformed one, and what waits fails with the reason.
    REQUIRE(server.accept_next(loop));
    CHECK(server.receive(loop, kHandshake.size()) == kHandshake);
    server.send_all(kHelloReply + "+OK\r\n");
    REQUIRE(loop.run_until([&] { return connection->ready(); }));
    Sink broken;
    REQUIRE(connection->send_get("a", &broken, kChild));
    CHECK(server.receive(loop, get_request("a").size()) == get_request("a"));
    server.send_all("$x\r\n");
    REQUIRE(loop.run_until([&] { return broken.released; }));
    CHECK(broken.failure == "ERR backend " + label + " connection closed: protocol error in reply: invalid length 'x'");
    CHECK(server.closed_by_peer(loop));

    // Shutting down answers what waits, without telling the listener.
    REQUIRE(server.accept_next(loop));
    CHECK(server.receive(loop, kHandshake.size()) == kHandshake);
    server.send_all(kHelloReply + "+OK\r\n");
    REQUIRE(loop.run_until([&] { return connection->ready(); }));
    const int all_before = listener.all;
    Sink last;
    REQUIRE(connection->send_get("a", &last, kChild));
    connection.reset();
    CHECK(last.failure == "ERR backend " + label + " connection closed: proxy shutting down");
    CHECK(listener.all == all_before);
}
