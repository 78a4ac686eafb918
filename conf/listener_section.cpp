#include <algorithm>
#include <vector>

#include "conf/address.h"
#include "conf/nearest_key.h"
#include "conf/protocol.h"
#include "conf/sections.h"

namespace shardproxy::conf {
namespace {

// A listener may only send keys to a pool that exists and speaks the listener's protocol.
void check_pool_reference(const Setting& pool, Protocol listener_protocol) {
    const std::vector<PoolConfig>& pools = pool.context.config.pools;
    const PoolConfig* found = pool.context.config.find_pool(pool.string());
    if (found == nullptr) {
        std::vector<std::string_view> names;
        for (const PoolConfig& defined : pools) names.push_back(defined.name);
        const std::string message =
            pool.path + ": no pool named '" + std::string(pool.string()) + "' is defined; ";
        pool.error(message + (names.empty() ? "add a [pool." + std::string(pool.string()) + "] table"
                                            : suggestion(pool.string(), names)));
    } else if (found->protocol != listener_protocol) {
        pool.error(pool.path + ": pool '" + found->name + "' speaks " +
                   std::string(to_string(found->protocol)) + ", but this listener speaks " +
                   std::string(to_string(listener_protocol)));
    }
}

void read_route(const Setting& entry, ListenerConfig& listener) {
    const toml::table& table = *entry.node.as_table();
    RouteConfig route;
    read_keys(table, entry.path, route_keys(), route, entry.context);
    if (const toml::node* prefix = table.get("prefix"); prefix != nullptr && !route.prefix.empty()) {
        const bool taken =
            std::any_of(listener.routes.begin(), listener.routes.end(),
                        [&](const RouteConfig& other) { return other.prefix == route.prefix; });
        if (taken) {
            report_at(entry.context.diagnostics, prefix->source(),
                      key_path(entry.path, "prefix") + ": prefix '" + route.prefix +
                          "' already has a route in this listener");
        }
    }
    if (const toml::node* pool = table.get("pool"); pool != nullptr && !route.pool.empty()) {
        check_pool_reference(Setting{*pool, key_path(entry.path, "pool"), entry.context}, listener.protocol);
    }
    listener.routes.push_back(std::move(route));
}

// Messages name the user, never the password: the error output ends up in logs.
void add_credential(const Setting& place, Credential credential, ListenerConfig& listener) {
    const bool taken = std::any_of(listener.credentials.begin(), listener.credentials.end(),
                                   [&](const Credential& other) { return other.user == credential.user; });
    if (taken) {
        place.error(place.path + ": user '" + credential.user + "' already has a password in this listener");
        return;
    }
    listener.credentials.push_back(std::move(credential));
}

void refuse_unless_redis(const Setting& setting, const ListenerConfig& listener) {
    if (listener.protocol != Protocol::redis) {
        setting.error(setting.path + " applies to redis listeners only: memcached has no AUTH");
    }
}

void read_user(const Setting& entry, ListenerConfig& listener) {
    const std::string_view text = entry.string();
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos) {
        entry.error(entry.path + " must be \"user:password\" (it has no ':')");
    } else if (colon == 0) {
        entry.error(entry.path + " has an empty user name before the ':'");
    } else if (colon + 1 == text.size()) {
        entry.error(entry.path + ": user '" + std::string(text.substr(0, colon)) + "' has an empty password");
    } else {
        add_credential(entry, Credential{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))},
                       listener);
    }
}

const KeySpec<RouteConfig> route_table[] = {
    {.name = "prefix",
     .type = ValueType::string,
     .default_value = "(required)",
     .help = "Keys starting with these bytes go to the route's pool; the longest matching prefix wins. Not "
             "empty, and unique within the listener.",
     .apply =
         [](const Setting& prefix, RouteConfig& route) {
             if (prefix.string().empty()) {
                 prefix.error(prefix.path +
                              " must not be empty; keys that match no route already go to "
                              "the listener's pool");
             }
             route.prefix = prefix.string();
         },
     .required = true},
    {.name = "pool",
     .type = ValueType::string,
     .default_value = "(required)",
     .help = "The pool for keys with this prefix; it must exist and speak the listener's protocol.",
     .apply = [](const Setting& pool, RouteConfig& route) { route.pool = pool.string(); },
     .required = true},
};

