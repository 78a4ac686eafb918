// Every class of config problem is reported at the offending key or value, worded for an operator.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "conf/config.h"
#include "routing/distribution.h"
#include "tests/unit/conf/config_text.h"

namespace shardproxy::conf {
namespace {

using test::minimal_config;
using test::problems;

TEST_CASE("ConfigError::to_string gives FILE:LINE:COL: message, or FILE: message with no place") {
    CHECK(ConfigError{"shardproxy.toml", 12, 5, "bad"}.to_string() == "shardproxy.toml:12:5: bad");
    CHECK(ConfigError{"shardproxy.toml", 0, 0, "bad"}.to_string() == "shardproxy.toml: bad");
}

TEST_CASE("a config with problems yields no Config") {
    const ConfigLoad load = load_config_string("[proxy]\nworkers = 0\n", "test.toml");
    CHECK_FALSE(load.config.has_value());
    CHECK_FALSE(load.errors.empty());
}

TEST_CASE("a TOML syntax error is reported at toml++'s position") {
    const ConfigLoad load = load_config_string("[proxy]\nworkers = = 2\n", "test.toml");
    REQUIRE(load.errors.size() == 1);
    CHECK(load.errors[0].file == "test.toml");
    CHECK(load.errors[0].line == 2);
    CHECK(load.errors[0].column == 11);
    CHECK_FALSE(load.errors[0].message.empty());
}

TEST_CASE("an unknown key is named with its path and the nearest valid key") {
    CHECK(problems(std::string(minimal_config) + "hsah = \"md5\"\n") ==
          "test.toml:7:1: unknown key 'pool.main.hsah'; did you mean 'hash'?\n");
    CHECK(problems(std::string(minimal_config) + "[proxy]\nworker = 2\n") ==
          "test.toml:8:1: unknown key 'proxy.worker'; did you mean 'workers'?\n");
}

TEST_CASE("an unknown key with no close match lists the valid keys") {
    CHECK(
        problems(std::string(minimal_config) + "[proxy]\ncolour = 2\n") ==
        "test.toml:8:1: unknown key 'proxy.colour'; expected one of: workers, admin, max_client_connections, "
        "max_request_bytes, drain_timeout_ms, max_client_output_bytes, client_request_timeout_ms, "
        "client_idle_timeout_ms, log_level, log_file\n");
}

TEST_CASE("an unknown key inside a route is named with the listener and route index") {
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
pool = "main"
routes = [ { prefix = "a:", pol = "main" } ]

[pool.main]
servers = ["127.0.0.1:7001"]
)") == "test.toml:4:12: listener[0].routes[0] is missing the required key 'pool'\n"
       "test.toml:4:29: unknown key 'listener[0].routes[0].pol'; did you mean 'pool'?\n");
}

TEST_CASE("a misspelt section is an unknown top-level key") {
    CHECK(problems(std::string(minimal_config) + "[pools.other]\nservers = []\n") ==
          "test.toml:7:2: unknown key 'pools'; did you mean 'pool'?\n");
}

TEST_CASE("a value of the wrong type names the key and the type it must have") {
    CHECK(problems(std::string(minimal_config) + "timeout_ms = \"400\"\n") ==
          "test.toml:7:14: pool.main.timeout_ms must be an integer\n");
    CHECK(problems(std::string(minimal_config) + "hash = 5\n") ==
          "test.toml:7:8: pool.main.hash must be a string\n");
    CHECK(problems("proxy = 3\n" + std::string(minimal_config)) == "test.toml:1:9: proxy must be a table\n");
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
pool = "main"

[pool.main]
servers = "127.0.0.1:7001"
)") == "test.toml:6:11: pool.main.servers must be an array of strings\n");
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
pool = "main"

[pool.main]
servers = ["127.0.0.1:7001", 7002]
)") == "test.toml:6:30: pool.main.servers[1] must be a string\n");
    CHECK(problems(R"([listener]
listen = "127.0.0.1:6380"
pool = "main"

[pool.main]
servers = ["127.0.0.1:7001"]
)") == "test.toml:1:1: listener must be an array of tables\n");
}

