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

// Redis command flags as COMMAND reports them, one bit each.
namespace command_flag {
inline constexpr uint32_t write = 1u << 0;
inline constexpr uint32_t readonly = 1u << 1;
inline constexpr uint32_t denyoom = 1u << 2;
inline constexpr uint32_t module = 1u << 3;
inline constexpr uint32_t admin = 1u << 4;
inline constexpr uint32_t pubsub = 1u << 5;
inline constexpr uint32_t noscript = 1u << 6;
inline constexpr uint32_t blocking = 1u << 7;
inline constexpr uint32_t loading = 1u << 8;
inline constexpr uint32_t stale = 1u << 9;
inline constexpr uint32_t skip_monitor = 1u << 10;
inline constexpr uint32_t skip_slowlog = 1u << 11;
inline constexpr uint32_t asking = 1u << 12;
inline constexpr uint32_t fast = 1u << 13;
inline constexpr uint32_t no_auth = 1u << 14;
inline constexpr uint32_t may_replicate = 1u << 15;
inline constexpr uint32_t no_mandatory_keys = 1u << 16;
inline constexpr uint32_t no_async_loading = 1u << 17;
inline constexpr uint32_t no_multi = 1u << 18;
inline constexpr uint32_t movablekeys = 1u << 19;
inline constexpr uint32_t allow_busy = 1u << 20;
}  // namespace command_flag

// Key specification flags as COMMAND reports them ("RO", "access", ..., "delete" is delete_).
namespace key_flag {
inline constexpr uint16_t ro = 1u << 0;
inline constexpr uint16_t rw = 1u << 1;
inline constexpr uint16_t ow = 1u << 2;
inline constexpr uint16_t rm = 1u << 3;
inline constexpr uint16_t access = 1u << 4;
inline constexpr uint16_t update = 1u << 5;
inline constexpr uint16_t insert = 1u << 6;
inline constexpr uint16_t delete_ = 1u << 7;
inline constexpr uint16_t not_key = 1u << 8;  // a shard channel (SPUBLISH), not a key
inline constexpr uint16_t incomplete = 1u << 9;
inline constexpr uint16_t variable_flags = 1u << 10;
}  // namespace key_flag

// Redis 7 key specification: begin_search finds where the keys start, find_keys how many follow.
// Field names and meanings are Redis's own (see COMMAND DOCS / "key specifications").
struct KeySpec {
    enum class BeginSearch : uint8_t { index, keyword, unknown };
    enum class FindKeys : uint8_t { range, keynum, unknown };

    uint16_t flags;  // key_flag bits
    BeginSearch begin_search;
    int16_t index;             // index: argument position of the first key
    std::string_view keyword;  // keyword (lowercase): the keys follow this argument...
    int16_t startfrom;         // ...searched from here; negative: from argc + startfrom backwards
    FindKeys find_keys;
    int16_t lastkey;    // range: last key relative to the first; negative: from the end
    int16_t keystep;    // range and keynum: distance between keys
    int16_t limit;      // range with lastkey -1: keys are 1/limit of the remaining arguments
    int16_t keynumidx;  // keynum: position of the numkeys argument relative to begin_search
    int16_t firstkey;   // keynum: position of the first key relative to begin_search
};

// Command-specific argument rules prepare_command applies on top of arity and key specs.
enum class ArgumentCheck : uint8_t {
    none,
    numkeys_eval,        // EVAL EVAL_RO EVALSHA EVALSHA_RO: numkeys >= 0
    numkeys_fcall,       // FCALL FCALL_RO: as EVAL, other wording for a non-integer
    numkeys_zset,        // ZUNION ZINTER ZDIFF (+STORE) ZINTERCARD: numkeys >= 1
    numkeys_sintercard,  // SINTERCARD: numkeys >= 1
    numkeys_mpop,        // LMPOP BLMPOP ZMPOP BZMPOP: numkeys >= 1, LEFT/RIGHT/MIN/MAX after
    sort,                // SORT SORT_RO: STORE key; GET and BY with a '*' pattern refused
    xread,               // XREAD XREADGROUP: BLOCK refused
    copy,                // COPY: DB refused
};

struct RedisCommand {
    std::string_view name;  // lowercase full name: "get", "object|encoding"
    int32_t arity;          // Redis semantics: > 0 exact count, < 0 at least -arity (name included)
    CommandKind kind;
    MergeRule merge;
    uint8_t split_stride;   // split_merge only: 1 (keys), 2 (MSET key value pairs)
    bool has_subcommands;   // container command (CLIENT, OBJECT, SCRIPT, ...)
    std::span<const KeySpec> key_specs;
    uint32_t flags;  // command_flag bits
    // The legacy key triple as COMMAND reports it (0 0 0 when keys are only in key_specs).
    int16_t first_key;
    int16_t last_key;
    int16_t key_step;
    ArgumentCheck argument_check;
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
