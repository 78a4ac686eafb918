#include "proxy/redis_command.h"

#include <doctest/doctest.h>

#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace shardproxy::proxy {
namespace {

struct Prepared {
    bool ok = false;
    std::vector<uint32_t> keys;
    std::string error;
};

const RedisCommand& lookup(std::initializer_list<std::string_view> args) {
    const std::vector<std::string_view> list(args);
    const RedisCommand* command = find_redis_command(list[0], list.size() > 1 ? list[1] : "");
    REQUIRE(command != nullptr);
    return *command;
}

Prepared prepare(std::initializer_list<std::string_view> args) {
    const std::vector<std::string_view> list(args);
    Prepared result;
    result.ok = prepare_command(lookup(args), list, result.keys, result.error);
    return result;
}

std::vector<uint32_t> keys_of(std::initializer_list<std::string_view> args) {
    Prepared result = prepare(args);
    INFO("error: ", result.error);
    REQUIRE(result.ok);
    return result.keys;
}

std::string error_of(std::initializer_list<std::string_view> args) {
    Prepared result = prepare(args);
    REQUIRE_FALSE(result.ok);
    return result.error;
}

using Keys = std::vector<uint32_t>;

CommandKind kind_of(std::string_view name, std::string_view subcommand = "") {
    const RedisCommand* command = find_redis_command(name, subcommand);
    REQUIRE(command != nullptr);
    return command->kind;
}

}  // namespace

TEST_CASE("find_redis_command ignores the case of command and subcommand names") {
    const RedisCommand* get = find_redis_command("get", "");
    REQUIRE(get != nullptr);
    CHECK(get->name == "get");
    CHECK(get->arity == 2);
    CHECK(find_redis_command("GET", "") == get);
    CHECK(find_redis_command("gEt", "") == get);

    const RedisCommand* encoding = find_redis_command("OBJECT", "Encoding");
    REQUIRE(encoding != nullptr);
    CHECK(encoding->name == "object|encoding");
    CHECK(encoding->arity == 3);
    CHECK(find_redis_command("object", "ENCODING") == encoding);
}

TEST_CASE("find_redis_command returns subcommand entries of every container") {
    CHECK(find_redis_command("client", "setname")->name == "client|setname");
    CHECK(find_redis_command("script", "load")->name == "script|load");
    CHECK(find_redis_command("xinfo", "stream")->name == "xinfo|stream");
    CHECK(find_redis_command("xgroup", "create")->name == "xgroup|create");
    CHECK(find_redis_command("memory", "usage")->name == "memory|usage");
    CHECK(find_redis_command("config", "get")->name == "config|get");
}

TEST_CASE("find_redis_command falls back to the container for an unknown or missing subcommand") {
    const RedisCommand* object = find_redis_command("object", "nosuch");
    REQUIRE(object != nullptr);
    CHECK(object->name == "object");
    CHECK(object->has_subcommands);
    CHECK(object->kind == CommandKind::unsupported);
    CHECK(find_redis_command("object", "") == object);
    CHECK(find_redis_command("object", std::string(100, 'x')) == object);
}

TEST_CASE("find_redis_command ignores the subcommand argument of a plain command") {
    CHECK(find_redis_command("get", "encoding") == find_redis_command("get", ""));
    CHECK(find_redis_command("set", "k")->name == "set");
}

TEST_CASE("find_redis_command returns nullptr for names Redis does not know") {
    CHECK(find_redis_command("nosuchcommand", "") == nullptr);
    CHECK(find_redis_command("", "") == nullptr);
    CHECK(find_redis_command("ge", "") == nullptr);
    CHECK(find_redis_command("gett", "") == nullptr);
    CHECK(find_redis_command(std::string(200, 'g'), "") == nullptr);
    // The table names subcommands "a|b", but clients cannot send that as a command name.
    CHECK(find_redis_command("object|encoding", "") == nullptr);
}

