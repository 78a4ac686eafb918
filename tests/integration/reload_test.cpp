// Configuration reload (SIGHUP and POST /reload) of a real shardproxy in front of real
// redis-servers: a config that fails validation or cannot be served is refused and the old one
// keeps serving; a server added to a ketama pool moves about 1/(n+1) of the keys; clients that
// check every reply see no error, no wrong reply and no dropped connection while the
// configuration changes under them again and again.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/http.h"
#include "support/memcache_client.h"
#include "support/processes.h"

using namespace shardproxy::testing;

namespace {

struct Servers {
    explicit Servers(int count) {
        for (int i = 0; i < count; ++i) list.push_back(std::make_unique<RedisServer>());
    }
    // `servers = [...]` with the first `count` servers, named cache-0, cache-1, ...
    std::string line(size_t count) const {
        std::string text = "servers = [";
        for (size_t i = 0; i < count; ++i) {
            text += std::string(i ? ", " : "") + "\"" + list[i]->address() + ":1 cache-" + std::to_string(i) + "\"";
        }
        return text + "]\n";
    }
    std::vector<std::unique_ptr<RedisServer>> list;
};

std::string proxy_section(int admin) {
    return "[proxy]\nworkers = 2\nadmin = \"127.0.0.1:" + std::to_string(admin) + "\"\n\n";
}

std::string main_listener() {
    return "[[listener]]\nname = \"front\"\nlisten = \"127.0.0.1:@PORT@\"\nprotocol = \"redis\"\npool = \"main\"\n\n";
}

// Writes the new configuration where the running proxy reads it, with its port filled in.
void rewrite(const ShardProxy& proxy, std::string config) {
    for (size_t at; (at = config.find("@PORT@")) != std::string::npos;) {
        config.replace(at, 6, std::to_string(proxy.port()));
    }
    std::ofstream(proxy.config_path(), std::ios::trunc) << config;
}

uint64_t metric(int admin, const std::string& series) {
    const std::string text = http_get(admin, "/metrics").body;
    const size_t at = text.find("\n" + series + " ");
    return at == std::string::npos ? UINT64_MAX : std::stoull(text.substr(at + series.size() + 2));
}

bool wait_for(const std::function<bool()>& condition, int timeout_ms = 5000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return condition();
}

}  // namespace

TEST_CASE("a configuration that fails validation or cannot be served is refused; the old one keeps serving") {
    Servers servers(2);
    const int admin = free_port();
    const std::string good = proxy_section(admin) + main_listener() + "[pool.main]\nprotocol = \"redis\"\n" +
                             servers.line(2);
    ShardProxy proxy(good);
    Client client(proxy.port());
    REQUIRE(describe(client.command({"SET", "kept", "v1"}).get()) == "status:OK");

    // An unknown key: SIGHUP logs every problem as FILE:LINE:COL and changes nothing.
    rewrite(proxy, good + "timeout_msec = 5\n");
    kill(proxy.process().pid(), SIGHUP);
    REQUIRE(wait_for([&] { return metric(admin, "shardproxy_config_reload_failures_total") == 1; }));
    CHECK(proxy.log().find("configuration reload refused") != std::string::npos);
    CHECK(proxy.log().find(proxy.config_path() + ":") != std::string::npos);
    CHECK(proxy.log().find("timeout_msec") != std::string::npos);
    CHECK(metric(admin, "shardproxy_config_last_reload_successful") == 0);
    CHECK(describe(client.command({"GET", "kept"}).get()) == "string:v1");

    // Valid TOML and semantics, but a listener address that is taken: refused as a whole, and
    // POST /reload says why.
    rewrite(proxy, good + "\n[[listener]]\nname = \"clash\"\nlisten = \"" + servers.list[0]->address() +
                       "\"\nprotocol = \"redis\"\npool = \"main\"\n");
    const HttpReply refused = http_post(admin, "/reload");
    CHECK(refused.status == 422);
    CHECK(refused.body.find("listener clash") != std::string::npos);
    CHECK(metric(admin, "shardproxy_config_reload_failures_total") == 2);
    CHECK(describe(client.command({"GET", "kept"}).get()) == "string:v1");
    CHECK(describe(Client(proxy.port()).command({"PING"}).get()) == "status:PONG");

    // A GET is not a reload, and a good file afterwards applies.
    CHECK(http_get(admin, "/reload").status == 405);
    rewrite(proxy, good);
    const HttpReply applied = http_post(admin, "/reload");
    CHECK(applied.status == 200);
    CHECK(metric(admin, "shardproxy_config_reloads_total") == 1);
    CHECK(metric(admin, "shardproxy_config_last_reload_successful") == 1);
    CHECK(describe(client.command({"GET", "kept"}).get()) == "string:v1");
}

