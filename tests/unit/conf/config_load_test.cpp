// Valid configs load into exactly the values written, and absent keys take their defaults.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <thread>

#include "conf/config.h"
#include "tests/unit/conf/config_text.h"

namespace shardproxy::conf {
namespace {

constexpr std::string_view full_config = R"(
[proxy]
workers = 3
max_client_connections = 200
max_request_bytes = 4096
drain_timeout_ms = 250

[[listener]]
name = "redis-front"
listen = "127.0.0.1:6380"
protocol = "redis"
pool = "main"
routes = [ { prefix = "session:", pool = "sessions" },
           { prefix = "s:", pool = "sessions" } ]

[[listener]]
listen = "unix:/run/shardproxy.sock"
pool = "sessions"

[pool.main]
protocol = "redis"
servers = [ "127.0.0.1:7001:1 cache-a",
            "127.0.0.1:7002:2 cache-b",
            "unix:/run/redis-c.sock:1 cache-c" ]
hash = "murmur"
distribution = "maglev"
hash_tag = "{}"
timeout_ms = 400
server_connections = 4
replicas = 1

[pool.sessions]
servers = ["[::1]:7010", "10.0.0.9:11211"]
distribution = "modula"

[pool.mc]
protocol = "memcache"
servers = ["127.0.0.1:11211"]
)";

Config load(std::string_view text) {
    ConfigLoad load = load_config_string(text, "test.toml");
    INFO(test::problems(text));
    REQUIRE(load.errors.empty());
    REQUIRE(load.config.has_value());
    return std::move(*load.config);
}

TEST_CASE("a full config loads with every value as written") {
    const Config config = load(full_config);
    CHECK(config.source == "test.toml");
    CHECK(config.proxy.workers == 3);
    CHECK(config.proxy.max_client_connections == 200);
    CHECK(config.proxy.max_request_bytes == 4096);
    CHECK(config.proxy.drain_timeout_ms == 250);

    REQUIRE(config.listeners.size() == 2);
    const ListenerConfig& front = config.listeners[0];
    CHECK(front.name == "redis-front");
    CHECK(front.listen.to_string() == "127.0.0.1:6380");
    CHECK(front.protocol == Protocol::redis);
    CHECK(front.pool == "main");
    CHECK(front.routes == std::vector<RouteConfig>{{"session:", "sessions"}, {"s:", "sessions"}});
    CHECK(config.listeners[1].listen.kind == Address::Kind::unix_socket);
    CHECK(config.listeners[1].listen.path == "/run/shardproxy.sock");

    REQUIRE(config.pools.size() == 3);
    const PoolConfig* main = config.find_pool("main");
    REQUIRE(main != nullptr);
    CHECK(main->name == "main");
    CHECK(main->protocol == Protocol::redis);
    REQUIRE(main->servers.size() == 3);
    CHECK(main->servers[0].address.to_string() == "127.0.0.1:7001");
    CHECK(main->servers[0].identity == "cache-a");
    CHECK(main->servers[1].weight == 2);
    CHECK(main->servers[1].name == "cache-b");
    CHECK(main->servers[2].address.to_string() == "unix:/run/redis-c.sock");
    CHECK(main->servers[2].identity == "cache-c");
    CHECK(main->hash == "murmur");
    CHECK(main->distribution == "maglev");
    CHECK(main->hash_tag == "{}");
    CHECK(main->timeout_ms == 400);
    CHECK(main->server_connections == 4);
    CHECK(main->replicas == 1);

    const PoolConfig* sessions = config.find_pool("sessions");
    REQUIRE(sessions != nullptr);
    REQUIRE(sessions->servers.size() == 2);
    CHECK(sessions->servers[0].identity == "[::1]:7010");
    CHECK(sessions->servers[1].identity == "10.0.0.9");
    CHECK(sessions->distribution == "modula");
    CHECK(config.find_pool("mc")->protocol == Protocol::memcache);
    CHECK(config.find_pool("absent") == nullptr);
}

TEST_CASE("absent keys take the defaults of conf/config.h") {
    const Config config = load(test::minimal_config);
    CHECK(config.proxy.workers == std::max(1u, std::thread::hardware_concurrency()));
    CHECK(config.proxy.max_client_connections == 10000);
    CHECK(config.proxy.max_request_bytes == 512ull * 1024 * 1024);
    CHECK(config.proxy.drain_timeout_ms == 5000);

    REQUIRE(config.listeners.size() == 1);
    CHECK(config.listeners[0].name == "listener-0");
    CHECK(config.listeners[0].protocol == Protocol::redis);
    CHECK(config.listeners[0].routes.empty());

    REQUIRE(config.pools.size() == 1);
    const PoolConfig& pool = config.pools[0];
    CHECK(pool.protocol == Protocol::redis);
    CHECK(pool.hash == "fnv1a_64");
    CHECK(pool.distribution == "ketama");
    CHECK(pool.hash_tag.empty());
    CHECK(pool.timeout_ms == 1000);
    CHECK(pool.server_connections == 1);
    CHECK(pool.replicas == 1);
    REQUIRE(pool.servers.size() == 1);
    CHECK(pool.servers[0].weight == 1);
}

TEST_CASE("unnamed listeners are called listener-N after their position, counting from 0") {
    const Config config = load(R"([[listener]]
name = "front"
listen = "127.0.0.1:6380"
pool = "main"

[[listener]]
listen = "[::1]:6380"
pool = "main"

[pool.main]
servers = ["127.0.0.1:7001"]
)");
    REQUIRE(config.listeners.size() == 2);
    CHECK(config.listeners[0].name == "front");
    CHECK(config.listeners[1].name == "listener-1");
    CHECK(config.listeners[1].listen.to_string() == "[::1]:6380");
}

TEST_CASE("memcache pools load even though memcache listeners do not") {
    const Config config = load(std::string(test::minimal_config) +
                               "\n[pool.mc]\nprotocol = \"memcache\"\n"
                               "servers = [\"127.0.0.1:11211\"]\n");
    CHECK(config.find_pool("mc")->protocol == Protocol::memcache);
}

TEST_CASE("the demo config file runs three named redis servers behind one listener with ketama") {
    const std::string path = std::string(SHARDPROXY_SOURCE_DIR) + "/conf/demo.toml";
    const ConfigLoad load = load_config_file(path);
    REQUIRE(load.errors.empty());
    const Config& config = *load.config;
    CHECK(config.source == path);
    CHECK(config.proxy.workers == 2);
    REQUIRE(config.listeners.size() == 1);
    CHECK(config.listeners[0].listen.to_string() == "127.0.0.1:6380");
    CHECK(config.listeners[0].protocol == Protocol::redis);
    REQUIRE(config.pools.size() == 1);
    const PoolConfig& pool = config.pools[0];
    CHECK(pool.hash == "md5");
    CHECK(pool.distribution == "ketama");
    REQUIRE(pool.servers.size() == 3);
    const char* names[] = {"cache-a", "cache-b", "cache-c"};
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(pool.servers[i].identity == names[i]);
        CHECK(pool.servers[i].address.to_string() == "127.0.0.1:" + std::to_string(7001 + i));
    }
}

}  // namespace
}  // namespace shardproxy::conf