TEST_CASE("every table entry is found by its own name and names are unique") {
    std::set<std::string_view> names;
    size_t subcommands = 0;
    for (const RedisCommand& command : all_redis_commands()) {
        CHECK(names.insert(command.name).second);
        const size_t bar = command.name.find('|');
        const RedisCommand* found =
            bar == std::string_view::npos
                ? find_redis_command(command.name, "")
                : find_redis_command(command.name.substr(0, bar), command.name.substr(bar + 1));
        CHECK_MESSAGE(found == &command, command.name);
        subcommands += bar != std::string_view::npos;
    }
    CHECK(all_redis_commands().size() > 350);
    CHECK(subcommands > 100);
}

TEST_CASE("wrong arity gets Redis's exact wording with the full lowercase name") {
    CHECK(error_of({"GET"}) == "ERR wrong number of arguments for 'get' command");
    CHECK(error_of({"get", "a", "b"}) == "ERR wrong number of arguments for 'get' command");
    CHECK(error_of({"SET", "k"}) == "ERR wrong number of arguments for 'set' command");
    CHECK(error_of({"OBJECT", "ENCODING"}) ==
          "ERR wrong number of arguments for 'object|encoding' command");
    CHECK(error_of({"client", "setname"}) ==
          "ERR wrong number of arguments for 'client|setname' command");
    CHECK(error_of({"object"}) == "ERR wrong number of arguments for 'object' command");
}

TEST_CASE("MSET and MSETNX with a key lacking its value are arity errors, as in Redis") {
    CHECK(error_of({"mset", "a", "1", "b"}) == "ERR wrong number of arguments for 'mset' command");
    CHECK(error_of({"msetnx", "a", "1", "b"}) ==
          "ERR wrong number of arguments for 'msetnx' command");
}

TEST_CASE("key positions of single-key and split commands") {
    CHECK(keys_of({"GET", "k"}) == Keys{1});
    CHECK(keys_of({"SET", "k", "v", "EX", "10"}) == Keys{1});
    CHECK(keys_of({"MSET", "a", "1", "b", "2", "c", "3"}) == Keys{1, 3, 5});
    CHECK(keys_of({"MGET", "a", "b", "c"}) == Keys{1, 2, 3});
    CHECK(keys_of({"DEL", "a", "b"}) == Keys{1, 2});
}

TEST_CASE("key positions of multi-key commands") {
    CHECK(keys_of({"RENAME", "a", "b"}) == Keys{1, 2});
    CHECK(keys_of({"SINTER", "a", "b", "c"}) == Keys{1, 2, 3});
    CHECK(keys_of({"LMOVE", "src", "dst", "LEFT", "RIGHT"}) == Keys{1, 2});
    CHECK(keys_of({"OBJECT", "ENCODING", "k"}) == Keys{2});
    CHECK(keys_of({"MEMORY", "USAGE", "k", "SAMPLES", "5"}) == Keys{2});
    CHECK(keys_of({"XINFO", "STREAM", "s"}) == Keys{2});
    CHECK(keys_of({"XGROUP", "CREATE", "s", "g", "$"}) == Keys{2});
    CHECK(keys_of({"BLPOP", "a", "b", "0"}) == Keys{1, 2});  // lastkey -2: the timeout is no key
}

TEST_CASE("numkeys commands take exactly numkeys keys after the count") {
    CHECK(keys_of({"EVAL", "return 1", "2", "k1", "k2", "a"}) == Keys{3, 4});
    CHECK(keys_of({"EVALSHA", "abc", "1", "k1", "a"}) == Keys{3});
    CHECK(keys_of({"FCALL", "f", "1", "k1"}) == Keys{3});
    CHECK(keys_of({"ZUNIONSTORE", "dst", "2", "a", "b"}) == Keys{1, 3, 4});
    CHECK(keys_of({"ZUNIONSTORE", "dst", "2", "a", "b", "WEIGHTS", "1", "2"}) == Keys{1, 3, 4});
    CHECK(keys_of({"ZINTERCARD", "2", "a", "b", "LIMIT", "1"}) == Keys{2, 3});
    CHECK(keys_of({"SINTERCARD", "2", "a", "b"}) == Keys{2, 3});
    CHECK(keys_of({"LMPOP", "2", "a", "b", "LEFT"}) == Keys{2, 3});
    CHECK(keys_of({"ZMPOP", "1", "a", "MIN", "COUNT", "2"}) == Keys{2});
}