TEST_CASE("adding a server to a ketama pool moves about 1/(n+1) of the keys, to the new server only") {
    Servers servers(5);
    const int admin = free_port();
    const std::string before = proxy_section(admin) + main_listener() + "[pool.main]\nprotocol = \"redis\"\n" +
                               servers.line(4);
    ShardProxy proxy(before);
    Client client(proxy.port());  // connected before the reload, used after it
    constexpr int kKeys = 5000;
    std::vector<std::vector<std::string>> sets;
    for (int i = 0; i < kKeys; ++i) sets.push_back({"SET", "key:" + std::to_string(i), "value-" + std::to_string(i)});
    for (const auto& reply : client.pipeline(sets)) REQUIRE(describe(reply.get()) == "status:OK");

    rewrite(proxy, proxy_section(admin) + main_listener() + "[pool.main]\nprotocol = \"redis\"\n" + servers.line(5));
    const HttpReply reload = http_post(admin, "/reload");
    REQUIRE(reload.status == 200);
    CHECK(reload.body.find("pool main: servers +cache-4") != std::string::npos);

    std::vector<std::vector<std::string>> gets;
    for (int i = 0; i < kKeys; ++i) gets.push_back({"GET", "key:" + std::to_string(i)});
    const auto replies = client.pipeline(gets);
    int moved = 0;
    for (int i = 0; i < kKeys; ++i) {
        const std::string reply = describe(replies[i].get());
        if (reply == "nil") {
            ++moved;
            // Written again through the proxy, it must land on the new server.
            REQUIRE(describe(client.command({"SET", "key:" + std::to_string(i), "again"}).get()) == "status:OK");
        } else {
            REQUIRE(reply == "string:value-" + std::to_string(i));  // where it was, not copied
        }
    }
    const double fraction = static_cast<double>(moved) / kKeys;
    MESSAGE("moved fraction " << fraction << " (ideal 0.2)");
    CHECK(fraction > 0.14);
    CHECK(fraction < 0.26);
    Client fifth(servers.list[4]->port());
    const ReplyPtr size = fifth.command({"DBSIZE"});
    CHECK(size->integer == moved);
}

