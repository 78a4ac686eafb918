// Checks the generated command table against the COMMAND reply of a real redis-server, and
// prepare_command's key positions and error texts against what that server says for the same
// arguments. A mismatch means the table was generated from another Redis version (regenerate it
// with tests/tools/gen_redis_command_table.py) or prepare_command strays from Redis.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "proxy/redis_command.h"

namespace shardproxy::proxy {
namespace {

struct ReplyDeleter {
    void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
    void operator()(redisContext* context) const { redisFree(context); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

using Args = std::vector<std::string>;

// A port the kernel just handed out; another process may still take it before redis-server
// binds it, so RedisServer retries with a new one.
int free_loopback_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    close(fd);
    if (!ok) throw std::runtime_error("cannot bind a loopback port");
    return ntohs(address.sin_port);
}

// A throwaway redis-server on a loopback port, killed when this object goes away (and, through
// PR_SET_PDEATHSIG, when the test process dies without unwinding).
class RedisServer {
public:
    RedisServer() {
        for (int attempt = 0; attempt < 5; ++attempt) {
            port_ = free_loopback_port();
            pid_ = spawn(port_);
            if (wait_until_ready()) return;
            stop();
        }
        throw std::runtime_error("redis-server did not start");
    }
    ~RedisServer() { stop(); }
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    Reply call(const Args& args) {
        std::vector<const char*> argv;
        std::vector<size_t> lengths;
        for (const std::string& arg : args) {
            argv.push_back(arg.data());
            lengths.push_back(arg.size());
        }
        auto* reply = static_cast<redisReply*>(redisCommandArgv(
            context_.get(), static_cast<int>(args.size()), argv.data(), lengths.data()));
        if (reply == nullptr) throw std::runtime_error("lost the connection to redis-server");
        return Reply(reply);
    }

private:
    static pid_t spawn(int port) {
        const std::string port_text = std::to_string(port);
        const pid_t pid = fork();
        if (pid < 0) throw std::runtime_error("fork() failed");
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            const int null_fd = open("/dev/null", O_WRONLY);
            dup2(null_fd, STDOUT_FILENO);
            dup2(null_fd, STDERR_FILENO);
            execlp("redis-server", "redis-server", "--port", port_text.c_str(), "--bind",
                   "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
                   static_cast<char*>(nullptr));
            _exit(127);
        }
        return pid;
    }

    bool wait_until_ready() {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return false;
            }
            Context context(redisConnectWithTimeout("127.0.0.1", port_, timeval{1, 0}));
            if (context != nullptr && context->err == 0) {
                context_ = std::move(context);
                const Reply pong = call({"PING"});
                if (pong->type == REDIS_REPLY_STATUS && std::string_view(pong->str) == "PONG") {
                    return true;
                }
                context_.reset();
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    }

    void stop() {
        context_.reset();
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }

    int port_ = 0;
    pid_t pid_ = -1;
    Context context_;
};

RedisServer& redis() {
    static RedisServer server;
    return server;
}

std::string_view text(const redisReply* reply) { return {reply->str, reply->len}; }

// RESP2 carries maps as flat [key, value, ...] arrays.
const redisReply* map_get(const redisReply* map, std::string_view key) {
    for (size_t i = 0; i + 1 < map->elements; i += 2) {
        if (text(map->element[i]) == key) return map->element[i + 1];
    }
    return nullptr;
}

long long map_integer(const redisReply* map, std::string_view key) {
    const redisReply* value = map_get(map, key);
    REQUIRE(value != nullptr);
    return value->integer;
}

const std::map<std::string_view, uint32_t> command_flag_bits = {
    {"write", command_flag::write},
    {"readonly", command_flag::readonly},
    {"denyoom", command_flag::denyoom},
    {"module", command_flag::module},
    {"admin", command_flag::admin},
    {"pubsub", command_flag::pubsub},
    {"noscript", command_flag::noscript},
    {"blocking", command_flag::blocking},
    {"loading", command_flag::loading},
    {"stale", command_flag::stale},
    {"skip_monitor", command_flag::skip_monitor},
    {"skip_slowlog", command_flag::skip_slowlog},
    {"asking", command_flag::asking},
    {"fast", command_flag::fast},
    {"no_auth", command_flag::no_auth},
    {"may_replicate", command_flag::may_replicate},
    {"no_mandatory_keys", command_flag::no_mandatory_keys},
    {"no_async_loading", command_flag::no_async_loading},
    {"no_multi", command_flag::no_multi},
    {"movablekeys", command_flag::movablekeys},
    {"allow_busy", command_flag::allow_busy},
};

const std::map<std::string_view, uint16_t> key_flag_bits = {
    {"RO", key_flag::ro},         {"RW", key_flag::rw},
    {"OW", key_flag::ow},         {"RM", key_flag::rm},
    {"access", key_flag::access}, {"update", key_flag::update},
    {"insert", key_flag::insert}, {"delete", key_flag::delete_},
    {"not_key", key_flag::not_key}, {"incomplete", key_flag::incomplete},
    {"variable_flags", key_flag::variable_flags},
};

template <typename Bits>
Bits flag_bits(const redisReply* names, const std::map<std::string_view, Bits>& known) {
    Bits bits = 0;
    for (size_t i = 0; i < names->elements; ++i) {
        const auto found = known.find(text(names->element[i]));
        REQUIRE_MESSAGE(found != known.end(), "unknown flag ", text(names->element[i]));
        bits |= found->second;
    }
    return bits;
}

// Every command and subcommand of the COMMAND reply, subcommands named "container|sub".
std::vector<const redisReply*> redis_entries(const redisReply* command_reply) {
    std::vector<const redisReply*> entries;
    for (size_t i = 0; i < command_reply->elements; ++i) {
        const redisReply* entry = command_reply->element[i];
        entries.push_back(entry);
        const redisReply* subcommands = entry->element[9];
        for (size_t j = 0; j < subcommands->elements; ++j) {
            entries.push_back(subcommands->element[j]);
        }
    }
    return entries;
}

const Reply& command_reply() {
    static const Reply reply = redis().call({"COMMAND"});
    return reply;
}

const RedisCommand* table_entry(std::string_view name) {
    for (const RedisCommand& command : all_redis_commands()) {
        if (command.name == name) return &command;
    }
    return nullptr;
}

void check_key_spec(std::string_view name, const redisReply* redis_spec, const KeySpec& ours) {
    INFO("command ", name);
    CHECK(flag_bits(map_get(redis_spec, "flags"), key_flag_bits) == ours.flags);
    const redisReply* begin = map_get(redis_spec, "begin_search");
    const redisReply* begin_spec = map_get(begin, "spec");
    const std::string_view begin_type = text(map_get(begin, "type"));
    if (begin_type == "index") {
        REQUIRE(ours.begin_search == KeySpec::BeginSearch::index);
        CHECK(map_integer(begin_spec, "index") == ours.index);
    } else if (begin_type == "keyword") {
        REQUIRE(ours.begin_search == KeySpec::BeginSearch::keyword);
        std::string keyword(text(map_get(begin_spec, "keyword")));
        std::ranges::transform(keyword, keyword.begin(),
                               [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        CHECK(keyword == ours.keyword);
        CHECK(map_integer(begin_spec, "startfrom") == ours.startfrom);
    } else {
        CHECK(ours.begin_search == KeySpec::BeginSearch::unknown);
    }
    const redisReply* find = map_get(redis_spec, "find_keys");
    const redisReply* find_spec = map_get(find, "spec");
    const std::string_view find_type = text(map_get(find, "type"));
    if (find_type == "range") {
        REQUIRE(ours.find_keys == KeySpec::FindKeys::range);
        CHECK(map_integer(find_spec, "lastkey") == ours.lastkey);
        CHECK(map_integer(find_spec, "keystep") == ours.keystep);
        CHECK(map_integer(find_spec, "limit") == ours.limit);
    } else if (find_type == "keynum") {
        REQUIRE(ours.find_keys == KeySpec::FindKeys::keynum);
        CHECK(map_integer(find_spec, "keynumidx") == ours.keynumidx);
        CHECK(map_integer(find_spec, "firstkey") == ours.firstkey);
        CHECK(map_integer(find_spec, "keystep") == ours.keystep);
    } else {
        CHECK(ours.find_keys == KeySpec::FindKeys::unknown);
    }
}

// Splits "object|encoding" into the arguments a client sends: OBJECT ENCODING.
Args name_arguments(std::string_view name) {
    const size_t bar = name.find('|');
    if (bar == std::string_view::npos) return {std::string(name)};
    return {std::string(name.substr(0, bar)), std::string(name.substr(bar + 1))};
}

struct Prepared {
    bool ok = false;
    std::vector<std::string> keys;  // sorted, to compare with COMMAND GETKEYS
    std::string error;
};

Prepared prepare(const Args& args) {
    const RedisCommand* command = find_redis_command(args[0], args.size() > 1 ? args[1] : "");
    REQUIRE(command != nullptr);
    const std::vector<std::string_view> views(args.begin(), args.end());
    std::vector<uint32_t> indices;
    Prepared result;
    result.ok = prepare_command(*command, views, indices, result.error);
    for (uint32_t index : indices) result.keys.push_back(args[index]);
    std::ranges::sort(result.keys);
    return result;
}

// nullopt when Redis cannot tell: its getKeysUsingKeySpecs gives up on every key as soon as one
// spec has no room in the arguments (PFMERGE dst alone), where prepare_command keeps the others.
std::optional<std::vector<std::string>> redis_getkeys(const Args& args) {
    Args request = {"COMMAND", "GETKEYS"};
    request.insert(request.end(), args.begin(), args.end());
    const Reply reply = redis().call(request);
    if (reply->type == REDIS_REPLY_ERROR &&
        text(reply.get()) == "ERR Invalid arguments specified for command") {
        return std::nullopt;
    }
    REQUIRE_MESSAGE(reply->type == REDIS_REPLY_ARRAY, "COMMAND GETKEYS ", args[0]);
    std::vector<std::string> keys;
    for (size_t i = 0; i < reply->elements; ++i) keys.emplace_back(text(reply->element[i]));
    std::ranges::sort(keys);
    return keys;
}

std::string joined(const Args& args) {
    std::string out;
    for (const std::string& arg : args) out.append(out.empty() ? "" : " ").append(arg);
    return out;
}

// False when Redis could not say which arguments are keys.
bool check_keys_match_redis(const Args& args) {
    INFO(joined(args));
    const Prepared ours = prepare(args);
    REQUIRE_MESSAGE(ours.ok, ours.error);
    const std::optional<std::vector<std::string>> redis_keys = redis_getkeys(args);
    if (redis_keys) CHECK(ours.keys == *redis_keys);
    return redis_keys.has_value();
}

void check_error_matches_redis(const Args& args) {
    INFO(joined(args));
    const Reply reply = redis().call(args);
    REQUIRE(reply->type == REDIS_REPLY_ERROR);
    const Prepared ours = prepare(args);
    CHECK_FALSE(ours.ok);
    CHECK(ours.error == text(reply.get()));
}

}  // namespace

TEST_CASE("every command and subcommand Redis reports has the same arity, flags and key triple") {
    for (const redisReply* entry : redis_entries(command_reply().get())) {
        const std::string_view name = text(entry->element[0]);
        INFO("command ", name);
        const RedisCommand* ours = table_entry(name);
        REQUIRE(ours != nullptr);
        CHECK(ours->arity == entry->element[1]->integer);
        CHECK(ours->flags == flag_bits(entry->element[2], command_flag_bits));
        CHECK(ours->first_key == entry->element[3]->integer);
        CHECK(ours->last_key == entry->element[4]->integer);
        CHECK(ours->key_step == entry->element[5]->integer);
        CHECK(ours->has_subcommands == (entry->element[9]->elements > 0));
    }
}

TEST_CASE("every table entry is a command Redis reports") {
    std::vector<std::string_view> redis_names;
    for (const redisReply* entry : redis_entries(command_reply().get())) {
        redis_names.push_back(text(entry->element[0]));
    }
    CHECK(redis_names.size() == all_redis_commands().size());
    for (const RedisCommand& command : all_redis_commands()) {
        CHECK_MESSAGE(std::ranges::find(redis_names, command.name) != redis_names.end(),
                      command.name);
    }
}

TEST_CASE("key specs match Redis's key specifications field by field") {
    for (const redisReply* entry : redis_entries(command_reply().get())) {
        const std::string_view name = text(entry->element[0]);
        const RedisCommand* ours = table_entry(name);
        REQUIRE(ours != nullptr);
        const redisReply* specs = entry->element[8];
        REQUIRE_MESSAGE(specs->elements == ours->key_specs.size(), name);
        for (size_t i = 0; i < specs->elements; ++i) {
            check_key_spec(name, specs->element[i], ours->key_specs[i]);
        }
    }
}

TEST_CASE("key positions agree with COMMAND GETKEYS for every command with fixed-position keys") {
    size_t checked = 0;
    for (const RedisCommand& command : all_redis_commands()) {
        const bool keyed = std::ranges::any_of(command.key_specs, [](const KeySpec& spec) {
            return (spec.flags & key_flag::not_key) == 0;
        });
        const bool fixed = std::ranges::all_of(command.key_specs, [](const KeySpec& spec) {
            return spec.begin_search == KeySpec::BeginSearch::index &&
                   spec.find_keys == KeySpec::FindKeys::range;
        });
        if (!keyed || !fixed) continue;
        const size_t minimum = static_cast<size_t>(std::abs(command.arity));
        // Two more arguments keep MSET-style key/value pairs whole.
        for (size_t count : {minimum, command.arity < 0 ? minimum + 2 : minimum}) {
            Args args = name_arguments(command.name);
            while (args.size() < count) args.push_back("a" + std::to_string(args.size()));
            if (check_keys_match_redis(args)) {
                ++checked;
            } else {
                MESSAGE("COMMAND GETKEYS refuses ", joined(args));
            }
        }
    }
    CHECK(checked > 250);
}

TEST_CASE("key positions agree with COMMAND GETKEYS for keyword, numkeys and SORT commands") {
    const std::vector<Args> samples = {
        {"EVAL", "return 1", "2", "k1", "k2", "a"},
        {"EVAL", "return 1", "0"},
        {"EVALSHA_RO", "abc", "1", "k1", "a", "b"},
        {"FCALL", "f", "3", "k1", "k2", "k3"},
        {"ZUNIONSTORE", "dst", "2", "a", "b"},
        {"ZINTERSTORE", "dst", "2", "a", "b", "WEIGHTS", "1", "2", "AGGREGATE", "MAX"},
        {"ZDIFF", "2", "a", "b", "WITHSCORES"},
        {"ZINTERCARD", "2", "a", "b", "LIMIT", "1"},
        {"SINTERCARD", "3", "a", "b", "c"},
        {"LMPOP", "2", "a", "b", "LEFT"},
        {"ZMPOP", "1", "a", "MIN", "COUNT", "3"},
        {"BLMPOP", "0", "2", "a", "b", "RIGHT"},
        {"XREAD", "COUNT", "2", "STREAMS", "a", "b", "0", "0"},
        {"xread", "streams", "a", "$"},
        {"XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "NOACK", "STREAMS", "a", "b", ">", ">"},
        {"SORT", "k", "STORE", "d"},
        {"SORT", "k", "LIMIT", "0", "5", "ALPHA", "DESC", "store", "d"},
        {"SORT", "k", "BY", "nosort", "STORE", "d"},
        {"SORT_RO", "k", "ALPHA"},
        {"GEORADIUS", "k", "15", "37", "200", "km", "STORE", "d"},
        {"GEORADIUS", "k", "15", "37", "200", "km", "STOREDIST", "d1", "STORE", "d2"},
        {"GEORADIUSBYMEMBER", "k", "m", "1", "km", "WITHDIST"},
        {"GEORADIUSBYMEMBER", "k", "m", "1", "km", "STORE", "d"},
        {"MIGRATE", "h", "6379", "k", "0", "5000"},
        {"OBJECT", "ENCODING", "k"},
        {"LMOVE", "src", "dst", "LEFT", "RIGHT"},
        {"RENAME", "a", "b"},
        {"SINTER", "a", "b", "c"},
        {"MSET", "a", "1", "b", "2"},
        {"COPY", "a", "b", "REPLACE"},
        {"SET", "k", "v", "GET"},
    };
    for (const Args& args : samples) CHECK(check_keys_match_redis(args));
}

TEST_CASE("arity errors match redis-server's text for every command and subcommand") {
    for (const RedisCommand& command : all_redis_commands()) {
        // EXEC words every refusal as "EXECABORT Transaction discarded because of: ...";
        // shardproxy refuses EXEC anyway.
        if (command.name == "exec") continue;
        const Args name = name_arguments(command.name);
        const size_t minimum = static_cast<size_t>(std::abs(command.arity));
        if (minimum > name.size()) {
            Args too_few = name;
            while (too_few.size() < minimum - 1) too_few.push_back("x");
            if (too_few.size() >= name.size()) check_error_matches_redis(too_few);
        }
        if (command.arity > 0) {
            Args too_many = name;
            while (too_many.size() < minimum + 1) too_many.push_back("x");
            check_error_matches_redis(too_many);
        }
    }
}

TEST_CASE("numkeys errors match redis-server's text") {
    const Reply sha = redis().call({"SCRIPT", "LOAD", "return 1"});
    REQUIRE(sha->type == REDIS_REPLY_STRING);
    const Reply library = redis().call(
        {"FUNCTION", "LOAD", "REPLACE",
         "#!lua name=lib\nredis.register_function{function_name='f', "
         "callback=function(keys, args) return 1 end, flags={'no-writes'}}"});
    REQUIRE(library->type == REDIS_REPLY_STRING);
    const std::string script(text(sha.get()));
    const std::vector<std::string> bad_numkeys = {"x", "-1", "0", "01", "+1", "5",
                                                  "2147483648", "99999999999999999999"};
    for (const std::string& n : bad_numkeys) {
        const std::vector<Args> samples = {
            {"EVAL", "return 1", n, "a"},      {"EVAL_RO", "return 1", n, "a"},
            {"EVALSHA", script, n, "a"},       {"EVALSHA_RO", script, n, "a"},
            {"FCALL", "f", n, "a"},            {"FCALL_RO", "f", n, "a"},
            {"ZUNIONSTORE", "d", n, "a"},      {"ZINTERSTORE", "d", n, "a"},
            {"ZDIFFSTORE", "d", n, "a"},       {"ZUNION", n, "a"},
            {"ZINTER", n, "a"},                {"ZDIFF", n, "a"},
            {"ZINTERCARD", n, "a"},            {"SINTERCARD", n, "a"},
            {"LMPOP", n, "a", "LEFT"},         {"ZMPOP", n, "a", "MIN"},
            {"BLMPOP", "0", n, "a", "LEFT"},   {"BZMPOP", "0", n, "a", "MIN"},
        };
        for (const Args& args : samples) {
            INFO(joined(args));
            const Reply reply = redis().call(args);
            const Prepared ours = prepare(args);
            if (reply->type == REDIS_REPLY_ERROR) {
                CHECK_FALSE(ours.ok);
                CHECK(ours.error == text(reply.get()));
            } else {
                // numkeys 0 is valid for EVAL and FCALL: no key, the caller picks server 0.
                CHECK(ours.ok);
                CHECK(ours.keys.empty());
            }
        }
    }
    // Enough keys: the count is right, and LMPOP's LEFT is not taken for a key.
    check_error_matches_redis({"LMPOP", "2", "a", "LEFT"});
    check_error_matches_redis({"BZMPOP", "0", "2", "a", "MIN"});
}

}  // namespace shardproxy::proxy