TEST_CASE("EVAL and FCALL with numkeys 0 are keyed commands with no key") {
    CHECK(kind_of("eval") == CommandKind::keyed);
    CHECK(keys_of({"EVAL", "return 1", "0"}).empty());
    CHECK(keys_of({"EVAL", "return 1", "0", "arg"}).empty());
    CHECK(keys_of({"FCALL_RO", "f", "0"}).empty());
}

TEST_CASE("a bad numkeys gets the wording redis-server 7.0 uses for that command") {
    SUBCASE("EVAL family") {
        CHECK(error_of({"EVAL", "s", "3", "a", "b"}) ==
              "ERR Number of keys can't be greater than number of args");
        CHECK(error_of({"evalsha_ro", "s", "-1", "a"}) == "ERR Number of keys can't be negative");
        CHECK(error_of({"eval", "s", "x", "a"}) == "ERR value is not an integer or out of range");
        CHECK(error_of({"eval", "s", "01", "a"}) == "ERR value is not an integer or out of range");
        CHECK(error_of({"eval", "s", "+1", "a"}) == "ERR value is not an integer or out of range");
        CHECK(error_of({"eval", "s", "99999999999999999999", "a"}) ==
              "ERR value is not an integer or out of range");
    }
    SUBCASE("FCALL family") {
        CHECK(error_of({"FCALL", "f", "5", "a"}) ==
              "ERR Number of keys can't be greater than number of args");
        CHECK(error_of({"fcall_ro", "f", "-1", "a"}) == "ERR Number of keys can't be negative");
        CHECK(error_of({"fcall", "f", "x", "a"}) == "ERR Bad number of keys provided");
    }
    SUBCASE("sorted set family") {
        CHECK(error_of({"ZUNIONSTORE", "d", "5", "a"}) == "ERR syntax error");
        CHECK(error_of({"zunionstore", "d", "0", "a"}) ==
              "ERR at least 1 input key is needed for 'zunionstore' command");
        CHECK(error_of({"ZINTERCARD", "-1", "a"}) ==
              "ERR at least 1 input key is needed for 'zintercard' command");
        CHECK(error_of({"zintercard", "2", "a"}) == "ERR syntax error");
        CHECK(error_of({"zdiff", "x", "a"}) == "ERR value is not an integer or out of range");
    }
    SUBCASE("SINTERCARD") {
        CHECK(error_of({"SINTERCARD", "2", "a"}) ==
              "ERR Number of keys can't be greater than number of args");
        CHECK(error_of({"sintercard", "0", "a"}) == "ERR numkeys should be greater than 0");
        CHECK(error_of({"sintercard", "x", "a"}) == "ERR numkeys should be greater than 0");
    }
    SUBCASE("MPOP family counts the mandatory LEFT/RIGHT after the keys") {
        CHECK(error_of({"LMPOP", "2", "a", "LEFT"}) == "ERR syntax error");
        CHECK(error_of({"lmpop", "0", "a", "left"}) == "ERR numkeys should be greater than 0");
        CHECK(error_of({"zmpop", "x", "a", "min"}) == "ERR numkeys should be greater than 0");
    }
}

TEST_CASE("XREAD and XREADGROUP keys follow STREAMS, half of the remaining arguments") {
    CHECK(keys_of({"XREAD", "COUNT", "2", "STREAMS", "a", "b", "0", "0"}) == Keys{4, 5});
    CHECK(keys_of({"xread", "streams", "a", "0"}) == Keys{2});
    CHECK(keys_of({"XREADGROUP", "GROUP", "g", "c", "NOACK", "STREAMS", "a", ">"}) == Keys{6});
}

