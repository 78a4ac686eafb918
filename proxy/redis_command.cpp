#include "proxy/redis_command.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <limits>

namespace shardproxy::proxy {
namespace {

// ---- What Redis says: the generated table ---------------------------------------------------

struct BeginSearchPart {
    KeySpec::BeginSearch type;
    int16_t index;
    std::string_view keyword;
    int16_t startfrom;
};

struct FindKeysPart {
    KeySpec::FindKeys type;
    int16_t lastkey;
    int16_t keystep;
    int16_t limit;
    int16_t keynumidx;
    int16_t firstkey;
};

constexpr BeginSearchPart begin_index(int16_t index) {
    return {KeySpec::BeginSearch::index, index, {}, 0};
}
constexpr BeginSearchPart begin_keyword(std::string_view keyword, int16_t startfrom) {
    return {KeySpec::BeginSearch::keyword, 0, keyword, startfrom};
}
constexpr BeginSearchPart begin_unknown() { return {KeySpec::BeginSearch::unknown, 0, {}, 0}; }

constexpr FindKeysPart find_range(int16_t lastkey, int16_t keystep, int16_t limit) {
    return {KeySpec::FindKeys::range, lastkey, keystep, limit, 0, 0};
}
constexpr FindKeysPart find_keynum(int16_t keynumidx, int16_t firstkey, int16_t keystep) {
    return {KeySpec::FindKeys::keynum, 0, keystep, 0, keynumidx, firstkey};
}
constexpr FindKeysPart find_unknown() { return {KeySpec::FindKeys::unknown, 0, 0, 0, 0, 0}; }

constexpr KeySpec key_spec(uint16_t flags, BeginSearchPart begin, FindKeysPart find) {
    return {flags,        begin.type,   begin.index,  begin.keyword, begin.startfrom, find.type,
            find.lastkey, find.keystep, find.limit,   find.keynumidx, find.firstkey};
}

struct GeneratedCommand {
    std::string_view name;
    int32_t arity;
    uint32_t flags;
    int16_t first_key;
    int16_t last_key;
    int16_t key_step;
    bool has_subcommands;
    uint16_t key_spec_offset;
    uint16_t key_spec_count;
};

#include "proxy/redis_command_table.inc"

constexpr size_t command_count = std::size(generated_commands);

// ---- What shardproxy does with each command ------------------------------------------------

struct Handling {
    std::string_view name;
    CommandKind kind;
    MergeRule merge = MergeRule::none;
    uint8_t split_stride = 0;
};

// Everything not listed here follows the rules in classify().
constexpr Handling listed_handling[] = {
    // Answered by the client session; COMMAND and its subcommands are matched in classify().
    {"ping", CommandKind::local},
    {"echo", CommandKind::local},
    {"quit", CommandKind::local},
    {"select", CommandKind::local},
    {"hello", CommandKind::local},
    {"auth", CommandKind::local},
    {"info", CommandKind::local},
    {"client|setname", CommandKind::local},
    {"client|getname", CommandKind::local},
    // Multi-key commands with an obvious merge: one sub-request per backend.
    {"mget", CommandKind::split_merge, MergeRule::array_in_key_order, 1},
    {"mset", CommandKind::split_merge, MergeRule::all_ok, 2},
    {"del", CommandKind::split_merge, MergeRule::integer_sum, 1},
    {"unlink", CommandKind::split_merge, MergeRule::integer_sum, 1},
    {"exists", CommandKind::split_merge, MergeRule::integer_sum, 1},
    {"touch", CommandKind::split_merge, MergeRule::integer_sum, 1},
    // Whole-dataset commands that make sense on every server of the pool.
    {"flushdb", CommandKind::broadcast, MergeRule::all_ok},
    {"flushall", CommandKind::broadcast, MergeRule::all_ok},
    {"dbsize", CommandKind::broadcast, MergeRule::integer_sum},
    {"script|load", CommandKind::broadcast, MergeRule::same_reply},
    {"function|load", CommandKind::broadcast, MergeRule::same_reply},
    {"script|flush", CommandKind::broadcast, MergeRule::all_ok},
    {"function|flush", CommandKind::broadcast, MergeRule::all_ok},
    // Blocking only with BLOCK, which prepare_command refuses.
    {"xread", CommandKind::keyed},
    {"xreadgroup", CommandKind::keyed},
    // Keyed, but meaningless through a proxy: they need one connection's state (transactions)
    // or another database (MOVE) or server (MIGRATE).
    {"watch", CommandKind::unsupported},
    {"move", CommandKind::unsupported},
    {"migrate", CommandKind::unsupported},
    // Keyless, so classify() would refuse them anyway; listed because they are refused for a
    // reason of their own (per-connection state, other databases).
    {"multi", CommandKind::unsupported},
    {"exec", CommandKind::unsupported},
    {"discard", CommandKind::unsupported},
    {"unwatch", CommandKind::unsupported},
    {"swapdb", CommandKind::unsupported},
};

struct ArgumentCheckEntry {
    std::string_view name;
    ArgumentCheck check;
};

constexpr ArgumentCheckEntry argument_checks[] = {
    {"eval", ArgumentCheck::numkeys_eval},
    {"eval_ro", ArgumentCheck::numkeys_eval},
    {"evalsha", ArgumentCheck::numkeys_eval},
    {"evalsha_ro", ArgumentCheck::numkeys_eval},
    {"fcall", ArgumentCheck::numkeys_fcall},
    {"fcall_ro", ArgumentCheck::numkeys_fcall},
    {"zunionstore", ArgumentCheck::numkeys_zset},
    {"zinterstore", ArgumentCheck::numkeys_zset},
    {"zdiffstore", ArgumentCheck::numkeys_zset},
    {"zunion", ArgumentCheck::numkeys_zset},
    {"zinter", ArgumentCheck::numkeys_zset},
    {"zdiff", ArgumentCheck::numkeys_zset},
    {"zintercard", ArgumentCheck::numkeys_zset},
    {"sintercard", ArgumentCheck::numkeys_sintercard},
    {"lmpop", ArgumentCheck::numkeys_mpop},
    {"blmpop", ArgumentCheck::numkeys_mpop},
    {"zmpop", ArgumentCheck::numkeys_mpop},
    {"bzmpop", ArgumentCheck::numkeys_mpop},
    {"sort", ArgumentCheck::sort},
    {"sort_ro", ArgumentCheck::sort},
    {"xread", ArgumentCheck::xread},
    {"xreadgroup", ArgumentCheck::xread},
    {"copy", ArgumentCheck::copy},
};

constexpr std::span<const KeySpec> key_specs_of(const GeneratedCommand& command) {
    return {generated_key_specs + command.key_spec_offset, command.key_spec_count};
}

// Shard-channel specs (SPUBLISH) carry not_key: such a command still has no key to route by.
constexpr bool has_keys(const GeneratedCommand& command) {
    return std::ranges::any_of(key_specs_of(command), [](const KeySpec& spec) {
        return (spec.flags & key_flag::not_key) == 0;
    });
}

constexpr Handling classify(const GeneratedCommand& command) {
    for (const Handling& listed : listed_handling) {
        if (listed.name == command.name) return listed;
    }
    if (command.name == "command" || command.name.starts_with("command|")) {
        return {command.name, CommandKind::local};
    }
    // A blocking command would hold a backend connection shared by many clients; pub/sub turns
    // the connection into a push stream; a keyless command has no single server to go to.
    if ((command.flags & (command_flag::blocking | command_flag::pubsub)) != 0 ||
        !has_keys(command)) {
        return {command.name, CommandKind::unsupported};
    }
    return {command.name, CommandKind::keyed};
}

constexpr ArgumentCheck argument_check_of(std::string_view name) {
    for (const ArgumentCheckEntry& entry : argument_checks) {
        if (entry.name == name) return entry.check;
    }
    return ArgumentCheck::none;
}

constexpr std::array<RedisCommand, command_count> build_commands() {
    std::array<RedisCommand, command_count> commands{};
    for (size_t i = 0; i < command_count; ++i) {
        const GeneratedCommand& generated = generated_commands[i];
        const Handling handling = classify(generated);
        commands[i] = RedisCommand{
            .name = generated.name,
            .arity = generated.arity,
            .kind = handling.kind,
            .merge = handling.merge,
            .split_stride = handling.split_stride,
            .has_subcommands = generated.has_subcommands,
            .key_specs = key_specs_of(generated),
            .flags = generated.flags,
            .first_key = generated.first_key,
            .last_key = generated.last_key,
            .key_step = generated.key_step,
            .argument_check = argument_check_of(generated.name),
        };
    }
    return commands;
}

constexpr std::array<RedisCommand, command_count> commands = build_commands();

constexpr bool is_known(std::string_view name) {
    return std::ranges::any_of(commands, [name](const RedisCommand& c) { return c.name == name; });
}

// A regenerated table (new Redis version) must not silently drop a command we handle by name,
// nor bring a key layout prepare_command cannot follow without a rule written for it.
static_assert(std::ranges::all_of(listed_handling,
                                  [](const Handling& h) { return is_known(h.name); }),
              "listed_handling names a command Redis does not have");
static_assert(std::ranges::all_of(argument_checks,
                                  [](const ArgumentCheckEntry& e) { return is_known(e.name); }),
              "argument_checks names a command Redis does not have");

constexpr bool is_numkeys_check(ArgumentCheck check) {
    return check == ArgumentCheck::numkeys_eval || check == ArgumentCheck::numkeys_fcall ||
           check == ArgumentCheck::numkeys_zset || check == ArgumentCheck::numkeys_sintercard ||
           check == ArgumentCheck::numkeys_mpop;
}

static_assert(std::ranges::all_of(commands, [](const RedisCommand& command) {
                  const bool keynum = std::ranges::any_of(command.key_specs, [](const KeySpec& s) {
                      return s.find_keys == KeySpec::FindKeys::keynum;
                  });
                  return keynum == is_numkeys_check(command.argument_check);
              }),
              "every command with a numkeys argument needs its Redis wording in numkeys_rule()");
static_assert(std::ranges::all_of(generated_key_specs, [](const KeySpec& spec) {
                  return spec.find_keys != KeySpec::FindKeys::keynum || spec.keystep == 1;
              }),
              "numkeys keys with a step: check_numkeys counts one argument per key");
static_assert(std::ranges::all_of(commands, [](const RedisCommand& command) {
                  const bool unknown = std::ranges::any_of(command.key_specs, [](const KeySpec& s) {
                      return s.begin_search == KeySpec::BeginSearch::unknown ||
                             s.find_keys == KeySpec::FindKeys::unknown;
                  });
                  return !unknown || command.kind != CommandKind::keyed ||
                         command.argument_check == ArgumentCheck::sort;
              }),
              "a keyed command has keys Redis cannot describe by key specs: write a rule for it");

// ---- Lookup: open addressing on the lowercased name, built at compile time ---------------

constexpr size_t max_name_length = 64;  // longest Redis 7 full name is 24 bytes ("cluster|...")

static_assert(std::ranges::all_of(commands, [](const RedisCommand& c) {
    return c.name.size() <= max_name_length;
}));

constexpr uint32_t fnv1a_step(uint32_t hash, char c) {
    return (hash ^ static_cast<uint8_t>(c)) * 16777619u;
}
constexpr uint32_t fnv1a_seed = 2166136261u;

constexpr uint32_t name_hash(std::string_view lowercase_name) {
    uint32_t hash = fnv1a_seed;
    for (char c : lowercase_name) hash = fnv1a_step(hash, c);
    return hash;
}

constexpr size_t slot_count = std::bit_ceil(command_count * 2);  // load factor below 1/2
constexpr size_t slot_mask = slot_count - 1;

// Slot value: command index + 1, 0 for an empty slot.
constexpr std::array<uint16_t, slot_count> build_slots() {
    std::array<uint16_t, slot_count> slots{};
    for (size_t i = 0; i < command_count; ++i) {
        size_t slot = name_hash(commands[i].name) & slot_mask;
        while (slots[slot] != 0) slot = (slot + 1) & slot_mask;
        slots[slot] = static_cast<uint16_t>(i + 1);
    }
    return slots;
}

constexpr std::array<uint16_t, slot_count> slots = build_slots();
static_assert(command_count < std::numeric_limits<uint16_t>::max());

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

const RedisCommand* find_lowercase(std::string_view name, uint32_t hash) {
    for (size_t slot = hash & slot_mask; slots[slot] != 0; slot = (slot + 1) & slot_mask) {
        const RedisCommand& command = commands[slots[slot] - 1];
        if (command.name == name) return &command;
    }
    return nullptr;
}

// Appends text lowercased to buffer at length, hashing as it goes; false when it does not fit.
bool append_lowercase(std::array<char, max_name_length>& buffer, size_t& length, uint32_t& hash,
                      std::string_view text) {
    if (text.size() > buffer.size() - length) return false;
    for (char c : text) {
        const char lower = ascii_lower(c);
        buffer[length++] = lower;
        hash = fnv1a_step(hash, lower);
    }
    return true;
}

// ---- prepare_command -------------------------------------------------------------------------

bool equals_lowercase(std::string_view arg, std::string_view lowercase) {
    return arg.size() == lowercase.size() &&
           std::equal(arg.begin(), arg.end(), lowercase.begin(),
                      [](char a, char b) { return ascii_lower(a) == b; });
}

// Redis's string2ll: optional '-', no '+', no leading zeros or spaces, 64-bit range.
bool parse_redis_integer(std::string_view text, int64_t& value) {
    if (text.empty() || text.size() > 20) return false;
    if (text == "0") {
        value = 0;
        return true;
    }
    const bool negative = text.front() == '-';
    if (negative) text.remove_prefix(1);
    if (text.empty() || text.front() < '1' || text.front() > '9') return false;
    uint64_t magnitude = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        const uint64_t digit = static_cast<uint64_t>(c - '0');
        if (magnitude > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
        magnitude = magnitude * 10 + digit;
    }
    const uint64_t limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + negative;
    if (magnitude > limit) return false;
    value = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    return true;
}

void set_arity_error(const RedisCommand& command, std::string& error) {
    error.assign("ERR wrong number of arguments for '").append(command.name).append("' command");
}

// How each family of commands words a bad numkeys, as redis-server 7.0 does.
struct NumkeysRule {
    std::string_view not_integer;
    std::string_view too_small;  // "%s" stands for the command name
    std::string_view too_many;
    int64_t minimum;
    int64_t arguments_after_keys;  // mandatory ones, such as LMPOP's LEFT|RIGHT
};

constexpr std::string_view not_an_integer = "ERR value is not an integer or out of range";
constexpr std::string_view more_keys_than_args =
    "ERR Number of keys can't be greater than number of args";
constexpr std::string_view numkeys_not_positive = "ERR numkeys should be greater than 0";

constexpr NumkeysRule numkeys_rule(ArgumentCheck check) {
    switch (check) {
        case ArgumentCheck::numkeys_eval:
            return {not_an_integer, "ERR Number of keys can't be negative", more_keys_than_args,
                    0, 0};
        case ArgumentCheck::numkeys_fcall:
            return {"ERR Bad number of keys provided", "ERR Number of keys can't be negative",
                    more_keys_than_args, 0, 0};
        case ArgumentCheck::numkeys_zset:
            return {not_an_integer, "ERR at least 1 input key is needed for '%s' command",
                    "ERR syntax error", 1, 0};
        case ArgumentCheck::numkeys_sintercard:
            return {numkeys_not_positive, numkeys_not_positive, more_keys_than_args, 1, 0};
        case ArgumentCheck::numkeys_mpop:
        default:  // only numkeys checks get here: see the static_assert on keynum specs
            return {numkeys_not_positive, numkeys_not_positive, "ERR syntax error", 1, 1};
    }
}

// Validates the numkeys argument at args[position] for keys starting at first_key; on success
// sets count.
bool check_numkeys(const RedisCommand& command, std::span<const std::string_view> args,
                   size_t position, size_t first_key, int64_t& count, std::string& error) {
    const NumkeysRule rule = numkeys_rule(command.argument_check);
    if (!parse_redis_integer(args[position], count)) {
        error.assign(rule.not_integer);
        return false;
    }
    if (count < rule.minimum) {
        const size_t name_at = rule.too_small.find("%s");
        error.assign(rule.too_small.substr(0, name_at));
        if (name_at != std::string_view::npos) {
            error.append(command.name).append(rule.too_small.substr(name_at + 2));
        }
        return false;
    }
    const int64_t available = static_cast<int64_t>(args.size()) -
                              static_cast<int64_t>(first_key) - rule.arguments_after_keys;
    if (count > available) {
        error.assign(rule.too_many);
        return false;
    }
    return true;
}

// Where a key spec's keys start, or 0 when its keyword is absent. Follows Redis's
// getKeysUsingKeySpecs to the letter, which never matches the keyword in the last argument
// searching forwards, nor in argument 1 searching backwards.
size_t begin_search(const KeySpec& spec, std::span<const std::string_view> args) {
    if (spec.begin_search == KeySpec::BeginSearch::index) return static_cast<size_t>(spec.index);
    const int64_t argc = static_cast<int64_t>(args.size());
    const bool forward = spec.startfrom > 0;
    const int64_t start = forward ? spec.startfrom : argc + spec.startfrom;
    const int64_t end = forward ? argc - 1 : 1;
    for (int64_t i = start; i != end; i += forward ? 1 : -1) {
        if (i >= argc || i < 1) break;
        if (equals_lowercase(args[static_cast<size_t>(i)], spec.keyword)) {
            return static_cast<size_t>(i + 1);
        }
    }
    return 0;
}

// Appends the keys one spec describes. A spec whose keys would fall outside the arguments adds
// nothing: the request then reaches the server of its other keys, which reports the syntax error
// in its own words.
bool collect_spec_keys(const RedisCommand& command, const KeySpec& spec,
                       std::span<const std::string_view> args, std::vector<uint32_t>& key_indices,
                       std::string& error) {
    const size_t begin = begin_search(spec, args);
    if (begin == 0) return true;
    const int64_t argc = static_cast<int64_t>(args.size());
    int64_t first = static_cast<int64_t>(begin);
    int64_t last = 0;
    if (spec.find_keys == KeySpec::FindKeys::range) {
        if (spec.lastkey >= 0) {
            last = first + spec.lastkey;
        } else if (spec.limit == 0) {
            last = argc + spec.lastkey;
            // Key-value pairs (MSET, MSETNX): Redis itself words an odd count as an arity error.
            if (spec.keystep > 1 && (last - first + 1) % spec.keystep != 0) {
                set_arity_error(command, error);
                return false;
            }
        } else {
            last = first + ((argc - first) / spec.limit + spec.lastkey);
        }
    } else {
        const size_t numkeys_at = begin + static_cast<size_t>(spec.keynumidx);
        if (numkeys_at >= args.size()) return true;
        first += spec.firstkey;
        int64_t count = 0;
        if (!check_numkeys(command, args, numkeys_at, static_cast<size_t>(first), count, error)) {
            return false;
        }
        last = first + count - 1;
    }
    if (last >= argc || last < first || first >= argc) return true;
    for (int64_t i = first; i <= last; i += spec.keystep) {
        key_indices.push_back(static_cast<uint32_t>(i));
    }
    return true;
}

bool refuse_sort_pattern(std::string& error) {
    error.assign("ERR SORT BY/GET patterns are not supported through shardproxy");
    return false;
}

// SORT and SORT_RO, parsed as sortCommandGeneric does. BY with a '*' pattern and GET read keys
// named after the sorted elements, which live on other servers; Redis Cluster refuses the same.
bool check_sort(const RedisCommand& command, std::span<const std::string_view> args,
                std::vector<uint32_t>& key_indices, std::string& error) {
    const bool can_store = (command.flags & command_flag::readonly) == 0;
    uint32_t store_at = 0;
    for (size_t i = 2; i < args.size(); ++i) {
        const size_t left = args.size() - i - 1;
        const std::string_view option = args[i];
        if (equals_lowercase(option, "asc") || equals_lowercase(option, "desc") ||
            equals_lowercase(option, "alpha")) {
            continue;
        }
        if (equals_lowercase(option, "limit") && left >= 2) {
            i += 2;
        } else if (can_store && equals_lowercase(option, "store") && left >= 1) {
            store_at = static_cast<uint32_t>(++i);
        } else if (equals_lowercase(option, "by") && left >= 1) {
            // BY without '*' only means "do not sort": no other key is read.
            if (args[++i].find('*') != std::string_view::npos) return refuse_sort_pattern(error);
        } else if (equals_lowercase(option, "get") && left >= 1) {
            return refuse_sort_pattern(error);
        } else {
            break;  // the server reports the syntax error
        }
    }
    if (store_at != 0) key_indices.push_back(store_at);
    return true;
}

// XREAD and XREADGROUP options before STREAMS, parsed as xreadCommand does.
bool check_xread(const RedisCommand& command, std::span<const std::string_view> args,
                 std::string& error) {
    for (size_t i = 1; i < args.size(); ++i) {
        const size_t left = args.size() - i - 1;
        const std::string_view option = args[i];
        if (equals_lowercase(option, "block") && left >= 1) {
            error.assign("ERR unsupported command '").append(command.name).append("' with BLOCK");
            return false;
        }
        if ((equals_lowercase(option, "count") && left >= 1)) {
            ++i;
        } else if (equals_lowercase(option, "group") && left >= 2) {
            i += 2;
        } else if (!equals_lowercase(option, "noack")) {
            return true;  // STREAMS, or a syntax error the server reports
        }
    }
    return true;
}

// COPY options, parsed as copyCommand does: DB would write to a database the proxy never selects.
bool check_copy(std::span<const std::string_view> args, std::string& error) {
    for (size_t i = 3; i < args.size(); ++i) {
        if (equals_lowercase(args[i], "replace")) continue;
        if (equals_lowercase(args[i], "db") && i + 1 < args.size()) {
            error.assign("ERR unsupported command 'copy' with DB");
            return false;
        }
        return true;
    }
    return true;
}

}  // namespace

const RedisCommand* find_redis_command(std::string_view name, std::string_view subcommand) {
    // "object|encoding" is the table's name for OBJECT ENCODING, not a command clients can send.
    if (name.find('|') != std::string_view::npos) return nullptr;
    std::array<char, max_name_length> buffer;
    size_t length = 0;
    uint32_t hash = fnv1a_seed;
    if (!append_lowercase(buffer, length, hash, name)) return nullptr;
    const RedisCommand* command = find_lowercase({buffer.data(), length}, hash);
    if (command == nullptr || !command->has_subcommands || subcommand.empty()) return command;
    if (!append_lowercase(buffer, length, hash, "|") ||
        !append_lowercase(buffer, length, hash, subcommand)) {
        return command;
    }
    const RedisCommand* sub = find_lowercase({buffer.data(), length}, hash);
    return sub != nullptr ? sub : command;
}

bool prepare_command(const RedisCommand& command, std::span<const std::string_view> args,
                     std::vector<uint32_t>& key_indices, std::string& error) {
    key_indices.clear();
    const int64_t argc = static_cast<int64_t>(args.size());
    if (command.arity >= 0 ? argc != command.arity : argc < -static_cast<int64_t>(command.arity)) {
        set_arity_error(command, error);
        return false;
    }
    for (const KeySpec& spec : command.key_specs) {
        if ((spec.flags & key_flag::not_key) != 0 ||
            spec.begin_search == KeySpec::BeginSearch::unknown ||
            spec.find_keys == KeySpec::FindKeys::unknown) {
            continue;
        }
        if (!collect_spec_keys(command, spec, args, key_indices, error)) return false;
    }
    switch (command.argument_check) {
        case ArgumentCheck::sort:
            if (!check_sort(command, args, key_indices, error)) return false;
            break;
        case ArgumentCheck::xread:
            if (!check_xread(command, args, error)) return false;
            break;
        case ArgumentCheck::copy:
            if (!check_copy(args, error)) return false;
            break;
        default:
            break;
    }
    // Specs come in role order, not argument order: GEORADIUS ... STOREDIST d1 STORE d2.
    std::ranges::sort(key_indices);
    return true;
}

std::span<const RedisCommand> all_redis_commands() { return commands; }

}  // namespace shardproxy::proxy
