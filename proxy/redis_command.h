#pragma once
// The Redis command table: what shardproxy knows about every Redis 7 command (arity and key
// positions come from Redis's own COMMAND metadata) and how it handles each one.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace shardproxy::proxy {

enum class CommandKind : uint8_t {
    keyed,        // routed by key; with several keys all must live on one server (else CROSSSLOT)
    split_merge,  // MGET MSET DEL UNLINK EXISTS TOUCH: one sub-request per backend, merged
    broadcast,    // sent to every server of the listener's default pool, replies merged
    local,        // answered by the proxy itself
    unsupported,  // known to Redis, refused with "-ERR unsupported command"
};

enum class MergeRule : uint8_t {
    none,
    array_in_key_order,  // MGET
    all_ok,              // MSET, FLUSHDB, FLUSHALL, SCRIPT FLUSH, FUNCTION FLUSH
    integer_sum,         // DEL UNLINK EXISTS TOUCH DBSIZE
    same_reply,          // SCRIPT LOAD, FUNCTION LOAD: every server must answer alike
};

struct KeySpec;  // Redis 7 key specification (begin_search + find_keys), see redis_command.cpp

struct RedisCommand {
    std::string_view name;  // lowercase full name: "get", "object|encoding"
    int32_t arity;          // Redis semantics: > 0 exact count, < 0 at least -arity (name included)
    CommandKind kind;
    MergeRule merge;
    uint8_t split_stride;   // split_merge only: 1 (keys), 2 (MSET key value pairs)
    bool has_subcommands;   // container command (CLIENT, OBJECT, SCRIPT, ...)
    std::span<const KeySpec> key_specs;
};

// Case-insensitive. For a container command pass args[1] as subcommand: the subcommand entry is
// returned when it exists, else the container itself (whose kind is then unsupported or local).
// nullptr when Redis 7 has no such command.
const RedisCommand* find_redis_command(std::string_view name, std::string_view subcommand);

// Checks arity and the arguments shardproxy refuses (SORT BY/GET patterns, XREAD BLOCK, ...) and
// collects the index in args (args[0] is the command name) of every key, in argument order.
// On failure returns false and sets error to the reply text without the leading '-' and CRLF,
// worded as Redis words it, e.g. "ERR wrong number of arguments for 'get' command".
// key_indices is cleared first; callers reuse it so the request path does not allocate.
bool prepare_command(const RedisCommand& command, std::span<const std::string_view> args,
                     std::vector<uint32_t>& key_indices, std::string& error);

// Every table entry, for tests and COMMAND.
std::span<const RedisCommand> all_redis_commands();

}  // namespace shardproxy::proxy