// The order matters: protocol is read before pool and routes, which are checked against it.
const KeySpec<ListenerConfig> listener_table[] = {
    {.name = "name",
     .type = ValueType::string,
     .default_value = "(listener-N)",
     .help = "Name in logs and stats; unique. Defaults to listener-N, N being the listener's position in "
             "the file counting from 0.",
     .apply =
         [](const Setting& name, ListenerConfig& listener) {
             if (name.string().empty()) name.error(name.path + " must not be empty");
             listener.name = name.string();
         }},
    {.name = "listen",
     .type = ValueType::string,
     .default_value = "(required)",
     .help = "Where to accept clients: \"host:port\", \"[IPv6]:port\" or \"unix:/path\"; unique.",
     .apply =
         [](const Setting& listen, ListenerConfig& listener) {
             AddressParse parsed = parse_address(listen.string());
             if (!parsed.error.empty()) {
                 listen.error(listen.path + ": " + parsed.error);
                 return;
             }
             listener.listen = std::move(parsed.address);
         },
     .required = true},
    {.name = "protocol",
     .type = ValueType::string,
     .default_value = "\"redis\"",
     .help = "What clients speak: \"redis\" or \"memcache\" (memcached's text and meta commands).",
     .apply =
         [](const Setting& protocol, ListenerConfig& listener) {
             const std::optional<Protocol> parsed = parse_protocol(protocol.string());
             if (!parsed) {
                 protocol.unknown_name("protocol", protocol_names());
                 return;
             }
             listener.protocol = *parsed;
         }},
    {.name = "pool",
     .type = ValueType::string,
     .default_value = "(required)",
     .help = "The pool for keys that match no route; it must exist and speak the listener's protocol.",
     .apply =
         [](const Setting& pool, ListenerConfig& listener) {
             check_pool_reference(pool, listener.protocol);
             listener.pool = pool.string();
         },
     .required = true},
    {.name = "routes",
     .type = ValueType::table_array,
     .default_value = "[]",
     .help = "Key-prefix routes, each { prefix = \"...\", pool = \"...\" }; see \"Listener routes\" in "
             "conf/README.md.",
     .apply =
         [](const Setting& routes, ListenerConfig& listener) {
             routes.for_each_element(ValueType::table,
                                     [&](const Setting& entry, std::size_t) { read_route(entry, listener); });
         }},
    {.name = "unix_mode",
     .type = ValueType::string,
     .default_value = "(unset: as the umask leaves it)",
     .help = "unix socket listeners only: the socket's permissions, in octal as chmod takes them, e.g. "
             "\"0660\" to let the group connect. Connecting needs write permission.",
     .apply =
         [](const Setting& mode, ListenerConfig& listener) {
             const std::string_view text = mode.string();
             uint32_t bits = 0;
             const bool octal = !text.empty() && text.size() <= 4 &&
                                text.find_first_not_of("01234567") == std::string_view::npos;
             for (const char digit : text) bits = bits * 8 + static_cast<uint32_t>(digit - '0');
             if (!octal || bits > 0777) {
                 mode.error(mode.path + " must be octal permissions from \"0000\" to \"0777\", like \"0660\" (got \"" +
                            std::string(text) + "\")");
             } else if (listener.listen.kind != Address::Kind::unix_socket) {
                 mode.error(mode.path + " applies to unix socket listeners only");
             } else {
                 listener.unix_mode = bits;
             }
         }},
    {.name = "key_rules",
     .type = ValueType::string,
     .default_value = "\"strict\"",
     .help = "memcache listeners only: \"strict\" refuses keys longer than 250 bytes or holding control "
             "characters, as the memcached protocol says; \"memcached\" also accepts control characters, as "
             "memcached 1.6 itself does (some tools, such as memcaslap, send them).",
     .apply =
         [](const Setting& rules, ListenerConfig& listener) {
             if (rules.string() == "strict") {
                 listener.key_rules = KeyRules::strict;
             } else if (rules.string() == "memcached") {
                 listener.key_rules = KeyRules::memcached;
             } else {
                 static constexpr std::string_view names[] = {"strict", "memcached"};
                 rules.unknown_name("key rule", names);
             }
             if (listener.protocol != Protocol::memcache) {
                 rules.error(rules.path + " applies to memcache listeners only");
             }
         }},
    {.name = "auth",
     .type = ValueType::string,
     .default_value = "(unset)",
     .help = "redis listeners only: the password of the user \"default\", as Redis's requirepass. Clients "
             "must AUTH before any other command.",
     .apply =
         [](const Setting& auth, ListenerConfig& listener) {
             refuse_unless_redis(auth, listener);
             if (auth.string().empty()) {
                 auth.error(auth.path + " must not be empty; leave it out to let clients in without AUTH");
                 return;
             }
             add_credential(auth, Credential{"default", std::string(auth.string())}, listener);
         }},
    {.name = "users",
     .type = ValueType::string_array,
     .default_value = "[]",
     .help = "redis listeners only: more users, each \"user:password\" (the user name ends at the first "
             "':'), for AUTH user password.",
     .apply =
         [](const Setting& users, ListenerConfig& listener) {
             if (!users.node.as_array()->empty()) refuse_unless_redis(users, listener);
             users.for_each_element(ValueType::string,
                                    [&](const Setting& entry, std::size_t) { read_user(entry, listener); });
         }},
};

bool has_address(const ListenerConfig& listener) {
    return listener.listen.kind == Address::Kind::unix_socket || listener.listen.port != 0;
}

const toml::source_region& place_of(const toml::table& table, std::string_view key) {
    const toml::node* value = table.get(key);
    return value != nullptr ? value->source() : table.source();
}

void read_listener(const Setting& entry, std::size_t index, Config& config) {
    const toml::table& table = *entry.node.as_table();
    ListenerConfig listener;
    read_keys(table, entry.path, listener_keys(), listener, entry.context);
    if (!table.contains("name")) listener.name = "listener-" + std::to_string(index);
    Diagnostics& diagnostics = entry.context.diagnostics;
    for (const ListenerConfig& earlier : config.listeners) {
        if (!listener.name.empty() && earlier.name == listener.name) {
            report_at(diagnostics, place_of(table, "name"),
                      key_path(entry.path, "name") + ": listener name '" + listener.name +
                          "' is already used by an earlier listener");
        }
        if (has_address(listener) && earlier.listen == listener.listen) {
            report_at(diagnostics, place_of(table, "listen"),
                      key_path(entry.path, "listen") + ": " + listener.listen.to_string() +
                          " is already the address of listener '" + earlier.name + "'");
        }
    }
    config.listeners.push_back(std::move(listener));
}

}  // namespace

std::span<const KeySpec<ListenerConfig>> listener_keys() { return listener_table; }
std::span<const KeySpec<RouteConfig>> route_keys() { return route_table; }

void read_listeners(const Setting& listeners, Config& config) {
    if (listeners.node.as_array()->empty()) {
        listeners.error("no [[listener]] is defined; at least one is required");
        return;
    }
    listeners.for_each_element(ValueType::table, [&](const Setting& entry, std::size_t index) {
        read_listener(entry, index, config);
    });
}

}  // namespace shardproxy::conf