TEST_CASE("XREAD and XREADGROUP with BLOCK are refused") {
    CHECK(error_of({"XREAD", "BLOCK", "0", "STREAMS", "a", "$"}) ==
          "ERR unsupported command 'xread' with BLOCK");
    CHECK(error_of({"xreadgroup", "GROUP", "g", "c", "block", "10", "STREAMS", "a", ">"}) ==
          "ERR unsupported command 'xreadgroup' with BLOCK");
    // After STREAMS, "block" is a stream name.
    CHECK(keys_of({"XREAD", "STREAMS", "block", "0"}) == Keys{2});
}

TEST_CASE("SORT STORE destination is a key; SORT_RO has none") {
    CHECK(keys_of({"SORT", "k"}) == Keys{1});
    CHECK(keys_of({"SORT", "k", "STORE", "d"}) == Keys{1, 3});
    CHECK(keys_of({"sort", "k", "LIMIT", "0", "10", "desc", "ALPHA", "store", "d"}) == Keys{1, 8});
    // LIMIT takes two arguments, so this "store" is LIMIT's count, not the option.
    CHECK(keys_of({"SORT", "k", "LIMIT", "store", "store", "ASC"}) == Keys{1});
    CHECK(keys_of({"SORT_RO", "k", "STORE", "d"}) == Keys{1});
}

TEST_CASE("SORT with BY or GET patterns is refused, BY without '*' is not") {
    const std::string refused = "ERR SORT BY/GET patterns are not supported through shardproxy";
    CHECK(error_of({"SORT", "k", "BY", "weight_*"}) == refused);
    CHECK(error_of({"sort", "k", "get", "#"}) == refused);
    CHECK(error_of({"SORT_RO", "k", "GET", "obj_*->f"}) == refused);
    CHECK(error_of({"SORT", "k", "STORE", "d", "BY", "w_*"}) == refused);
    CHECK(keys_of({"SORT", "k", "BY", "nosort", "STORE", "d"}) == Keys{1, 5});
}

TEST_CASE("COPY with DB is refused") {
    CHECK(keys_of({"COPY", "a", "b"}) == Keys{1, 2});
    CHECK(keys_of({"COPY", "a", "b", "REPLACE"}) == Keys{1, 2});
    CHECK(error_of({"COPY", "a", "b", "db", "1"}) == "ERR unsupported command 'copy' with DB");
    CHECK(error_of({"COPY", "a", "b", "REPLACE", "DB", "0"}) ==
          "ERR unsupported command 'copy' with DB");
}

TEST_CASE("optional keyword keys are found wherever the keyword is, in argument order") {
    CHECK(keys_of({"GEORADIUS", "k", "15", "37", "200", "km"}) == Keys{1});
    CHECK(keys_of({"GEORADIUS", "k", "15", "37", "200", "km", "STORE", "d"}) == Keys{1, 7});
    CHECK(keys_of({"georadius", "k", "15", "37", "200", "km", "storedist", "d1", "store", "d2"}) ==
          Keys{1, 7, 9});
    CHECK(keys_of({"GEORADIUSBYMEMBER", "k", "m", "1", "km", "ASC", "STORE", "d"}) == Keys{1, 7});
    // A keyword in the last argument has no key after it.
    CHECK(keys_of({"GEORADIUS", "k", "15", "37", "200", "km", "STORE"}) == Keys{1});
}

// Generic key spec mechanics on made-up commands, so they are covered even where no Redis 7.0
// command needs them on a path shardproxy serves.
RedisCommand made_up_command(std::span<const KeySpec> specs) {
    return RedisCommand{.name = "madeup",
                        .arity = -1,
                        .kind = CommandKind::keyed,
                        .merge = MergeRule::none,
                        .split_stride = 0,
                        .has_subcommands = false,
                        .key_specs = specs,
                        .flags = 0,
                        .first_key = 0,
                        .last_key = 0,
                        .key_step = 0,
                        .argument_check = ArgumentCheck::none};
}