TEST_CASE("clients checking every reply see nothing go wrong while the configuration changes under them") {
    Servers servers(4);
    const int admin = free_port();
    const int second_port = free_port();
    const std::string pool = "[pool.main]\nprotocol = \"redis\"\n" + servers.line(3);
    auto hot_keys = [](int ttl_ms) {
        return "[pool.main.hotkey]\nnear_cache = true\nmin_rate = 10\nttl_ms = " + std::to_string(ttl_ms) + "\n\n";
    };
    // A: the starting point. B: other timeouts and connections per server (new connections to
    // every server), other hot-key settings (a new near cache), another listener, and a new
    // pool that a route of the main listener uses for keys the load never has.
    const std::string a = proxy_section(admin) + main_listener() + pool + "timeout_ms = 1000\n" + hot_keys(100);
    const std::string b = proxy_section(admin) +
                          "[[listener]]\nname = \"front\"\nlisten = \"127.0.0.1:@PORT@\"\nprotocol = \"redis\"\n"
                          "pool = \"main\"\nroutes = [ { prefix = \"other:\", pool = \"other\" } ]\n\n"
                          "[[listener]]\nname = \"second\"\nlisten = \"127.0.0.1:" +
                          std::to_string(second_port) + "\"\nprotocol = \"redis\"\npool = \"other\"\n\n" + pool +
                          "timeout_ms = 1500\nserver_connections = 2\n" + hot_keys(300) +
                          "[pool.other]\nprotocol = \"redis\"\nservers = [\"" + servers.list[3]->address() +
                          ":1 cache-x\"]\n";
    ShardProxy proxy(a);

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> checked{0};
    std::atomic<uint64_t> wrong{0};
    std::vector<std::string> problems(5);
    std::vector<std::thread> clients;
    // A hot key that is never written: read by its own client, through fills and the near
    // cache, whose owners the reloads replace.
    REQUIRE(describe(Client(proxy.port()).command({"SET", "hot:fixed", "steady"}).get()) == "status:OK");
    clients.emplace_back([&] {
        Client client(proxy.port());
        const std::vector<std::vector<std::string>> reads(32, {"GET", "hot:fixed"});
        while (!stop.load()) {
            const auto replies = client.pipeline(reads);
            for (size_t i = 0; i < reads.size(); ++i) {
                const std::string got = i < replies.size() && replies[i] ? describe(replies[i].get()) : "no reply";
                if (got != "string:steady" && wrong.fetch_add(1) == 0) problems[4] = "hot read got " + got;
                checked.fetch_add(1);
            }
            if (replies.size() != reads.size()) return;
        }
    });
    for (int c = 0; c < 4; ++c) {
        clients.emplace_back([&, c] {
            Client client(proxy.port());
            for (uint64_t round = 0; !stop.load(); ++round) {
                // A pipeline of SETs of unique values, each followed by its GET.
                std::vector<std::vector<std::string>> commands;
                for (int k = 0; k < 16; ++k) {
                    const std::string key = "load:" + std::to_string(c) + ":" + std::to_string(k);
                    const std::string value = std::to_string(round) + "/" + std::to_string(c) + "/" + std::to_string(k);
                    commands.push_back({"SET", key, value});
                    commands.push_back({"GET", key});
                }
                const auto replies = client.pipeline(commands);
                for (size_t i = 0; i < commands.size(); ++i) {
                    const std::string expected = i % 2 == 0 ? "status:OK" : "string:" + commands[i - 1][2];
                    const std::string got = i < replies.size() && replies[i] ? describe(replies[i].get()) : "no reply";
                    if (got != expected) {
                        if (wrong.fetch_add(1) == 0) problems[c] = "expected " + expected + ", got " + got;
                    }
                    checked.fetch_add(1);
                }
                if (replies.size() != commands.size()) return;  // the connection is gone
            }
        });
    }

    int reloads = 0;
    for (int i = 0; i < 10; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        rewrite(proxy, i % 2 == 0 ? b : a);
        if (i % 3 == 0) {
            kill(proxy.process().pid(), SIGHUP);
            REQUIRE(wait_for([&] { return metric(admin, "shardproxy_config_reloads_total") == uint64_t(i + 1); }));
        } else {
            REQUIRE(http_post(admin, "/reload").status == 200);
        }
        ++reloads;
        if (i % 2 == 0) {
            // B is in force: the new listener serves the new pool.
            Client second(second_port);
            CHECK(describe(second.command({"SET", "other:x", "1"}).get()) == "status:OK");
            CHECK(http_get(admin, "/config").body.find(std::to_string(second_port)) != std::string::npos);
        } else {
            const int fd = connect_loopback(second_port);  // A again: the second listener is gone
            CHECK(fd < 0);
            if (fd >= 0) close(fd);
        }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    stop = true;
    for (auto& client : clients) client.join();
    INFO(problems[0] << problems[1] << problems[2] << problems[3] << problems[4]);
    MESSAGE(checked.load() << " replies checked over " << reloads << " reloads");
    CHECK(wrong.load() == 0);
    CHECK(checked.load() > 1000);
    CHECK(metric(admin, "shardproxy_config_reloads_total") == 10);
    CHECK(wait_for([&] { return metric(admin, "shardproxy_client_connections") == 0; }));
}

TEST_CASE("a server marked down stays down through a reload that changes its settings, until a probe answers") {
    Servers servers(2);
    const int admin = free_port();
    auto config = [&](int timeout_ms) {
        return "[proxy]\nworkers = 1\nadmin = \"127.0.0.1:" + std::to_string(admin) + "\"\n\n" + main_listener() +
               "[pool.main]\nprotocol = \"redis\"\n" + servers.line(2) + "timeout_ms = " + std::to_string(timeout_ms) +
               "\n\n[pool.main.health]\nfailure_limit = 1\nprobe_interval_ms = 100\nprobe_max_interval_ms = 200\n";
    };
    ShardProxy proxy(config(300));
    Client client(proxy.port());
    Client direct1(servers.list[1]->port());
    std::string key;  // one that lives on cache-1
    for (int i = 0; key.empty(); ++i) {
        REQUIRE(i < 100);
        const std::string candidate = "outage:" + std::to_string(i);
        REQUIRE(describe(client.command({"SET", candidate, "v"}).get()) == "status:OK");
        if (describe(direct1.command({"EXISTS", candidate}).get()) == "integer:1") key = candidate;
    }
    const std::string labels = "{pool=\"main\",server=\"cache-1\",address=\"" + servers.list[1]->address() + "\"}";
    const std::string up = "shardproxy_server_up" + labels;
    const std::string downs = "shardproxy_server_downs_total" + labels;

    // Hung: it still accepts connections, and answers nothing.
    servers.list[1]->process().pause();
    CHECK(describe(client.command({"GET", key}).get()).ends_with("timed out"));
    REQUIRE(wait_for([&] { return metric(admin, up) == 0; }));

    // A new timeout gives the server new connections. It is still the same server, still down:
    // its requests are refused at once, not sent to wait on a hung server again.
    rewrite(proxy, config(301));
    REQUIRE(http_post(admin, "/reload").status == 200);
    const std::string refused = describe(client.command({"GET", key}).get());
    CAPTURE(refused);
    CHECK(refused.find("is down: 1 consecutive failures, last: timed out") != std::string::npos);
    CHECK(metric(admin, downs) == 1);  // the same outage, not a new one

    // Back once it answers a probe.
    servers.list[1]->process().resume();
    REQUIRE(wait_for([&] { return metric(admin, up) == 1; }));
    CHECK(describe(client.command({"GET", key}).get()) == "string:v");
}

TEST_CASE("a request sent after a reload is not let past the client's earlier one on a retired connection") {
    Servers servers(1);
    const int admin = free_port();
    auto config = [&](int timeout_ms) {
        return "[proxy]\nworkers = 1\nadmin = \"127.0.0.1:" + std::to_string(admin) + "\"\n\n" + main_listener() +
               "[pool.main]\nprotocol = \"redis\"\n" + servers.line(1) + "timeout_ms = " +
               std::to_string(timeout_ms) + "\n";
    };
    ShardProxy proxy(config(5000));
    Client direct(servers.list[0]->port());
    REQUIRE(describe(direct.command({"SET", "order", "old"}).get()) == "status:OK");

    // An 8 MB SET cannot all reach a hung server: most of it waits in the proxy, on the
    // connection of the configuration before the reload that follows. The reload (a new
    // timeout_ms) gives the server a new connection, and the client then asks for the key. Sent
    // on the new connection at once, the small GET would reach the server whole while the SET
    // is still arriving, and read "old"; it must wait for the SET's answer.
    servers.list[0]->process().pause();
    RawConnection raw(proxy.port());
    const std::string value(8 << 20, 'n');
    REQUIRE(raw.send("*3\r\n$3\r\nSET\r\n$5\r\norder\r\n$" + std::to_string(value.size()) + "\r\n" + value + "\r\n"));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    rewrite(proxy, config(5001));
    REQUIRE(http_post(admin, "/reload").status == 200);
    REQUIRE(raw.send("*2\r\n$3\r\nGET\r\n$5\r\norder\r\n"));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    servers.list[0]->process().resume();
    CHECK(raw.read_until("\r\n", 5000) == "+OK\r\n");
    const std::string header = raw.read_until("\r\n", 5000);
    CHECK(header == "$" + std::to_string(value.size()) + "\r\n");
}