TEST_CASE("an integer out of range names the range") {
    CHECK(problems(std::string(minimal_config) + "server_connections = 65\n") ==
          "test.toml:7:22: pool.main.server_connections must be from 1 to 64 (got 65)\n");
    CHECK(problems(std::string(minimal_config) + "timeout_ms = 0\n") ==
          "test.toml:7:14: pool.main.timeout_ms must be at least 1 (got 0)\n");
    CHECK(problems(std::string(minimal_config) + "timeout_ms = 4294967296\n") ==
          "test.toml:7:14: pool.main.timeout_ms is too large: at most 4294967295 (got 4294967296)\n");
    CHECK(problems("[proxy]\nworkers = 0\nmax_request_bytes = 1000\n" + std::string(minimal_config)) ==
          "test.toml:2:11: proxy.workers must be from 1 to 1024 (got 0)\n"
          "test.toml:3:21: proxy.max_request_bytes must be at least 1024 (got 1000)\n");
}

TEST_CASE("a bad listen address says what is wrong with it") {
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1"
pool = "main"

[pool.main]
servers = ["127.0.0.1:7001"]
)") == "test.toml:2:10: listener[0].listen: '127.0.0.1' has no port; expected host:port, [IPv6]:port or "
       "unix:/path\n");
}

TEST_CASE("a bad server address says what is wrong with it") {
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
pool = "main"

[pool.main]
servers = ["127.0.0.1:7001", "::1:7002"]
)") == "test.toml:6:30: pool.main.servers[1]: '::1:7002' has too many ':'; write IPv6 addresses in brackets, "
       "like [::1]:6379\n");
}

TEST_CASE("a bad weight names the weight and the allowed range") {
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
pool = "main"

[pool.main]
servers = ["127.0.0.1:7001:0 cache-a"]
)") == "test.toml:6:12: pool.main.servers[0]: weight '0' must be a whole number from 1 to 65535\n");
}

TEST_CASE("duplicate server names, addresses and identities within a pool are refused") {
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
pool = "main"

[pool.main]
servers = ["127.0.0.1:7001 cache-a",
           "127.0.0.1:7002 cache-a",
           "127.0.0.1:7001 cache-c",
           "10.0.0.1:7001",
           "10.0.0.2:7001 10.0.0.1:7001"]
)") == "test.toml:7:12: pool.main.servers[1]: server name 'cache-a' is used twice in this pool\n"
       "test.toml:8:12: pool.main.servers[2]: 127.0.0.1:7001 is already in this pool as 'cache-a'\n"
       "test.toml:10:12: pool.main.servers[4]: identity '10.0.0.1:7001' is already taken by server "
       "'10.0.0.1:7001'; give the servers distinct names\n");
}

TEST_CASE("an empty server list is refused") {
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
pool = "main"

[pool.main]
servers = []
)") == "test.toml:6:11: pool.main.servers must list at least one server\n");
}

TEST_CASE("duplicate listener names and listen addresses are refused") {
    CHECK(problems(R"([[listener]]
name = "front"
listen = "127.0.0.1:6380"
pool = "main"

[[listener]]
name = "front"
listen = "127.0.0.1:6380"
pool = "main"

[pool.main]
servers = ["127.0.0.1:7001"]
)") == "test.toml:7:8: listener[1].name: listener name 'front' is already used by an earlier listener\n"
       "test.toml:8:10: listener[1].listen: 127.0.0.1:6380 is already the address of listener 'front'\n");
}

TEST_CASE("a listener naming an unknown pool gets the nearest pool name") {
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
pool = "mian"
routes = [ { prefix = "s:", pool = "sesions" } ]

[pool.main]
servers = ["127.0.0.1:7001"]

[pool.sessions]
servers = ["127.0.0.1:7002"]
)") == "test.toml:3:8: listener[0].pool: no pool named 'mian' is defined; did you mean 'main'?\n"
       "test.toml:4:36: listener[0].routes[0].pool: no pool named 'sesions' is defined; did you mean "
       "'sessions'?\n");
}

TEST_CASE("a listener naming a pool when none is defined is told to add it") {
    CHECK(problems("[[listener]]\nlisten = \"127.0.0.1:6380\"\npool = \"main\"\n") ==
          "test.toml:3:8: listener[0].pool: no pool named 'main' is defined; add a [pool.main] table\n");
}

TEST_CASE("a pool that is not a table is one error, not also an undefined pool for its listener") {
    CHECK(problems("[[listener]]\nlisten = \"127.0.0.1:6380\"\npool = \"main\"\n[pool]\nmain = \"x\"\n") ==
          "test.toml:5:8: pool.main must be a table\n");
}

TEST_CASE("a pool must speak the protocol of every listener that uses it") {
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
pool = "mc"
routes = [ { prefix = "s:", pool = "mc" } ]

[pool.mc]
protocol = "memcache"
servers = ["127.0.0.1:11211"]
)") == "test.toml:3:8: listener[0].pool: pool 'mc' speaks memcache, but this listener speaks redis\n"
       "test.toml:4:36: listener[0].routes[0].pool: pool 'mc' speaks memcache, but this listener speaks "
       "redis\n");
}