std::vector<uint32_t> made_up_keys(const RedisCommand& command,
                                   std::vector<std::string_view> args) {
    std::vector<uint32_t> keys;
    std::string error;
    REQUIRE(prepare_command(command, args, keys, error));
    return keys;
}

TEST_CASE("a keyword with negative startfrom is searched backwards from the end") {
    // MIGRATE's KEYS spec: the last "keys" wins, and argument 1 is never taken for the keyword.
    const KeySpec specs[] = {{.flags = key_flag::rw,
                              .begin_search = KeySpec::BeginSearch::keyword,
                              .index = 0,
                              .keyword = "keys",
                              .startfrom = -2,
                              .find_keys = KeySpec::FindKeys::range,
                              .lastkey = -1,
                              .keystep = 1,
                              .limit = 0,
                              .keynumidx = 0,
                              .firstkey = 0}};
    const RedisCommand command = made_up_command(specs);
    CHECK(made_up_keys(command, {"madeup", "x", "KEYS", "a", "b"}) == Keys{3, 4});
    CHECK(made_up_keys(command, {"madeup", "keys", "x", "Keys", "a"}) == Keys{4});
    CHECK(made_up_keys(command, {"madeup", "keys", "a"}).empty());
    CHECK(made_up_keys(command, {"madeup", "x", "y", "keys"}).empty());
}

TEST_CASE("prepare_command reuses key_indices and leaves error untouched on success") {
    std::vector<uint32_t> keys;
    keys.reserve(8);
    keys.push_back(99);
    const uint32_t* storage = keys.data();
    std::string error;
    const std::vector<std::string_view> args = {"MGET", "a", "b", "c"};
    REQUIRE(prepare_command(lookup({"MGET"}), args, keys, error));
    CHECK(keys == Keys{1, 2, 3});
    CHECK(keys.data() == storage);
    CHECK(error.empty());
    CHECK(error.capacity() == std::string().capacity());
}

TEST_CASE("commands the session answers itself are local") {
    for (std::string_view name : {"ping", "echo", "quit", "select", "hello", "info", "command", "auth"}) {
        CHECK_MESSAGE(kind_of(name) == CommandKind::local, name);
    }
    CHECK(kind_of("COMMAND", "COUNT") == CommandKind::local);
    CHECK(kind_of("command", "getkeys") == CommandKind::local);
    CHECK(kind_of("command", "docs") == CommandKind::local);
    CHECK(kind_of("client", "setname") == CommandKind::local);
    CHECK(kind_of("client", "getname") == CommandKind::local);
}

TEST_CASE("other CLIENT subcommands and the bare container are unsupported") {
    CHECK(kind_of("client", "id") == CommandKind::unsupported);
    CHECK(kind_of("client", "list") == CommandKind::unsupported);
    CHECK(kind_of("client", "kill") == CommandKind::unsupported);
    CHECK(kind_of("client", "nosuch") == CommandKind::unsupported);
}

TEST_CASE("split commands carry their merge rule and stride") {
    const RedisCommand& mget = lookup({"mget"});
    CHECK(mget.kind == CommandKind::split_merge);
    CHECK(mget.merge == MergeRule::array_in_key_order);
    CHECK(mget.split_stride == 1);
    const RedisCommand& mset = lookup({"mset"});
    CHECK(mset.kind == CommandKind::split_merge);
    CHECK(mset.merge == MergeRule::all_ok);
    CHECK(mset.split_stride == 2);
    for (std::string_view name : {"del", "unlink", "exists", "touch"}) {
        const RedisCommand& command = lookup({name});
        CHECK_MESSAGE(command.kind == CommandKind::split_merge, name);
        CHECK_MESSAGE(command.merge == MergeRule::integer_sum, name);
        CHECK_MESSAGE(command.split_stride == 1, name);
    }
    CHECK(lookup({"msetnx"}).kind == CommandKind::keyed);  // atomic across keys: no split
}

