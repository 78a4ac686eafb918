#pragma once
// The validated, immutable configuration snapshot. Everything the proxy runs on comes from one
// of these; nothing half-understood gets this far (see load_config_*).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shardproxy::conf {

enum class Protocol { redis, memcache };
std::string_view to_string(Protocol protocol);

struct Address {
    enum class Kind { tcp, unix_socket };
    Kind kind = Kind::tcp;
    std::string host;  // tcp: IPv4/IPv6 literal or host name
    uint16_t port = 0;
    std::string path;  // unix_socket
    // "host:port", "[::1]:port" or "unix:/path"
    std::string to_string() const;
    bool operator==(const Address&) const = default;
};

struct ServerConfig {
    Address address;
    uint32_t weight = 1;
    std::string name;      // optional, as written
    std::string identity;  // name, else host:port, else host when the port is 11211
    bool operator==(const ServerConfig&) const = default;
};

// How a pool's servers are judged, marked down and brought back ([pool.NAME.health]).
struct HealthConfig {
    uint32_t failure_limit = 3;            // consecutive failures that mark a server down
    uint32_t probe_interval_ms = 200;      // first probe of a down server, and after each success
    uint32_t probe_max_interval_ms = 5000; // probes back off, doubling, up to this
    uint32_t max_down_percent = 50;        // never more of the pool down at once
    bool operator==(const HealthConfig&) const = default;
};

// How entries of the near cache are invalidated (see invalidation in conf/README.md).
enum class Invalidation { ttl, tracking };

// Hot-key handling ([pool.NAME.hotkey]): present when the table is, each mechanism on or off.
struct HotKeyConfig {
    bool enabled = false;
    uint32_t min_rate = 100;         // reads per second through this proxy that make a key hot
    uint32_t window_ms = 1000;       // the detector's decay period
    uint32_t tracked_keys = 256;     // candidates each worker's detector follows
    bool near_cache = false;
    uint32_t ttl_ms = 200;
    uint64_t max_bytes = 16u << 20;  // the near cache of the pool, all workers together
    Invalidation invalidation = Invalidation::ttl;
    bool coalesce = true;
    bool spread_replicas = true;
    bool operator==(const HotKeyConfig&) const = default;
};

// What a pool does with requests for a server that is marked down (see on_down in conf/README.md).
enum class OnDown { failover, rehash, fail };
// When a write to several replicas is answered (see write_policy in conf/README.md).
enum class WritePolicy { all, quorum, one };
// Which replica a read goes to first (see read_policy in conf/README.md).
enum class ReadPolicy { primary, spread };

struct PoolConfig {
    std::string name;
    Protocol protocol = Protocol::redis;
    std::vector<ServerConfig> servers;
    std::string hash = "fnv1a_64";
    std::string distribution = "ketama";
    std::string hash_tag;  // "" or exactly two characters
    uint32_t timeout_ms = 1000;
    uint32_t server_connections = 1;
    uint32_t replicas = 1;
    WritePolicy write_policy = WritePolicy::all;
    ReadPolicy read_policy = ReadPolicy::primary;
    bool miss_failover = false;
    uint32_t item_size_max = 1024 * 1024;  // memcache: the largest value a client may store
    // Redis only: how every new connection to a server logs in and picks its database.
    std::string auth_user;      // "" sends AUTH with the password alone
    std::string auth_password;  // "" sends no AUTH
    uint32_t db = 0;            // 0 sends no SELECT
    HealthConfig health;
    HotKeyConfig hotkey;
    OnDown on_down = OnDown::failover;
    bool operator==(const PoolConfig&) const = default;
};

struct RouteConfig {
    std::string prefix;
    std::string pool;
    bool operator==(const RouteConfig&) const = default;
};

// A user a Redis listener accepts with AUTH; a plain password belongs to the user "default".
struct Credential {
    std::string user;
    std::string password;
    bool operator==(const Credential&) const = default;
};

// Which memcached keys a memcache listener accepts (see key_rules in conf/README.md).
enum class KeyRules { strict, memcached };

struct ListenerConfig {
    std::string name;
    Address listen;
    Protocol protocol = Protocol::redis;
    std::string pool;
    std::vector<RouteConfig> routes;
    KeyRules key_rules = KeyRules::strict;
    std::optional<uint32_t> unix_mode;  // permissions of a unix socket; unset: as the umask leaves them
    std::vector<Credential> credentials;  // empty: clients need no AUTH
    bool operator==(const ListenerConfig&) const = default;
};

// Which log lines are written (see log_level in conf/README.md).
enum class LogLevel { info, warning, error };

struct ProxyConfig {
    uint32_t workers = 0;  // 0 in the file is refused; the loader fills in the CPU count when absent
    std::optional<Address> admin;  // the admin HTTP endpoint (tcp only)
    uint32_t max_client_connections = 10000;
    uint64_t max_request_bytes = 512ull * 1024 * 1024;
    uint32_t drain_timeout_ms = 5000;
    // Client limits (see conf/README.md): 0 disables the two timeouts.
    uint64_t max_client_output_bytes = 64ull * 1024 * 1024;
    uint32_t client_request_timeout_ms = 30000;
    uint32_t client_idle_timeout_ms = 0;
    LogLevel log_level = LogLevel::info;
    std::string log_file;  // "" logs to stderr
    bool operator==(const ProxyConfig&) const = default;
};

struct Config {
    std::string source;  // the file it came from
    std::string text;    // as it was read, for /config (shown with secrets redacted)
    ProxyConfig proxy;
    std::vector<ListenerConfig> listeners;
    std::vector<PoolConfig> pools;

    const PoolConfig* find_pool(std::string_view name) const;
    // The settings, not how they were written: comments and layout make no difference.
    bool operator==(const Config& other) const {
        return source == other.source && proxy == other.proxy && listeners == other.listeners && pools == other.pools;
    }
};

struct ConfigError {
    std::string file;
    uint32_t line = 0;    // 1-based; 0 when the problem has no single place
    uint32_t column = 0;  // 1-based
    std::string message;
    // "FILE:LINE:COL: message"
    // ("FILE: message" when line is 0)
    std::string to_string() const;
    bool operator==(const ConfigError&) const = default;
};

struct ConfigLoad {
    std::optional<Config> config;  // set only when errors is empty
    std::vector<ConfigError> errors;
};

ConfigLoad load_config_file(const std::string& path);
// The config's text as TOML with the value of every secret key ("auth", "password" and the
// like) replaced by "<redacted>", for showing to operators.
std::string redacted_config_text(const Config& config);
// source_name is used in error messages in place of a file name.
ConfigLoad load_config_string(std::string_view text, const std::string& source_name);

}  // namespace shardproxy::conf