TEST_CASE("a memcache listener over a memcache pool is valid; item_size_max is for memcache pools") {
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:11311"
protocol = "memcache"
pool = "mc"

[pool.mc]
protocol = "memcache"
servers = ["127.0.0.1:11211"]
item_size_max = 2097152
)") == "");
    CHECK(problems(std::string(minimal_config) + "item_size_max = 1024\n") ==
          "test.toml:7:17: pool.main.item_size_max applies to memcache pools only\n");
}

TEST_CASE("key_rules is for memcache listeners, and names one of its two rules") {
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
pool = "main"
key_rules = "memcached"

[pool.main]
servers = ["127.0.0.1:7001"]
)") == "test.toml:4:13: listener[0].key_rules applies to memcache listeners only\n");
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:11311"
protocol = "memcache"
pool = "mc"
key_rules = "memcache"

[pool.mc]
protocol = "memcache"
servers = ["127.0.0.1:11211"]
)") == "test.toml:5:13: listener[0].key_rules: unknown key rule 'memcache'; did you mean 'memcached'?\n");
}

TEST_CASE("listener passwords are for redis listeners, and never echoed in messages") {
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
pool = "main"
auth = "s3cret"
users = ["alice:pw:with:colons", "bob:pw2"]

[pool.main]
servers = ["127.0.0.1:7001"]
)") == "");
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:11311"
protocol = "memcache"
pool = "mc"
auth = "s3cret"
users = ["alice:pw1"]

[pool.mc]
protocol = "memcache"
servers = ["127.0.0.1:11211"]
)") ==
          "test.toml:5:8: listener[0].auth applies to redis listeners only: memcached has no AUTH\n"
          "test.toml:6:9: listener[0].users applies to redis listeners only: memcached has no AUTH\n");
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
pool = "main"
auth = ""
users = ["alice", ":pw", "bob:", "carol:pw1", "carol:pw2"]

[pool.main]
servers = ["127.0.0.1:7001"]
)") == "test.toml:4:8: listener[0].auth must not be empty; leave it out to let clients in without AUTH\n"
       "test.toml:5:10: listener[0].users[0] must be \"user:password\" (it has no ':')\n"
       "test.toml:5:19: listener[0].users[1] has an empty user name before the ':'\n"
       "test.toml:5:26: listener[0].users[2]: user 'bob' has an empty password\n"
       "test.toml:5:47: listener[0].users[4]: user 'carol' already has a password in this listener\n");
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
pool = "main"
auth = "s3cret"
users = ["default:other"]

[pool.main]
servers = ["127.0.0.1:7001"]
)") == "test.toml:5:10: listener[0].users[0]: user 'default' already has a password in this listener\n");
}

TEST_CASE("a pool's auth, auth_user and db are for redis pools, and auth_user needs auth") {
    CHECK(problems(std::string(minimal_config) + "auth = \"pw:with:colons\"\nauth_user = \"proxy\"\ndb = 3\n") == "");
    CHECK(problems(std::string(minimal_config) + "auth_user = \"proxy\"\ndb = -1\n") ==
          "test.toml:7:13: pool.main.auth_user needs pool.main.auth, the user's password\n"
          "test.toml:8:6: pool.main.db must be from 0 to 2147483647 (got -1)\n");
    CHECK(problems(std::string(minimal_config) + "auth = \"\"\ndb = 2147483648\n") ==
          "test.toml:7:8: pool.main.auth must not be empty; leave it out to send no AUTH\n"
          "test.toml:8:6: pool.main.db must be from 0 to 2147483647 (got 2147483648)\n");
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:11311"
protocol = "memcache"
pool = "mc"

[pool.mc]
protocol = "memcache"
servers = ["127.0.0.1:11211"]
auth = "pw"
auth_user = "proxy"
db = 1
)") ==
          "test.toml:9:8: pool.mc.auth applies to redis pools only: memcached has no AUTH or SELECT\n"
          "test.toml:10:13: pool.mc.auth_user applies to redis pools only: memcached has no AUTH or SELECT\n"
          "test.toml:11:6: pool.mc.db applies to redis pools only: memcached has no AUTH or SELECT\n");
}

TEST_CASE("an unknown protocol gets the nearest protocol name") {
    CHECK(problems(std::string(minimal_config) + "protocol = \"memcached\"\n") ==
          "test.toml:7:12: pool.main.protocol: unknown protocol 'memcached'; did you mean 'memcache'?\n");
}