TEST_CASE("broadcast commands carry their merge rule") {
    CHECK(lookup({"flushdb"}).kind == CommandKind::broadcast);
    CHECK(lookup({"flushdb"}).merge == MergeRule::all_ok);
    CHECK(lookup({"flushall"}).merge == MergeRule::all_ok);
    CHECK(lookup({"dbsize"}).kind == CommandKind::broadcast);
    CHECK(lookup({"dbsize"}).merge == MergeRule::integer_sum);
    for (auto [container, sub] : {std::pair{"script", "load"}, {"function", "load"}}) {
        const RedisCommand& command = lookup({container, sub});
        CHECK(command.kind == CommandKind::broadcast);
        CHECK(command.merge == MergeRule::same_reply);
    }
    for (auto [container, sub] : {std::pair{"script", "flush"}, {"function", "flush"}}) {
        const RedisCommand& command = lookup({container, sub});
        CHECK(command.kind == CommandKind::broadcast);
        CHECK(command.merge == MergeRule::all_ok);
    }
}

TEST_CASE("blocking, pub/sub, transaction and keyless server commands are unsupported") {
    for (std::string_view name :
         {"blpop", "brpop", "blmove", "brpoplpush", "blmpop", "bzpopmin", "bzmpop", "wait",
          "subscribe", "psubscribe", "publish", "spublish", "ssubscribe", "multi", "exec",
          "discard", "watch", "unwatch", "migrate", "move", "swapdb", "keys", "scan",
          "randomkey", "shutdown", "monitor", "debug", "time", "lastsave", "save", "bgsave"}) {
        CHECK_MESSAGE(kind_of(name) == CommandKind::unsupported, name);
    }
    CHECK(kind_of("config", "get") == CommandKind::unsupported);
    CHECK(kind_of("config", "set") == CommandKind::unsupported);
    CHECK(kind_of("acl", "setuser") == CommandKind::unsupported);
    CHECK(kind_of("cluster", "info") == CommandKind::unsupported);
    CHECK(kind_of("script", "exists") == CommandKind::unsupported);
    CHECK(kind_of("object", "help") == CommandKind::unsupported);
}

TEST_CASE("commands with keys are keyed, including XREAD without BLOCK") {
    for (std::string_view name :
         {"get", "set", "incr", "hset", "lpush", "sadd", "zadd", "xadd", "pfadd", "setbit",
          "geoadd", "rename", "sinter", "lmove", "smove", "zunionstore", "eval", "evalsha",
          "eval_ro", "fcall", "fcall_ro", "sort", "sort_ro", "georadius", "xread", "xreadgroup",
          "copy", "msetnx", "restore"}) {
        CHECK_MESSAGE(kind_of(name) == CommandKind::keyed, name);
        CHECK(lookup({name}).merge == MergeRule::none);
    }
    CHECK(kind_of("object", "encoding") == CommandKind::keyed);
    CHECK(kind_of("memory", "usage") == CommandKind::keyed);
    CHECK(kind_of("xinfo", "stream") == CommandKind::keyed);
    CHECK(kind_of("xgroup", "create") == CommandKind::keyed);
}

TEST_CASE("every keyed command has a key spec and only split commands have a stride") {
    for (const RedisCommand& command : all_redis_commands()) {
        INFO(command.name);
        if (command.kind == CommandKind::keyed) CHECK_FALSE(command.key_specs.empty());
        if (command.kind != CommandKind::split_merge) CHECK(command.split_stride == 0);
    }
}

TEST_CASE("table carries Redis flags and the legacy key triple") {
    const RedisCommand& set = lookup({"set"});
    CHECK((set.flags & command_flag::write) != 0);
    CHECK((set.flags & command_flag::readonly) == 0);
    CHECK((lookup({"get"}).flags & command_flag::readonly) != 0);
    CHECK((lookup({"blpop"}).flags & command_flag::blocking) != 0);
    CHECK((lookup({"eval"}).flags & command_flag::movablekeys) != 0);
    const RedisCommand& mset = lookup({"mset"});
    CHECK(mset.first_key == 1);
    CHECK(mset.last_key == -1);
    CHECK(mset.key_step == 2);
}

}  // namespace shardproxy::proxy
