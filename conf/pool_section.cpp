#include <algorithm>
#include <limits>
#include <vector>

#include "conf/nearest_key.h"
#include "conf/protocol.h"
#include "conf/sections.h"
#include "conf/server_string.h"
#include "routing/distribution.h"
#include "routing/hash_function.h"

namespace shardproxy::conf {
namespace {

// Why a new server cannot join the servers already read, or "" when it can.
std::string clash(const std::vector<ServerConfig>& servers, const ServerConfig& server) {
    for (const ServerConfig& other : servers) {
        if (!server.name.empty() && other.name == server.name) {
            return "server name '" + server.name + "' is used twice in this pool";
        }
        if (other.address == server.address) {
            return server.address.to_string() + " is already in this pool as '" + other.identity + "'";
        }
        // Placement hashes identities, so two servers sharing one would share one ring position.
        if (other.identity == server.identity) {
            return "identity '" + server.identity + "' is already taken by server '" +
                   other.address.to_string() + "'; give the servers distinct names";
        }
    }
    return "";
}

void read_servers(const Setting& servers, PoolConfig& pool) {
    if (servers.node.as_array()->empty()) {
        servers.error(servers.path + " must list at least one server");
        return;
    }
    servers.for_each_element(ValueType::string, [&](const Setting& entry, std::size_t) {
        ServerParse parsed = parse_server(entry.string());
        if (!parsed.error.empty()) {
            entry.error(entry.path + ": " + parsed.error);
            return;
        }
        if (std::string why = clash(pool.servers, parsed.server); !why.empty()) {
            entry.error(entry.path + ": " + why);
            return;
        }
        pool.servers.push_back(std::move(parsed.server));
    });
}

void refuse_unless_redis(const Setting& setting, const PoolConfig& pool) {
    if (pool.protocol != Protocol::redis) {
        setting.error(setting.path + " applies to redis pools only: memcached has no AUTH or SELECT");
    }
}

const KeySpec<PoolConfig> pool_table[] = {
    {.name = "protocol",
     .type = ValueType::string,
     .default_value = "\"redis\"",
     .help =
         "What the servers speak: \"redis\" or \"memcache\". Must match every listener that uses the pool.",
     .apply =
         [](const Setting& protocol, PoolConfig& pool) {
             if (const std::optional<Protocol> parsed = parse_protocol(protocol.string())) {
                 pool.protocol = *parsed;
             } else {
                 protocol.unknown_name("protocol", protocol_names());
             }
         }},
    {.name = "servers",
     .type = ValueType::string_array,
     .default_value = "(required)",
     .help = "The backend servers, at least one; see \"Server strings\" in conf/README.md.",
     .apply = read_servers,
     .required = true},
    {.name = "hash",
     .type = ValueType::string,
     .default_value = "\"fnv1a_64\"",
     .help = "Key hash function, by its twemproxy name; see \"Hash functions\" in conf/README.md.",
     .apply =
         [](const Setting& hash, PoolConfig& pool) {
             if (routing::find_hash_function(hash.string()) == nullptr) {
                 hash.unknown_name("hash function", routing::hash_function_names());
             }
             pool.hash = hash.string();
         }},
    {.name = "distribution",
     .type = ValueType::string,
     .default_value = "\"ketama\"",
     .help = "How key hashes map onto servers; see \"Distributions\" in conf/README.md.",
     .apply = [](const Setting& name, PoolConfig& pool) { pool.distribution = name.string(); }},
    {.name = "hash_tag",
     .type = ValueType::string,
     .default_value = "\"\"",
     .help = "Two characters, like \"{}\": only the text between them is hashed (when non-empty), so related "
             "keys land together. Empty hashes the whole key.",
     .apply =
         [](const Setting& tag, PoolConfig& pool) {
             if (!tag.string().empty() && tag.string().size() != 2) {
                 tag.error(tag.path + " must be empty or exactly two characters, like \"{}\" (got \"" +
                           std::string(tag.string()) + "\")");
             }
             pool.hash_tag = tag.string();
         }},
    {.name = "timeout_ms",
     .type = ValueType::integer,
     .default_value = "1000",
     .help = "How long a request may wait for its reply, in milliseconds, counted from when it is sent to "
             "the server; at least 1.",
     .apply = [](const Setting& timeout, PoolConfig& pool) { timeout.read_at_least(pool.timeout_ms, 1); }},
    {.name = "server_connections",
     .type = ValueType::integer,
     .default_value = "1",
     .help = "Connections to each server from each worker, from 1 to 64.",
     .apply = [](const Setting& count, PoolConfig& pool) { count.read(pool.server_connections, 1, 64); }},
    {.name = "item_size_max",
     .type = ValueType::integer,
     .default_value = "1048576",
     .help = "memcache pools only: the largest value a client may store, in bytes (1 to 1073741824). Set it "
             "to the servers' item size (memcached -I, default 1 MiB). A larger value is answered with "
             "\"SERVER_ERROR object too large for cache\" and skipped without being buffered.",
     .apply =
         [](const Setting& size, PoolConfig& pool) { size.read(pool.item_size_max, 1, 1u << 30); }},
    {.name = "on_down",
     .type = ValueType::string,
     .default_value = "\"failover\"",
     .help = "Requests for a server marked down: \"failover\" (served by the key's other replicas; no key "
             "moves, and with one replica they fail at once), \"rehash\" (the server leaves the ring while "
             "down and its keys move to the others, as twemproxy's auto_eject_hosts), \"fail\" (fail at once).",
     .apply =
         [](const Setting& policy, PoolConfig& pool) {
             static constexpr std::string_view names[] = {"failover", "rehash", "fail"};
             if (policy.string() == "failover") {
                 pool.on_down = OnDown::failover;
             } else if (policy.string() == "rehash") {
                 pool.on_down = OnDown::rehash;
             } else if (policy.string() == "fail") {
                 pool.on_down = OnDown::fail;
             } else {
                 policy.unknown_name("on_down policy", names);
             }
         }},
    {.name = "read_policy",
     .type = ValueType::string,
     .default_value = "\"primary\"",
     .help = "With replicas > 1, where reads go first: \"primary\" (the key's first replica in service) or "
             "\"spread\" (the replica in service with the fewest requests waiting on this worker's "
             "connection, so reads of a hot key share its replicas). Either way a failed read moves on to the "
             "next replica.",
     .apply =
         [](const Setting& policy, PoolConfig& pool) {
             static constexpr std::string_view names[] = {"primary", "spread"};
             if (policy.string() == "primary") {
                 pool.read_policy = ReadPolicy::primary;
             } else if (policy.string() == "spread") {
                 pool.read_policy = ReadPolicy::spread;
             } else {
                 policy.unknown_name("read policy", names);
             }
         }},
    {.name = "miss_failover",
     .type = ValueType::boolean,
     .default_value = "false",
     .help = "With replicas > 1: a read that misses (Redis GET, memcached get/gets) is retried on the next "
             "replica, and a value found there is written back, with its remaining time to live, to the "
             "replicas that missed, so a replica that restarted empty heals.",
     .apply = [](const Setting& enabled, PoolConfig& pool) { pool.miss_failover = enabled.boolean(); }},
    {.name = "health",
     .type = ValueType::table,
     .default_value = "(all defaults)",
     .help = "How servers are marked down and brought back: the [pool.NAME.health] table.",
     .apply =
         [](const Setting& health, PoolConfig& pool) {
             read_keys(*health.node.as_table(), health.path, health_keys(), pool.health, health.context);
             if (pool.health.probe_max_interval_ms < pool.health.probe_interval_ms) {
                 health.error(key_path(health.path, "probe_max_interval_ms") + " (" +
                              std::to_string(pool.health.probe_max_interval_ms) +
                              ") must not be less than probe_interval_ms (" +
                              std::to_string(pool.health.probe_interval_ms) + ")");
             }
         }},
    {.name = "hotkey",
     .type = ValueType::table,
     .default_value = "(absent: no hot-key handling)",
     .help = "Hot-key detection and its remedies: the [pool.NAME.hotkey] table.",
     .apply =
         [](const Setting& hotkey, PoolConfig& pool) {
             pool.hotkey.enabled = true;
             read_keys(*hotkey.node.as_table(), hotkey.path, hotkey_keys(), pool.hotkey, hotkey.context);
         }},
    {.name = "replicas",
     .type = ValueType::integer,
     .default_value = "1",
     .help = "Copies of every key, on that many distinct servers (the distribution's replica set), from 1 "
             "to the number of servers.",
     .apply =
         [](const Setting& replicas, PoolConfig& pool) {
             replicas.read(pool.replicas, 1, 64);
             if (!pool.servers.empty() && pool.replicas > pool.servers.size()) {
                 replicas.error(replicas.path + " is " + std::to_string(pool.replicas) + " but the pool has only " +
                                std::to_string(pool.servers.size()) + " servers");
             }
         }},
    {.name = "write_policy",
     .type = ValueType::string,
     .default_value = "\"all\"",
     .help = "With replicas > 1, when a write is answered: \"all\" (every replica answered; any failure is "
             "the client's error, naming the server), \"quorum\" (a majority succeeded), \"one\" (the first "
             "success; the rest finish in the background and their failures are counted).",
     .apply =
         [](const Setting& policy, PoolConfig& pool) {
             static constexpr std::string_view names[] = {"all", "quorum", "one"};
             if (policy.string() == "all") {
                 pool.write_policy = WritePolicy::all;
             } else if (policy.string() == "quorum") {
                 pool.write_policy = WritePolicy::quorum;
             } else if (policy.string() == "one") {
                 pool.write_policy = WritePolicy::one;
             } else {
                 policy.unknown_name("write policy", names);
             }
         }},
    {.name = "auth",
     .type = ValueType::string,
     .default_value = "(unset)",
     .help = "redis pools only: the password every new connection to a server sends with AUTH before any "
             "request; a refusal fails the connection. Any bytes, ':' included.",
     .apply =
         [](const Setting& auth, PoolConfig& pool) {
             refuse_unless_redis(auth, pool);
             if (auth.string().empty()) auth.error(auth.path + " must not be empty; leave it out to send no AUTH");
             pool.auth_password = auth.string();
         }},
    {.name = "auth_user",
     .type = ValueType::string,
     .default_value = "(unset: the default user)",
     .help = "redis pools only: the ACL user to AUTH as, with auth as its password. Unset: AUTH with the "
             "password alone (the user \"default\").",
     .apply =
         [](const Setting& user, PoolConfig& pool) {
             refuse_unless_redis(user, pool);
             if (user.string().empty()) user.error(user.path + " must not be empty");
             pool.auth_user = user.string();
         }},
    {.name = "db",
     .type = ValueType::integer,
     .default_value = "0",
     .help = "redis pools only: the database every new connection to a server selects (SELECT) before any "
             "request, from 0 to 2147483647; the server refusing it fails the connection.",
     .apply =
         [](const Setting& db, PoolConfig& pool) {
             refuse_unless_redis(db, pool);
             db.read(pool.db, 0, std::numeric_limits<int32_t>::max());
         }},
};

// The distribution is checked by building it, once the servers are known, so its own rules
// (weights, server counts) are enforced by the code that will run it.
void check_distribution(const toml::table& table, const std::string& path, const PoolConfig& pool,
                        const Context& context) {
    const toml::node* named = table.get("distribution");
    const toml::array* servers = table.get_as<toml::array>("servers");
    const std::string key = key_path(path, "distribution");
    if (servers != nullptr && !pool.servers.empty() && servers->size() == pool.servers.size()) {
        std::vector<routing::WeightedServer> weighted;
        for (const ServerConfig& server : pool.servers) weighted.push_back({server.identity, server.weight});
        const routing::DistributionBuild build = routing::make_distribution(pool.distribution, weighted);
        if (build.distribution == nullptr) {
            report_at(context.diagnostics, named != nullptr ? named->source() : table.source(),
                      key + ": " + build.error);
        }
        return;
    }
    // Some servers are wrong, so the distribution cannot be built; still catch a misspelt name.
    const auto& names = routing::distribution_names();
    if (named != nullptr && named->is_string() &&
        std::find(names.begin(), names.end(), pool.distribution) == names.end()) {
        Setting{*named, key, context}.unknown_name("distribution", names);
    }
}

void read_pool(const Setting& entry, std::string_view name, Config& config) {
    const toml::table& table = *entry.node.as_table();
    PoolConfig pool;
    pool.name = name;
    read_keys(table, entry.path, pool_keys(), pool, entry.context);
    check_distribution(table, entry.path, pool, entry.context);
    if (const toml::node* size = table.get("item_size_max"); size != nullptr && pool.protocol != Protocol::memcache) {
        report_at(entry.context.diagnostics, size->source(),
                  key_path(entry.path, "item_size_max") + " applies to memcache pools only");
    }
    const toml::table* hotkey = table.get_as<toml::table>("hotkey");
    if (const toml::node* invalidation = hotkey != nullptr ? hotkey->get("invalidation") : nullptr;
        invalidation != nullptr && pool.hotkey.invalidation == Invalidation::tracking &&
        pool.protocol != Protocol::redis) {
        report_at(entry.context.diagnostics, invalidation->source(),
                  key_path(key_path(entry.path, "hotkey"), "invalidation") +
                      " = \"tracking\" needs a redis pool: memcached has no invalidation messages");
    }
    if (const toml::node* user = table.get("auth_user"); user != nullptr && !table.contains("auth")) {
        report_at(entry.context.diagnostics, user->source(),
                  key_path(entry.path, "auth_user") + " needs " + key_path(entry.path, "auth") +
                      ", the user's password");
    }
    config.pools.push_back(std::move(pool));
}

}  // namespace

std::span<const KeySpec<PoolConfig>> pool_keys() { return pool_table; }

void read_pools(const Setting& pools, Config& config) {
    for (auto&& [name, value] : *pools.node.as_table()) {
        const Setting entry{value, key_path(pools.path, name.str()), pools.context};
        if (name.str().empty()) {
            report_at(pools.context.diagnostics, name.source(), "pool names must not be empty");
            continue;
        }
        if (check_type(entry, ValueType::table)) {
            read_pool(entry, name.str(), config);
        } else {
            // Keep the name, so listeners that use the pool do not also hear it is undefined.
            PoolConfig placeholder;
            placeholder.name = name.str();
            config.pools.push_back(std::move(placeholder));
        }
    }
}

}  // namespace shardproxy::conf