TEST_CASE("an unknown hash function gets the nearest hash name") {
    CHECK(problems(std::string(minimal_config) + "hash = \"fnv1a64\"\n") ==
          "test.toml:7:8: pool.main.hash: unknown hash function 'fnv1a64'; did you mean 'fnv1a_64'?\n");
}

TEST_CASE("a distribution the routing module cannot build is reported with its reason") {
    const routing::WeightedServer server{"127.0.0.1:7001", 1};
    const std::string reason = routing::make_distribution("ketamma", std::span(&server, 1)).error;
    REQUIRE_FALSE(reason.empty());
    CHECK(problems(std::string(minimal_config) + "distribution = \"ketamma\"\n") ==
          "test.toml:7:16: pool.main.distribution: " + reason + "\n");
}

TEST_CASE("a distribution that refuses the pool's weights is reported with the routing module's reason") {
    const routing::WeightedServer servers[] = {{"a", 1}, {"b", 2}};
    const std::string reason = routing::make_distribution("jump", servers).error;
    REQUIRE_FALSE(reason.empty());
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
pool = "main"

[pool.main]
servers = ["127.0.0.1:7001 a", "127.0.0.1:7002:2 b"]
distribution = "jump"
)") == "test.toml:7:16: pool.main.distribution: " + reason + "\n");
}

TEST_CASE("an unknown distribution is still reported when the servers are wrong too") {
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
pool = "main"

[pool.main]
servers = ["127.0.0.1"]
distribution = "ketamma"
)") == "test.toml:6:12: pool.main.servers[0]: '127.0.0.1' has no port; expected host:port, [IPv6]:port or "
       "unix:/path\n"
       "test.toml:7:16: pool.main.distribution: unknown distribution 'ketamma'; did you mean 'ketama'?\n");
}

TEST_CASE("a hash tag must be empty or two characters") {
    CHECK(problems(std::string(minimal_config) + "hash_tag = \"{\"\n") ==
          "test.toml:7:12: pool.main.hash_tag must be empty or exactly two characters, like \"{}\" (got "
          "\"{\")\n");
}

TEST_CASE("miss_failover is a boolean") {
    CHECK(problems(std::string(minimal_config) + "miss_failover = \"yes\"\n") ==
          "test.toml:7:17: pool.main.miss_failover must be a boolean\n");
}

TEST_CASE("replicas cannot exceed the pool's servers; write_policy names one of its policies") {
    CHECK(problems(std::string(minimal_config) + "replicas = 2\n") ==
          "test.toml:7:12: pool.main.replicas is 2 but the pool has only 1 servers\n");
    CHECK(problems(std::string(minimal_config) + "write_policy = \"majority\"\n") ==
          "test.toml:7:16: pool.main.write_policy: unknown write policy 'majority'; expected one of: all, quorum, one\n");
}

TEST_CASE("[pool.NAME.hotkey] checks its ranges and names, and tracking only for redis pools") {
    const std::string hotkey = std::string(minimal_config) + "[pool.main.hotkey]\n";
    CHECK(problems(hotkey + "min_rate = 0\n") ==
          "test.toml:8:12: pool.main.hotkey.min_rate must be from 1 to 100000000 (got 0)\n");
    CHECK(problems(hotkey + "ttl_ms = 0\n") == "test.toml:8:10: pool.main.hotkey.ttl_ms must be from 1 to 3600000 (got 0)\n");
    CHECK(problems(hotkey + "near_cache = 1\n") == "test.toml:8:14: pool.main.hotkey.near_cache must be a boolean\n");
    CHECK(problems(hotkey + "invalidation = \"track\"\n") ==
          "test.toml:8:16: pool.main.hotkey.invalidation: unknown invalidation 'track'; did you mean 'tracking'?\n");
    CHECK(problems(hotkey + "neer_cache = true\n") ==
          "test.toml:8:1: unknown key 'pool.main.hotkey.neer_cache'; did you mean 'near_cache'?\n");
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:11311"
protocol = "memcache"
pool = "main"
[pool.main]
protocol = "memcache"
servers = ["127.0.0.1:11211"]
[pool.main.hotkey]
invalidation = "tracking"
)") == "test.toml:9:16: pool.main.hotkey.invalidation = \"tracking\" needs a redis pool: memcached has no "
       "invalidation messages\n");
}

