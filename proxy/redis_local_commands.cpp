#include "proxy/redis_local_commands.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>

#include "conf/auth.h"
#include "proxy/resp_writer.h"
#include "proxy/hot_key_stats.h"
#include "proxy/server_stats.h"
#include "proxy/worker.h"

namespace shardproxy::proxy {
namespace {

// The Redis version whose command set and replies the proxy follows.
constexpr std::string_view kRedisVersion = "7.0.0";

bool equals_ignore_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

bool parse_int(std::string_view text, int64_t& value) {
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && ptr == text.data() + text.size();
}

std::string arity_error(std::string_view name) {
    return "ERR wrong number of arguments for '" + std::string(name) + "' command";
}

// Redis accepts only printable characters without spaces in a client name.
bool valid_client_name(std::string_view name) {
    return std::all_of(name.begin(), name.end(), [](char c) { return c > ' ' && c <= '~'; });
}

constexpr std::string_view kWrongPass = "WRONGPASS invalid username-password pair or user is disabled.";

// With no credentials configured the proxy acts as Redis's default user without a password:
// any password is good for "default", and no other user exists.
bool authenticate(LocalCommandContext& context, std::string_view user, std::string_view password) {
    const bool accepted = context.credentials.empty()
                              ? user == "default"
                              : conf::credentials_match(context.credentials, user, password);
    if (accepted) context.authenticated = true;
    return accepted;
}

void answer_auth(LocalCommandContext& context, std::span<const std::string_view> args, evbuffer* out) {
    if (args.size() > 3) {
        resp::append_error(out, "ERR syntax error");
    } else if (args.size() == 2 && context.credentials.empty()) {
        resp::append_error(out,
                           "ERR AUTH <password> called without any password configured for the default user. "
                           "Are you sure your configuration is correct?");
    } else if (!authenticate(context, args.size() == 3 ? args[1] : "default", args.back())) {
        resp::append_error(out, kWrongPass);
    } else {
        resp::append_status(out, "OK");
    }
}

void answer_hello(LocalCommandContext& context, std::span<const std::string_view> args, evbuffer* out) {
    size_t next = 1;
    if (args.size() > 1) {
        int64_t version = 0;
        if (!parse_int(args[1], version)) {
            resp::append_error(out, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (version != 2) {
            // RESP3 is not spoken yet; clients that probe with HELLO 3 fall back to RESP2.
            resp::append_error(out, "NOPROTO sorry, this protocol version is not supported");
            return;
        }
        next = 2;
    }
    std::string_view new_name;
    bool rename = false;
    const std::string_view* login = nullptr;  // the user, followed by the password
    for (size_t i = next; i < args.size(); ++i) {
        const bool has_value = i + 1 < args.size();
        if (equals_ignore_case(args[i], "SETNAME") && has_value) {
            new_name = args[++i];
            rename = true;
        } else if (equals_ignore_case(args[i], "AUTH") && i + 2 < args.size()) {
            login = &args[i + 1];
            i += 2;
        } else {
            resp::append_error(out, "ERR Syntax error in HELLO option '" + std::string(args[i]) + "'");
            return;
        }
    }
    if (login != nullptr && !authenticate(context, login[0], login[1])) {
        resp::append_error(out, kWrongPass);
        return;
    }
    if (!context.authenticated) {
        resp::append_error(out,
                           "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                           "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
                           "select the RESP protocol version at the same time");
        return;
    }
    if (rename) {
        if (!valid_client_name(new_name)) {
            resp::append_error(out, "ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
        context.client_name.assign(new_name);
    }
    resp::append_array_header(out, 14);
    resp::append_bulk(out, "server");
    resp::append_bulk(out, "redis");
    resp::append_bulk(out, "version");
    resp::append_bulk(out, kRedisVersion);
    resp::append_bulk(out, "proto");
    resp::append_integer(out, 2);
    resp::append_bulk(out, "id");
    resp::append_integer(out, static_cast<int64_t>(context.client_id));
    resp::append_bulk(out, "mode");
    resp::append_bulk(out, "standalone");
    resp::append_bulk(out, "role");
    resp::append_bulk(out, "master");
    resp::append_bulk(out, "modules");
    resp::append_array_header(out, 0);
}

void answer_info(LocalCommandContext& context, std::span<const std::string_view> args, evbuffer* out) {
    const Worker& worker = context.worker;
    const ProxyStats& stats = worker.proxy_stats();
    const auto& config = worker.topology().config();
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now() - stats.started).count();

    auto wanted = [&](std::string_view section) {
        if (args.size() < 2) return true;
        for (size_t i = 1; i < args.size(); ++i) {
            if (equals_ignore_case(args[i], section) || equals_ignore_case(args[i], "all") ||
                equals_ignore_case(args[i], "everything") || equals_ignore_case(args[i], "default")) {
                return true;
            }
        }
        return false;
    };

    std::string text;
    if (wanted("server")) {
        text += "# Server\r\n";
        text += "redis_version:" + std::string(kRedisVersion) + "\r\n";
        text += "shardproxy_version:" SHARDPROXY_VERSION "\r\n";
        text += "redis_mode:standalone\r\n";
        text += "process_id:" + std::to_string(getpid()) + "\r\n";
        text += "uptime_in_seconds:" + std::to_string(uptime) + "\r\n";
        text += "workers:" + std::to_string(stats.workers.size()) + "\r\n";
        text += "config_file:" + config.source + "\r\n";
        text += "\r\n";
    }
    if (wanted("clients")) {
        text += "# Clients\r\n";
        text += "connected_clients:" + std::to_string(stats.connected_clients.load()) + "\r\n";
        text += "maxclients:" + std::to_string(config.proxy.max_client_connections) + "\r\n";
        text += "\r\n";
    }
    if (wanted("stats")) {
        text += "# Stats\r\n";
        text += "total_connections_received:" + std::to_string(stats.total_connections()) + "\r\n";
        text += "total_commands_processed:" + std::to_string(stats.total_commands()) + "\r\n";
        text += "rejected_connections:" + std::to_string(stats.rejected_connections.load()) + "\r\n";
        text += "background_write_failures:" + std::to_string(stats.total_background_write_failures()) + "\r\n";
        text += "\r\n";
    }
    if (wanted("pools")) {
        text += "# Pools\r\n";
        for (const auto& pool : config.pools) {
            text += "pool_" + pool.name + ":servers=" + std::to_string(pool.servers.size()) +
                    ",hash=" + pool.hash + ",distribution=" + pool.distribution + "\r\n";
        }
        text += "\r\n";
    }
    if (wanted("servers")) {
        text += "# Servers\r\n";
        for (const ServerStatsLine& line : server_stats(stats, config)) {
            text += "server_" + line.pool + "_" + std::to_string(line.index) + ":" + line.text + "\r\n";
        }
        text += "\r\n";
    }
    if (wanted("hotkeys")) {
        text += "# Hotkeys\r\n";
        for (const HotKeyStatsLine& line : hot_key_stats(stats, config, kHotKeysShown)) {
            text += line.name + ":" + line.text + "\r\n";
        }
        text += "\r\n";
    }
    if (!text.empty()) text.resize(text.size() - 2);  // no blank line after the last section
    resp::append_bulk(out, text);
}

void append_command_info(evbuffer* out, const RedisCommand& command) {
    resp::append_array_header(out, 6);
    resp::append_bulk(out, command.name);
    resp::append_integer(out, command.arity);
    resp::append_array_header(out, 0);
    resp::append_integer(out, command.first_key);
    resp::append_integer(out, command.last_key);
    resp::append_integer(out, command.key_step);
}

void answer_command(const RedisCommand& command, std::span<const std::string_view> args, evbuffer* out) {
    const auto commands = all_redis_commands();
    auto top_level = [](const RedisCommand& c) { return c.name.find('|') == std::string_view::npos; };
    if (command.name == "command") {
        resp::append_array_header(out, std::count_if(commands.begin(), commands.end(), top_level));
        for (const RedisCommand& c : commands) {
            if (top_level(c)) append_command_info(out, c);
        }
    } else if (command.name == "command|count") {
        resp::append_integer(out, std::count_if(commands.begin(), commands.end(), top_level));
    } else if (command.name == "command|list") {
        resp::append_array_header(out, std::count_if(commands.begin(), commands.end(), top_level));
        for (const RedisCommand& c : commands) {
            if (top_level(c)) resp::append_bulk(out, c.name);
        }
    } else if (command.name == "command|info") {
        resp::append_array_header(out, static_cast<int64_t>(args.size() - 2));
        for (size_t i = 2; i < args.size(); ++i) {
            const RedisCommand* found = find_redis_command(args[i], {});
            if (found == nullptr) {
                evbuffer_add(out, "*-1\r\n", 5);
            } else {
                append_command_info(out, *found);
            }
        }
    } else if (command.name == "command|docs") {
        // Clients such as redis-cli only use docs for hints; an empty answer is valid.
        resp::append_array_header(out, 0);
    } else if (command.name == "command|getkeys") {
        const auto target_args = args.subspan(2);
        const RedisCommand* target = find_redis_command(
            target_args[0], target_args.size() > 1 ? target_args[1] : std::string_view());
        std::vector<uint32_t> keys;
        std::string error;
        if (target == nullptr) {
            resp::append_error(out, "ERR Invalid command specified");
        } else if (!prepare_command(*target, target_args, keys, error)) {
            resp::append_error(out, error);
        } else if (keys.empty()) {
            resp::append_error(out, "ERR The command has no key arguments");
        } else {
            resp::append_array_header(out, static_cast<int64_t>(keys.size()));
            for (uint32_t index : keys) resp::append_bulk(out, target_args[index]);
        }
    } else {
        resp::append_error(out, "ERR unsupported command '" + std::string(command.name) + "'");
    }
}

}  // namespace

LocalOutcome answer_local_command(LocalCommandContext& context, const RedisCommand& command,
                                  std::span<const std::string_view> args, evbuffer* out) {
    const std::string_view name = command.name;
    if (name == "ping") {
        if (args.size() > 2) {
            resp::append_error(out, arity_error(name));
        } else if (args.size() == 2) {
            resp::append_bulk(out, args[1]);
        } else {
            resp::append_status(out, "PONG");
        }
    } else if (name == "echo") {
        resp::append_bulk(out, args[1]);
    } else if (name == "quit") {
        resp::append_status(out, "OK");
        return LocalOutcome::close;
    } else if (name == "select") {
        int64_t db = 0;
        if (!parse_int(args[1], db)) {
            resp::append_error(out, "ERR value is not an integer or out of range");
        } else if (db != 0) {
            // Keys are sharded across servers; only the default database is addressed.
            resp::append_error(out, "ERR DB index is out of range");
        } else {
            resp::append_status(out, "OK");
        }
    } else if (name == "hello") {
        answer_hello(context, args, out);
    } else if (name == "auth") {
        answer_auth(context, args, out);
    } else if (name == "info") {
        answer_info(context, args, out);
    } else if (name == "client|setname") {
        if (!valid_client_name(args[2])) {
            resp::append_error(out, "ERR Client names cannot contain spaces, newlines or special characters.");
        } else {
            context.client_name.assign(args[2]);
            resp::append_status(out, "OK");
        }
    } else if (name == "client|getname") {
        if (context.client_name.empty()) {
            resp::append_null_bulk(out);
        } else {
            resp::append_bulk(out, context.client_name);
        }
    } else if (name.starts_with("command")) {
        answer_command(command, args, out);
    } else {
        resp::append_error(out, "ERR unsupported command '" + std::string(name) + "'");
    }
    return LocalOutcome::reply;
}

}  // namespace shardproxy::proxy
