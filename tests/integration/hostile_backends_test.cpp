// Backends that misbehave, between a real shardproxy and a real redis-server. The misbehaving
// part is a relay in this test (real servers do not misbehave on demand): it passes requests to
// the server and replies back, and now and then closes in the middle of a reply, injects bytes
// that are not RESP, or stalls past the timeout. Under a pipelined load where every value is
// unique to its key, every reply is checked: an error naming the backend is fine, a reply that
// belongs to another request never is. A server that answers when nothing was asked is dropped.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/processes.h"

using namespace shardproxy::testing;

namespace {

enum class Fault { close_mid_reply, garbage, stall, answer_twice };

// Accepts connections on a free port and relays each to the real server. After a random number
// of reply bytes it applies one of `faults` (chosen at random), then carries on relaying if the
// connection is still open.
class FaultyRelay {
public:
    FaultyRelay(int server_port, std::vector<Fault> faults, int stall_ms, uint64_t seed)
        : server_port_(server_port), faults_(std::move(faults)), stall_ms_(stall_ms), random_(seed) {
        listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        port_ = free_port();
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(port_));
        REQUIRE(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
        REQUIRE(listen(listen_fd_, 64) == 0);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~FaultyRelay() {
        stop_ = true;
        shutdown(listen_fd_, SHUT_RDWR);
        close(listen_fd_);
        acceptor_.join();
        for (auto& relay : relays_) relay.join();
    }
    int port() const { return port_; }
    int connections() const { return connections_.load(); }
    int faults() const { return faults_done_.load(); }

private:
    void accept_loop() {
        while (!stop_) {
            const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (client < 0) return;
            ++connections_;
            const int server = connect_loopback(server_port_);
            uint64_t seed;
            {
                const std::lock_guard lock(mutex_);
                seed = random_();
            }
            relays_.emplace_back([this, client, server, seed] { relay(client, server, seed); });
        }
    }

    void relay(int client, int server, uint64_t seed) {
        // Small replies must not wait for Nagle's algorithm, or every request takes 40 ms.
        const int one = 1;
        setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        std::mt19937_64 random(seed);
        auto next_fault_after = [&] { return 2000 + random() % 20000; };
        uint64_t until_fault = next_fault_after();
        char buffer[16384];
        std::string last_reply;
        while (!stop_ && server >= 0) {
            pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
            if (poll(fds, 2, 100) <= 0) continue;
            if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                const ssize_t n = recv(client, buffer, sizeof(buffer), 0);
                if (n <= 0 || send(server, buffer, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
            }
            if (!(fds[1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = recv(server, buffer, sizeof(buffer), 0);
            if (n <= 0) break;
            if (static_cast<uint64_t>(n) < until_fault) {
                until_fault -= static_cast<uint64_t>(n);
                if (send(client, buffer, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
                last_reply.assign(buffer, static_cast<size_t>(n));
                continue;
            }
            // The fault lands inside this chunk, at a random byte: the middle of a reply.
            auto cut = static_cast<size_t>(until_fault % static_cast<uint64_t>(n));
            until_fault = next_fault_after();
            ++faults_done_;
            const Fault fault = faults_[random() % faults_.size()];
            if (fault == Fault::garbage) {
                // Bytes out of protocol go where a reply would start: inside a bulk payload
                // they would be data, which no protocol can tell from corruption. The values of
                // this test start with 'c', so a line end followed by a type byte is a boundary.
                const std::string_view chunk(buffer, static_cast<size_t>(n));
                size_t at = cut;
                while ((at = chunk.find("\r\n", at)) != std::string_view::npos && at + 2 < chunk.size() &&
                       std::string_view("+-:$*").find(chunk[at + 2]) == std::string_view::npos) {
                    at += 2;
                }
                cut = at == std::string_view::npos || at + 2 >= chunk.size() ? chunk.size() : at + 2;
            }
            send(client, buffer, cut, MSG_NOSIGNAL);
            if (fault == Fault::close_mid_reply) break;
            if (fault == Fault::garbage) send(client, "\x01\x02 not resp\r\n", 13, MSG_NOSIGNAL);
            if (fault == Fault::stall) std::this_thread::sleep_for(std::chrono::milliseconds(stall_ms_));
            send(client, buffer + cut, static_cast<size_t>(n) - cut, MSG_NOSIGNAL);
            if (fault == Fault::answer_twice) send(client, buffer, static_cast<size_t>(n), MSG_NOSIGNAL);
        }
        close(client);
        if (server >= 0) close(server);
    }

    int server_port_;
    std::vector<Fault> faults_;
    int stall_ms_;
    std::mutex mutex_;
    std::mt19937_64 random_;
    int listen_fd_;
    int port_;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    std::atomic<int> faults_done_{0};
    std::thread acceptor_;
    std::vector<std::thread> relays_;
};

std::string pool_config(const RedisServer& healthy, const FaultyRelay& faulty, int timeout_ms) {
    return "[proxy]\nworkers = 2\n[[listener]]\nlisten = \"127.0.0.1:@PORT@\"\nprotocol = \"redis\"\npool = \"main\"\n"
           "[pool.main]\nprotocol = \"redis\"\nservers = [\"" +
           healthy.address() + ":1 healthy\", \"127.0.0.1:" + std::to_string(faulty.port()) +
           ":1 faulty\"]\ntimeout_ms = " + std::to_string(timeout_ms) +
           "\n[pool.main.health]\nfailure_limit = 1000\n";
}

struct Tally {
    std::atomic<uint64_t> correct{0};
    std::atomic<uint64_t> errors{0};
    std::atomic<uint64_t> wrong{0};
    std::mutex mutex;
    std::string first_wrong;
    std::string first_error;

    void mismatch(const std::string& what) {
        if (wrong.fetch_add(1) == 0) {
            const std::lock_guard lock(mutex);
            first_wrong = what;
        }
    }
};

// For `duration`, pipelines SET key value / GET key over 25 keys, values unique per key and round, and checks
// each reply: a SET gets OK or an error naming a backend; a GET gets nil, an error naming a
// backend, or a value once written to that very key.
void checked_load(int port, int client, std::chrono::milliseconds duration, Tally& tally) {
    Client connection(port, 5000);
    const auto end = std::chrono::steady_clock::now() + duration;
    for (int round = 0; std::chrono::steady_clock::now() < end; ++round) {
        std::vector<std::vector<std::string>> commands;
        for (int k = 0; k < 25; ++k) {
            const std::string key = "c" + std::to_string(client) + ":k" + std::to_string(k);
            commands.push_back({"SET", key, key + "|" + std::to_string(round)});
            commands.push_back({"GET", key});
        }
        const auto replies = connection.pipeline(commands);
        if (replies.size() != commands.size()) {
            tally.mismatch("connection lost after " + std::to_string(replies.size()) + " replies");
            return;
        }
        for (size_t i = 0; i < commands.size(); ++i) {
            const std::string got = describe(replies[i].get());
            const std::string& key = commands[i][1];
            if (got.starts_with("error:ERR backend ")) {
                if (tally.errors.fetch_add(1) == 0) {
                    const std::lock_guard lock(tally.mutex);
                    tally.first_error = got;
                }
            } else if (commands[i][0] == "SET" ? got == "status:OK"
                                               : got == "nil" || got.starts_with("string:" + key + "|")) {
                ++tally.correct;
            } else {
                tally.mismatch(commands[i][0] + " " + key + " got " + got);
            }
        }
    }
}

}  // namespace

TEST_CASE("replies cut, corrupted or stalled by a backend fail their requests; no reply reaches the wrong request") {
    RedisServer healthy;
    RedisServer behind;
    FaultyRelay faulty(behind.port(), {Fault::close_mid_reply, Fault::garbage, Fault::stall}, 400, 11);
    ShardProxy proxy(pool_config(healthy, faulty, 200));
    Tally tally;
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c) clients.emplace_back([&, c] { checked_load(proxy.port(), c, std::chrono::seconds(4), tally); });
    for (auto& client : clients) client.join();
    INFO(tally.first_wrong);
    MESSAGE(tally.correct.load() << " replies right, " << tally.errors.load() << " errors naming the backend, "
                                 << faulty.faults() << " faults, " << faulty.connections()
                                 << " connections to the faulty server; first error: " << tally.first_error);
    CHECK(tally.wrong.load() == 0);
    CHECK(faulty.faults() >= 10);
    CHECK(faulty.connections() > 2);  // the proxy reconnected after the faults
    CHECK(tally.errors.load() > 0);
    CHECK(tally.correct.load() > 10000);
    CHECK(proxy.process().running());
    // The faulty server's connection is usable again: a request to it now succeeds.
    Client after(proxy.port());
    bool answered = false;
    for (int i = 0; i < 20 && !answered; ++i) {
        answered = describe(after.command({"SET", "again:" + std::to_string(i), "1"}).get()) == "status:OK" &&
                   describe(after.command({"GET", "again:" + std::to_string(i)}).get()) == "string:1";
    }
    CHECK(answered);
}

TEST_CASE("a backend that answers twice is dropped when the extra reply arrives with nothing asked") {
    RedisServer healthy;
    RedisServer behind;
    FaultyRelay faulty(behind.port(), {Fault::answer_twice}, 0, 5);
    ShardProxy proxy(pool_config(healthy, faulty, 500));
    // One request at a time: a surplus reply then arrives when nothing waits, which the proxy
    // can tell. (Within a pipeline no RESP proxy can: a duplicated reply looks like the next
    // request's. The connection is then dropped at the first surplus the proxy sees.)
    Client client(proxy.port());
    int wrong = 0;
    for (int i = 0; i < 2000; ++i) {
        const std::string key = "one:" + std::to_string(i);
        const std::string set = describe(client.command({"SET", key, key}).get());
        const std::string get = describe(client.command({"GET", key}).get());
        if (!(set == "status:OK" || set.starts_with("error:ERR backend "))) ++wrong;
        if (!(get == "string:" + key || get == "nil" || get.starts_with("error:ERR backend "))) ++wrong;
    }
    MESSAGE(faulty.faults() << " duplicated replies, " << faulty.connections() << " connections");
    CHECK(faulty.faults() > 0);
    CHECK(wrong == 0);
    CHECK(faulty.connections() > 1);  // dropped at a surplus reply, and connected again
}