TEST_CASE("unix_mode is octal permissions, for unix socket listeners") {
    CHECK(problems(R"([[listener]]
listen = "unix:/run/shardproxy/proxy.sock"
unix_mode = "0660"
pool = "main"
[pool.main]
servers = ["127.0.0.1:7001"]
)").empty());
    CHECK(problems(R"([[listener]]
listen = "unix:/run/shardproxy/proxy.sock"
unix_mode = "rw-rw----"
pool = "main"
[pool.main]
servers = ["127.0.0.1:7001"]
)") == "test.toml:3:13: listener[0].unix_mode must be octal permissions from \"0000\" to \"0777\", like "
       "\"0660\" (got \"rw-rw----\")\n");
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
unix_mode = "0660"
pool = "main"
[pool.main]
servers = ["127.0.0.1:7001"]
)") == "test.toml:3:13: listener[0].unix_mode applies to unix socket listeners only\n");
}

TEST_CASE("the admin endpoint takes a TCP address") {
    CHECK(problems("[proxy]\nadmin = \"127.0.0.1:9901\"\n" + std::string(minimal_config)).empty());
    CHECK(problems("[proxy]\nadmin = \"unix:/run/shardproxy/admin.sock\"\n" + std::string(minimal_config)) ==
          "test.toml:2:9: proxy.admin: the admin endpoint listens on TCP only (got a unix socket)\n");
}

TEST_CASE("missing required keys are reported at their table") {
    CHECK(problems("[[listener]]\nname = \"front\"\n\n[pool.main]\nprotocol = \"redis\"\n") ==
          "test.toml:1:1: listener[0] is missing the required key 'listen'\n"
          "test.toml:1:1: listener[0] is missing the required key 'pool'\n"
          "test.toml:4:1: pool.main is missing the required key 'servers'\n");
}

TEST_CASE("a config with no listener is refused") {
    CHECK(problems("[pool.main]\nservers = [\"127.0.0.1:7001\"]\n") ==
          "test.toml: no [[listener]] is defined; at least one is required\n");
    CHECK(problems("listener = []\n[pool.main]\nservers = [\"127.0.0.1:7001\"]\n") ==
          "test.toml:1:12: no [[listener]] is defined; at least one is required\n");
}

TEST_CASE("route prefixes must be non-empty and unique within a listener") {
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
pool = "main"
routes = [ { prefix = "", pool = "main" },
           { prefix = "s:", pool = "main" },
           { prefix = "s:", pool = "main" } ]

[pool.main]
servers = ["127.0.0.1:7001"]
)") == "test.toml:4:23: listener[0].routes[0].prefix must not be empty; keys that match no route already go "
       "to the listener's pool\n"
       "test.toml:6:23: listener[0].routes[2].prefix: prefix 's:' already has a route in this listener\n");
}

TEST_CASE("every problem in a file is reported at once, in file order") {
    CHECK(problems(R"([proxy]
workers = 0
admin = "127.0.0.1"

[[listener]]
listen = "localhost"
pool = "mian"

[pool.main]
servers = ["127.0.0.1:7001:x"]
hsah = "md5"
timeout_ms = "400"
)") == "test.toml:2:11: proxy.workers must be from 1 to 1024 (got 0)\n"
       "test.toml:3:9: proxy.admin: '127.0.0.1' has no port; expected host:port, [IPv6]:port or unix:/path\n"
       "test.toml:6:10: listener[0].listen: 'localhost' has no port; expected host:port, [IPv6]:port or "
       "unix:/path\n"
       "test.toml:7:8: listener[0].pool: no pool named 'mian' is defined; did you mean 'main'?\n"
       "test.toml:10:12: pool.main.servers[0]: weight 'x' must be a whole number from 1 to 65535\n"
       "test.toml:11:1: unknown key 'pool.main.hsah'; did you mean 'hash'?\n"
       "test.toml:12:14: pool.main.timeout_ms must be an integer\n");
}

TEST_CASE("a pool name that is not a bare key is quoted in messages") {
    CHECK(problems(R"([[listener]]
listen = "127.0.0.1:6380"
pool = "my pool"

[pool."my pool"]
servers = ["127.0.0.1:7001"]
timeout_ms = 0
)") == "test.toml:7:14: pool.\"my pool\".timeout_ms must be at least 1 (got 0)\n");
}

TEST_CASE("a file that cannot be read is one error naming the file") {
    const ConfigLoad load = load_config_file("no-such-dir/shardproxy.toml");
    REQUIRE(load.errors.size() == 1);
    CHECK(load.errors[0].to_string() ==
          "no-such-dir/shardproxy.toml: cannot read the file: No such file or directory");
    CHECK_FALSE(load.config.has_value());
}

}  // namespace
}  // namespace shardproxy::conf
