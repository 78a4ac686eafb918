#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "proxy/memcache_request_parser.h"

// The expectations here are what a real memcached 1.6.18 answered to the same bytes (the
// replies, and how much of the input it used up), except where a test says the proxy differs.

using shardproxy::proxy::MemcacheCommand;
using shardproxy::proxy::MemcacheRequest;
using shardproxy::proxy::MemcacheRequestParser;
using shardproxy::proxy::meta_quiet_withholds;
using Status = MemcacheRequestParser::Status;

namespace doctest {
template <>
struct StringMaker<std::vector<std::string>> {
    static String convert(const std::vector<std::string>& outcomes) {
        std::string out = "{";
        for (const std::string& outcome : outcomes) out += "\n  \"" + outcome + "\"";
        out += "\n}";
        return String(out.c_str());
    }
};
}  // namespace doctest

namespace {

constexpr uint64_t kMaxValue = 1024 * 1024;
constexpr uint64_t kMaxLine = 64 * 1024;

const char* command_name(MemcacheCommand command) {
    switch (command) {
        case MemcacheCommand::get: return "get";
        case MemcacheCommand::gets: return "gets";
        case MemcacheCommand::gat: return "gat";
        case MemcacheCommand::gats: return "gats";
        case MemcacheCommand::set: return "set";
        case MemcacheCommand::add: return "add";
        case MemcacheCommand::replace: return "replace";
        case MemcacheCommand::append: return "append";
        case MemcacheCommand::prepend: return "prepend";
        case MemcacheCommand::cas: return "cas";
        case MemcacheCommand::delete_key: return "delete_key";
        case MemcacheCommand::incr: return "incr";
        case MemcacheCommand::decr: return "decr";
        case MemcacheCommand::touch: return "touch";
        case MemcacheCommand::version: return "version";
        case MemcacheCommand::verbosity: return "verbosity";
        case MemcacheCommand::quit: return "quit";
        case MemcacheCommand::flush_all: return "flush_all";
        case MemcacheCommand::stats: return "stats";
        case MemcacheCommand::meta_get: return "meta_get";
        case MemcacheCommand::meta_set: return "meta_set";
        case MemcacheCommand::meta_delete: return "meta_delete";
        case MemcacheCommand::meta_arithmetic: return "meta_arithmetic";
        case MemcacheCommand::meta_noop: return "meta_noop";
        case MemcacheCommand::meta_debug: return "meta_debug";
    }
    return "?";
}

// One line per outcome, so whole sessions compare as vectors of strings:
//   "set [set|k|0|0|5] key=1+1 hash=k quiet=0 line=13 data=7"
//   "error 'CLIENT_ERROR bad data chunk' consumed=16" (+ " swallowed=N", " close")
std::string describe(const MemcacheRequest& request) {
    std::string out = command_name(request.command);
    out += " [";
    for (size_t i = 0; i < request.tokens.size(); ++i) {
        if (i > 0) out += '|';
        out += request.tokens[i];
    }
    out += "] key=" + std::to_string(request.first_key) + "+" + std::to_string(request.key_count);
    out += " hash=" + std::string(request.hash_key);
    out += " quiet=" + std::to_string(request.quiet_token);
    out += " line=" + std::to_string(request.line_bytes);
    out += " data=" + std::to_string(request.data_bytes);
    return out;
}

std::string describe_error(const MemcacheRequestParser& parser) {
    std::string out = "error '" + std::string(parser.error_reply()) + "' consumed=" +
                      std::to_string(parser.consumed());
    if (parser.must_close()) out += " close";
    return out;
}

// Feeds `wire` to a parser the way a session does: bytes arrive in pieces (each split point
// in `splits` ends one), the buffer keeps what is not consumed, and after need_more the same
// buffer is passed again with more bytes after it. Discarded bytes are added up onto the
// outcome before them, so any split of the same bytes describes the same.
std::vector<std::string> run(const std::string& wire, const std::vector<size_t>& splits,
                             uint64_t max_value = kMaxValue, uint64_t max_line = kMaxLine) {
    MemcacheRequestParser parser(max_value, max_line);
    std::vector<std::string> outcomes;
    uint64_t swallowed = 0;
    auto flush_swallowed = [&] {
        if (swallowed > 0) outcomes.back() += " swallowed=" + std::to_string(swallowed);
        swallowed = 0;
    };
    std::string buffer;
    size_t fed = 0;
    size_t most_needed = 0;  // the largest bytes_needed() since the last outcome
    bool closed = false;
    for (size_t next = 0; !closed; ++next) {
        const size_t until = next < splits.size() ? std::min(splits[next], wire.size()) : wire.size();
        if (until > fed) {
            buffer.append(wire, fed, until - fed);
            fed = until;
        }
        while (!buffer.empty() && !closed) {
            MemcacheRequest request;
            const Status status = parser.parse(buffer, request);
            if (status == Status::need_more) {
                REQUIRE(parser.bytes_needed() > buffer.size());
                most_needed = std::max(most_needed, parser.bytes_needed());
                break;
            }
            size_t used = 0;
            if (status == Status::request) {
                flush_swallowed();
                outcomes.push_back(describe(request));
                REQUIRE(request.wire_bytes == request.line_bytes + request.data_bytes);
                used = request.wire_bytes;
            } else if (status == Status::error) {
                flush_swallowed();
                outcomes.push_back(describe_error(parser));
                used = parser.consumed();
                closed = parser.must_close();
                REQUIRE(used > 0);
            } else {
                REQUIRE(parser.consumed() > 0);
                swallowed += parser.consumed();
                used = parser.consumed();
            }
            REQUIRE(used <= buffer.size());
            // bytes_needed() never asked for more than the outcome turned out to take.
            if (status != Status::discard) CHECK(most_needed <= used);
            most_needed = 0;
            buffer.erase(0, used);
        }
        if (fed == wire.size() && (next >= splits.size() || closed)) break;
    }
    flush_swallowed();
    if (!closed && !buffer.empty()) outcomes.push_back("incomplete " + std::to_string(buffer.size()));
    return outcomes;
}

std::vector<std::string> run_whole(const std::string& wire, uint64_t max_value = kMaxValue,
                                   uint64_t max_line = kMaxLine) {
    return run(wire, {}, max_value, max_line);
}

// The outcomes of `wire` must not depend on how it is split: pieces of every size up to
// `max_chunk`, and two pieces split at every byte.
void check_every_split(const std::string& wire, const std::vector<std::string>& expected,
                       size_t max_chunk = 16) {
    CHECK(run_whole(wire) == expected);
    for (size_t chunk = 1; chunk <= max_chunk; ++chunk) {
        CAPTURE(chunk);
        std::vector<size_t> splits;
        for (size_t at = chunk; at < wire.size(); at += chunk) splits.push_back(at);
        CHECK(run(wire, splits) == expected);
    }
    for (size_t at = 1; at < wire.size(); ++at) {
        CAPTURE(at);
        CHECK(run(wire, {at}) == expected);
    }
}

std::string error(const std::string& reply, size_t consumed) {
    return "error '" + reply + "' consumed=" + std::to_string(consumed);
}

}  // namespace

TEST_CASE("memcache text retrieval commands") {
    check_every_split("get k\r\n", {"get [get|k] key=1+1 hash=k quiet=0 line=7 data=0"});
    check_every_split("gets a bb  ccc\n",
                      {"gets [gets|a|bb|ccc] key=1+3 hash=a quiet=0 line=15 data=0"});
    check_every_split("gat 100 k j\r\n", {"gat [gat|100|k|j] key=2+2 hash=k quiet=0 line=13 data=0"});
    check_every_split("gats -1 k\r\n", {"gats [gats|-1|k] key=2+1 hash=k quiet=0 line=11 data=0"});
    // memcached answers "END" to a gat without keys: a valid request with no key.
    check_every_split("gat 10\r\n", {"gat [gat|10] key=2+0 hash= quiet=0 line=8 data=0"});
    // get has no noreply: it is a key.
    check_every_split("get k noreply\r\n",
                      {"get [get|k|noreply] key=1+2 hash=k quiet=0 line=15 data=0"});
}

TEST_CASE("memcache text storage commands wait for their data block") {
    check_every_split("set k 5 0 3\r\nabc\r\n",
                      {"set [set|k|5|0|3] key=1+1 hash=k quiet=0 line=13 data=5"});
    check_every_split("add k 0 0 0\r\n\r\n", {"add [add|k|0|0|0] key=1+1 hash=k quiet=0 line=13 data=2"});
    check_every_split("replace k 0 0 1 noreply\r\nx\r\n",
                      {"replace [replace|k|0|0|1|noreply] key=1+1 hash=k quiet=5 line=25 data=3"});
    check_every_split("append k 0 0 2\nab\r\n",
                      {"append [append|k|0|0|2] key=1+1 hash=k quiet=0 line=15 data=4"});
    check_every_split("prepend k 0 0 2\r\nab\r\n",
                      {"prepend [prepend|k|0|0|2] key=1+1 hash=k quiet=0 line=17 data=4"});
    check_every_split("cas k 0 0 1 99\r\nx\r\n",
                      {"cas [cas|k|0|0|1|99] key=1+1 hash=k quiet=0 line=16 data=3"});
    check_every_split("cas k 0 0 1 99 noreply\r\nx\r\n",
                      {"cas [cas|k|0|0|1|99|noreply] key=1+1 hash=k quiet=6 line=24 data=3"});
    // A data block may hold CR, LF and NUL bytes.
    check_every_split(std::string("set k 0 0 4\r\n\r\n\0\n\r\n", 19),
                      {"set [set|k|0|0|4] key=1+1 hash=k quiet=0 line=13 data=6"});
    // An extra last token that is not noreply is ignored by memcached ("STORED").
    check_every_split("set k 0 0 1 foo\r\nx\r\n",
                      {"set [set|k|0|0|1|foo] key=1+1 hash=k quiet=0 line=17 data=3"});
}

TEST_CASE("memcache numbers are read as memcached's strtol/strtoull wrappers read them") {
    // All of these were STORED by memcached.
    CHECK(run_whole("set k 4294967296 -1 +1\r\nx\r\n") ==
          std::vector<std::string>{"set [set|k|4294967296|-1|+1] key=1+1 hash=k quiet=0 line=24 data=3"});
    CHECK(run_whole("set k -0 0 01\r\nx\r\n") ==
          std::vector<std::string>{"set [set|k|-0|0|01] key=1+1 hash=k quiet=0 line=15 data=3"});
    CHECK(run_whole("set k 0 0 \t1\r\nx\r\n") ==
          std::vector<std::string>{"set [set|k|0|0|\t1] key=1+1 hash=k quiet=0 line=14 data=3"});
    // Whitespace after the digits ends the number: "1\tnoreply" is 1, and not noreply.
    CHECK(run_whole("set k 0 0 1\tnoreply\r\nx\r\n") ==
          std::vector<std::string>{
              "set [set|k|0|0|1\tnoreply] key=1+1 hash=k quiet=0 line=21 data=3"});
    // memcached keeps the low 32 bits of the length: 4294967297 bytes is one byte.
    CHECK(run_whole("set k 0 0 4294967297\r\nx\r\n") ==
          std::vector<std::string>{"set [set|k|0|0|4294967297] key=1+1 hash=k quiet=0 line=22 data=3"});
    // 2147483645 is the largest length memcached takes (+2 must fit an int).
    CHECK(run_whole("set k 0 0 2147483645\r\n", UINT64_MAX) ==
          std::vector<std::string>{"incomplete 22"});
    const auto bad = [](const std::string& line) {
        return run_whole(line + "\r\nx\r\n") ==
               std::vector<std::string>{error("CLIENT_ERROR bad command line format", line.size() + 2),
                                        error("ERROR", 3)};
    };
    CHECK(bad("set k -1 0 1"));
    CHECK(bad("set k 0 0 -1"));
    CHECK(bad("set k 0 0 2147483646"));
    CHECK(bad("set k 0 0 2147483648"));
    CHECK(bad("set k 0 0 0x1"));
    CHECK(bad("set k 18446744073709551616 0 1"));
    CHECK(bad("set k 0 9223372036854775808 1"));
    CHECK(bad("set k 0 0 1x"));
    CHECK(bad("set k 0 0 +"));
    CHECK(bad("cas k 0 0 1 -1"));
    CHECK(bad("cas k 0 0 1 x"));
    // incr's delta is unsigned: -1 is refused, -0 is not, and strtoull's wrap makes
    // -18446744073709551615 a delta of 1 (memcached incremented by 1).
    CHECK(run_whole("incr k -1\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR invalid numeric delta argument", 11)});
    CHECK(run_whole("incr k 18446744073709551616\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR invalid numeric delta argument", 29)});
    CHECK(run_whole("incr k -0\r\nincr k -18446744073709551615\r\n") ==
          std::vector<std::string>{"incr [incr|k|-0] key=1+1 hash=k quiet=0 line=11 data=0",
                                   "incr [incr|k|-18446744073709551615] key=1+1 hash=k quiet=0 line=30 data=0"});
}

TEST_CASE("memcache single-key and keyless text commands") {
    check_every_split("delete k\r\n", {"delete_key [delete|k] key=1+1 hash=k quiet=0 line=10 data=0"});
    check_every_split("delete k 0\r\n", {"delete_key [delete|k|0] key=1+1 hash=k quiet=0 line=12 data=0"});
    check_every_split("delete k noreply\r\n",
                      {"delete_key [delete|k|noreply] key=1+1 hash=k quiet=2 line=18 data=0"});
    check_every_split("delete k 0 noreply\r\n",
                      {"delete_key [delete|k|0|noreply] key=1+1 hash=k quiet=3 line=20 data=0"});
    check_every_split("incr k 5\r\n", {"incr [incr|k|5] key=1+1 hash=k quiet=0 line=10 data=0"});
    check_every_split("decr k 5 noreply\r\n",
                      {"decr [decr|k|5|noreply] key=1+1 hash=k quiet=3 line=18 data=0"});
    check_every_split("touch k 10\r\n", {"touch [touch|k|10] key=1+1 hash=k quiet=0 line=12 data=0"});
    // memcached ignores a third argument that is not noreply ("NOT_FOUND").
    check_every_split("touch k 1 foo\r\n",
                      {"touch [touch|k|1|foo] key=1+1 hash=k quiet=0 line=15 data=0"});
    check_every_split("version\r\n", {"version [version] key=0+0 hash= quiet=0 line=9 data=0"});
    // version and quit ignore arguments, noreply included ("VERSION 1.6.18").
    check_every_split("version foo noreply\r\n",
                      {"version [version|foo|noreply] key=0+0 hash= quiet=0 line=21 data=0"});
    check_every_split("quit\r\n", {"quit [quit] key=0+0 hash= quiet=0 line=6 data=0"});
    check_every_split("verbosity 1\r\n", {"verbosity [verbosity|1] key=0+0 hash= quiet=0 line=13 data=0"});
    check_every_split("verbosity 1 noreply\r\n",
                      {"verbosity [verbosity|1|noreply] key=0+0 hash= quiet=2 line=21 data=0"});
    // "verbosity 1 2" is "OK" to memcached.
    check_every_split("verbosity 1 2\r\n", {"verbosity [verbosity|1|2] key=0+0 hash= quiet=0 line=15 data=0"});
    check_every_split("flush_all\r\n", {"flush_all [flush_all] key=0+0 hash= quiet=0 line=11 data=0"});
    check_every_split("flush_all noreply\r\n",
                      {"flush_all [flush_all|noreply] key=0+0 hash= quiet=1 line=19 data=0"});
    check_every_split("flush_all 10 noreply\r\n",
                      {"flush_all [flush_all|10|noreply] key=0+0 hash= quiet=2 line=22 data=0"});
    // "flush_all 1 2" is "OK": the 2 is ignored.
    check_every_split("flush_all 1 2\r\n", {"flush_all [flush_all|1|2] key=0+0 hash= quiet=0 line=15 data=0"});
    check_every_split("stats\r\n", {"stats [stats] key=0+0 hash= quiet=0 line=7 data=0"});
    // memcached answers these itself ("stats foo" is "ERROR", "stats detail" a usage error).
    check_every_split("stats settings\r\n", {"stats [stats|settings] key=0+0 hash= quiet=0 line=16 data=0"});
    check_every_split("stats foo noreply\r\n",
                      {"stats [stats|foo|noreply] key=0+0 hash= quiet=0 line=19 data=0"});
}

TEST_CASE("memcache meta commands") {
    check_every_split("mg k v f t\r\n", {"meta_get [mg|k|v|f|t] key=1+1 hash=k quiet=0 line=12 data=0"});
    check_every_split("mg k\r\n", {"meta_get [mg|k] key=1+1 hash=k quiet=0 line=6 data=0"});
    check_every_split("mg k v q O123 k\r\n",
                      {"meta_get [mg|k|v|q|O123|k] key=1+1 hash=k quiet=3 line=17 data=0"});
    check_every_split("ms k 2 T0 F5 q I\r\nab\r\n",
                      {"meta_set [ms|k|2|T0|F5|q|I] key=1+1 hash=k quiet=5 line=18 data=4"});
    check_every_split("ms k 0\n\r\n", {"meta_set [ms|k|0] key=1+1 hash=k quiet=0 line=7 data=2"});
    check_every_split("md k q C5\r\n", {"meta_delete [md|k|q|C5] key=1+1 hash=k quiet=2 line=11 data=0"});
    check_every_split("ma k MD D10 J5 N0 q v\r\n",
                      {"meta_arithmetic [ma|k|MD|D10|J5|N0|q|v] key=1+1 hash=k quiet=6 line=23 data=0"});
    check_every_split("mn\r\n", {"meta_noop [mn] key=0+0 hash= quiet=0 line=4 data=0"});
    // mn always answers MN, so a q on it is nothing.
    check_every_split("mn q\r\n", {"meta_noop [mn|q] key=0+0 hash= quiet=0 line=6 data=0"});
    check_every_split("me k\r\n", {"meta_debug [me|k] key=1+1 hash=k quiet=0 line=6 data=0"});
    // me checks no flags.
    check_every_split("me k x y\r\n", {"meta_debug [me|k|x|y] key=1+1 hash=k quiet=0 line=10 data=0"});
    // Every flag memcached 1.6.18 knows; only the first character of a flag counts.
    check_every_split("mg k b0 N1 T2 R3 l O P L k s t c f v h u qq F1 C2 M+ J3 D4 I\r\n",
                      {error("CLIENT_ERROR options flags are too long", 62)});
    check_every_split("mg k N1 T2 R3 l O P L s t c f v h u qq I\r\n",
                      {"meta_get [mg|k|N1|T2|R3|l|O|P|L|s|t|c|f|v|h|u|qq|I] key=1+1 hash=k quiet=16 "
                       "line=42 data=0"});
    check_every_split("ms k 1 k F1 C2 MS\r\nx\r\n",
                      {"meta_set [ms|k|1|k|F1|C2|MS] key=1+1 hash=k quiet=0 line=19 data=3"});
}

TEST_CASE("memcache meta commands decode base64 keys as memcached does") {
    // "aGVsbG8=" is "hello".
    check_every_split("mg aGVsbG8= b v\r\n",
                      {"meta_get [mg|aGVsbG8=|b|v] key=1+1 hash=hello quiet=0 line=17 data=0"});
    check_every_split("ms aGVsbG8= 1 b q\r\nx\r\n",
                      {"meta_set [ms|aGVsbG8=|1|b|q] key=1+1 hash=hello quiet=4 line=19 data=3"});
    check_every_split("md aGVsbG8= b\r\n",
                      {"meta_delete [md|aGVsbG8=|b] key=1+1 hash=hello quiet=0 line=15 data=0"});
    check_every_split("ma aGk= b\r\n", {"meta_arithmetic [ma|aGk=|b] key=1+1 hash=hi quiet=0 line=11 data=0"});
    check_every_split("me aGk= b\r\n", {"meta_debug [me|aGk=|b] key=1+1 hash=hi quiet=0 line=11 data=0"});
    // memcached skips bytes outside the alphabet ("Y!Q==" is "a"; it answered "EN kYQ== b").
    check_every_split("mg Y!Q== b\r\n", {"meta_get [mg|Y!Q==|b] key=1+1 hash=a quiet=0 line=12 data=0"});
    // Any token starting with b is the b flag for mg/ms/md/ma.
    check_every_split("mg aGk= bx\r\n", {"meta_get [mg|aGk=|bx] key=1+1 hash=hi quiet=0 line=12 data=0"});
    // Binary keys: the view holds every byte ("AAE=" is 00 01).
    MemcacheRequestParser parser(kMaxValue, kMaxLine);
    MemcacheRequest request;
    REQUIRE(parser.parse("mg AAE= b v\r\n", request) == Status::request);
    CHECK(request.hash_key == std::string_view("\0\1", 2));

    CHECK(run_whole("mg a b\r\n") == std::vector<std::string>{error("CLIENT_ERROR error decoding key", 8)});
    CHECK(run_whole("mg YQ b\r\n") == std::vector<std::string>{error("CLIENT_ERROR error decoding key", 9)});
    CHECK(run_whole("mg ==== b\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR error decoding key", 11)});
    CHECK(run_whole("md a b\r\n") == std::vector<std::string>{error("CLIENT_ERROR invalid or duplicate flag", 8)});
    CHECK(run_whole("ma a b\r\n") == std::vector<std::string>{error("CLIENT_ERROR invalid or duplicate flag", 8)});
    CHECK(run_whole("me a b\r\n") == std::vector<std::string>{error("CLIENT_ERROR bad command line format", 8)});
    // ms swallows the data block after a bad key.
    CHECK(run_whole("ms a 1 b\r\nx\r\nmn\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR error decoding key", 10) + " swallowed=3",
                                   "meta_noop [mn] key=0+0 hash= quiet=0 line=4 data=0"});
    // The length limit is on the key as sent: 252 base64 bytes (189 decoded) are too long.
    CHECK(run_whole("mg " + std::string(252, 'A') + " b\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR bad command line format", 259)});
}

TEST_CASE("memcache lines end in CRLF or a bare LF, and a NUL ends them early") {
    check_every_split("get a\nget b\r\n",
                      {"get [get|a] key=1+1 hash=a quiet=0 line=6 data=0",
                       "get [get|b] key=1+1 hash=b quiet=0 line=7 data=0"});
    // A CR elsewhere is part of a token ("get k\r\r\n" asks for "k\r", a key with a control
    // character).
    check_every_split("get k\r\r\n", {error("CLIENT_ERROR bad command line format", 8)});
    // Empty and one-character lines are "ERROR", "\r\n" included.
    check_every_split("\r\n\n \r\ng\r\n\r\r\n",
                      {error("ERROR", 2), error("ERROR", 1), error("ERROR", 3), error("ERROR", 3),
                       error("ERROR", 3)});
    // memcached reads the line as a C string.
    check_every_split(std::string("get a\0b\r\n", 9), {"get [get|a] key=1+1 hash=a quiet=0 line=9 data=0"});
    check_every_split(std::string("\0get k\r\n", 8), {error("ERROR", 8)});
    // "set a\0b 0 0 1" is "set a" to memcached: "ERROR", then "x" is another "ERROR".
    check_every_split(std::string("set a\0b 0 0 1\r\nx\r\n", 18), {error("ERROR", 15), error("ERROR", 3)});
}

TEST_CASE("memcache keys with control characters are refused like overlong keys") {
    // memcached 1.6.18 stores such keys although its protocol forbids them; the proxy answers
    // as for an overlong key, and swallows a set's data block so the client stays in step.
    check_every_split("set a\tb 0 0 1\r\nx\r\n",
                      {error("CLIENT_ERROR bad command line format", 15) + " swallowed=3"});
    check_every_split("get a\x01\x7f\r\n", {error("CLIENT_ERROR bad command line format", 9)});
    check_every_split("mg a\tb v\r\n", {error("CLIENT_ERROR bad command line format", 10)});
    // A tab does not separate tokens.
    check_every_split("get\tk\r\n", {error("ERROR", 7)});
}

TEST_CASE("with memcached's key rules, keys with control characters are accepted as memcached does") {
    MemcacheRequestParser lenient(1024 * 1024, 4096, true);
    MemcacheRequest request;
    const std::string wire = "get \x10\x10key\r\n";  // memcaslap's keys start like this
    REQUIRE(lenient.parse(wire, request) == MemcacheRequestParser::Status::request);
    CHECK(request.hash_key == "\x10\x10key");
    CHECK(lenient.parse("get " + std::string(251, 'k') + "\r\n", request) == MemcacheRequestParser::Status::error);
}

TEST_CASE("memcache keys longer than 250 bytes") {
    const std::string key250(250, 'k');
    const std::string key251(251, 'k');
    CHECK(run_whole("get " + key250 + "\r\n").size() == 1);
    CHECK(run_whole("get a " + key251 + " b\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR bad command line format", 261)});
    CHECK(run_whole("gat 0 " + key251 + "\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR bad command line format", 259)});
    // gat checks its exptime first.
    CHECK(run_whole("gat x " + key251 + "\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR invalid exptime argument", 259)});
    CHECK(run_whole("delete " + key251 + "\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR bad command line format", 260)});
    CHECK(run_whole("delete " + key251 + " noreply\r\n") == std::vector<std::string>{error("", 268)});
    CHECK(run_whole("incr " + key251 + " 1\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR bad command line format", 260)});
    CHECK(run_whole("touch " + key251 + " 1 noreply\r\n") == std::vector<std::string>{error("", 269)});
    CHECK(run_whole("mg " + key251 + " v q\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR bad command line format", 260)});
    CHECK(run_whole("md " + key251 + "\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR bad command line format", 256)});
    CHECK(run_whole("ma " + key251 + "\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR bad command line format", 256)});
    CHECK(run_whole("me " + key251 + "\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR bad command line format", 256)});
}

TEST_CASE("memcache storage with a key too long swallows the declared block (memcached does not)") {
    // memcached answers CLIENT_ERROR and then runs the data block as a command: for
    // "set <251 bytes> 0 0 5\r\nget k\r\n" it answered the error and then the get. A client
    // gets two replies for one request, and its data could be any command; the proxy swallows
    // the declared block instead.
    const std::string key251(251, 'k');
    check_every_split("set " + key251 + " 0 0 5\r\nget k\r\nmn\r\n",
                      {error("CLIENT_ERROR bad command line format", 263) + " swallowed=7",
                       "meta_noop [mn] key=0+0 hash= quiet=0 line=4 data=0"},
                      4);
    CHECK(run_whole("set " + key251 + " 0 0 1 noreply\r\nx\r\n") ==
          std::vector<std::string>{error("", 271) + " swallowed=3"});
    CHECK(run_whole("ms " + key251 + " 1 q\r\nx\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR bad command line format", 260) + " swallowed=3"});
    // Without a usable length there is nothing to swallow: the data is the next command.
    CHECK(run_whole("set " + key251 + " 0 0 x\r\nx\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR bad command line format", 263), error("ERROR", 3)});
}

TEST_CASE("memcache wrong token counts are ERROR and the data block is read as a command") {
    // What memcached answered, line by line.
    check_every_split("get\r\ngets \r\ngat\r\n",
                      {error("ERROR", 5), error("ERROR", 7), error("ERROR", 5)});
    check_every_split("cas k 0 0 1\r\nx\r\n", {error("ERROR", 13), error("ERROR", 3)});
    check_every_split("set k 0 0\r\nx\r\n", {error("ERROR", 11), error("ERROR", 3)});
    check_every_split("set k 0 0 1 noreply foo\r\nx\r\n", {error("ERROR", 25), error("ERROR", 3)});
    check_every_split("cas k 0 0 1 1 noreply x\r\nx\r\n", {error("ERROR", 25), error("ERROR", 3)});
    check_every_split("delete\r\ndelete k 0 noreply x\r\n", {error("ERROR", 8), error("ERROR", 22)});
    check_every_split("incr k\r\nincr k 1 2 3\r\ndecr\r\ntouch k\r\n",
                      {error("ERROR", 8), error("ERROR", 14), error("ERROR", 6), error("ERROR", 9)});
    check_every_split("verbosity\r\nverbosity 1 2 3\r\nflush_all 1 2 3\r\n",
                      {error("ERROR", 11), error("ERROR", 17), error("ERROR", 17)});
    check_every_split("mg\r\nms\r\nmd\r\nma\r\nmx k\r\nm\r\n",
                      {error("ERROR", 4), error("ERROR", 4), error("ERROR", 4), error("ERROR", 4),
                       error("ERROR", 6), error("ERROR", 3)});
    // me and ms without what follows the command get a CLIENT_ERROR instead.
    check_every_split("me\r\nms k\r\n", {error("CLIENT_ERROR bad command line format", 4),
                                         error("CLIENT_ERROR bad command line format", 6)});
    // Unknown commands, and admin commands the proxy does not serve.
    check_every_split("foo\r\nGET k\r\ngetx k\r\nshutdown\r\nslabs reassign 1 2\r\nbget k\r\nwatch\r\n",
                      {error("ERROR", 5), error("ERROR", 7), error("ERROR", 8), error("ERROR", 10),
                       error("ERROR", 20), error("ERROR", 8), error("ERROR", 7)});
}

TEST_CASE("memcache bad numbers are CLIENT_ERRORs, and the data block is then a command") {
    // memcached: "CLIENT_ERROR bad command line format" then "ERROR" for the "x" line.
    check_every_split("set k x 0 1\r\nx\r\n",
                      {error("CLIENT_ERROR bad command line format", 13), error("ERROR", 3)});
    check_every_split("set k 0 0 x noreply\r\nx\r\n", {error("", 21), error("ERROR", 3)});
    // cas with noreply as its unique: the noreply counts, the unique is bad, all silent.
    check_every_split("cas k 0 0 1 noreply\r\nx\r\n", {error("", 21), error("ERROR", 3)});
    check_every_split("gat abc k\r\n", {error("CLIENT_ERROR invalid exptime argument", 11)});
    check_every_split("touch k x\r\ntouch k x noreply\r\n",
                      {error("CLIENT_ERROR invalid exptime argument", 11), error("", 19)});
    check_every_split("incr k x\r\ndecr k x noreply\r\nincr k noreply\r\n",
                      {error("CLIENT_ERROR invalid numeric delta argument", 10), error("", 18),
                       error("", 16)});
    check_every_split("verbosity x\r\nverbosity x noreply\r\nverbosity noreply\r\n",
                      {error("CLIENT_ERROR bad command line format", 13), error("", 21),
                       error("", 19)});
    check_every_split("flush_all x\r\nflush_all x noreply\r\nflush_all noreply 5\r\n",
                      {error("CLIENT_ERROR invalid exptime argument", 13), error("", 21),
                       error("CLIENT_ERROR invalid exptime argument", 21)});
    check_every_split("delete k 1\r\ndelete k 0 0\r\ndelete k 1 noreply\r\ndelete k noreply 0\r\n",
                      {error("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]", 12),
                       error("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]", 14),
                       error("", 20),
                       error("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]", 20)});
}

TEST_CASE("memcache data blocks must end in CRLF") {
    // memcached reads <bytes>+2 bytes, answers "bad data chunk", and reads on from there: the
    // rest of this block ("\r\n") is an empty command, "ERROR".
    check_every_split("set k 0 0 1\r\nxyz\r\n",
                      {error("CLIENT_ERROR bad data chunk", 16), error("ERROR", 2)});
    check_every_split("set k 0 0 1\r\nx\n\r\n", {error("CLIENT_ERROR bad data chunk", 16), error("ERROR", 1)});
    check_every_split("set k 0 0 3\r\nabcdefg\r\nmn\r\n",
                      {error("CLIENT_ERROR bad data chunk", 18),
                       "error 'ERROR' consumed=4", "meta_noop [mn] key=0+0 hash= quiet=0 line=4 data=0"});
    // noreply silences it for text commands; ms always answers.
    check_every_split("set k 0 0 1 noreply\r\nxyz\r\n", {error("", 24), error("ERROR", 2)});
    check_every_split("ms k 1 q\r\nxyz\r\n", {error("CLIENT_ERROR bad data chunk", 13), error("ERROR", 2)});
}

TEST_CASE("memcache blocks over max_value_bytes are swallowed as they arrive") {
    const std::string block(5000, 'v');
    const std::string wire = "set k 0 0 5000\r\n" + block + "\r\nset big 0 0 5000 noreply\r\n" + block +
                             "\r\nms k 5000 q\r\n" + block + "\r\nmn\r\n";
    const std::vector<std::string> expected{
        error("SERVER_ERROR object too large for cache", 16) + " swallowed=5002",
        error("", 26) + " swallowed=5002",
        // ms errors are always answered, q or not.
        error("SERVER_ERROR object too large for cache", 13) + " swallowed=5002",
        "meta_noop [mn] key=0+0 hash= quiet=0 line=4 data=0"};
    CHECK(run(wire, {}, 4096) == expected);
    for (const size_t chunk : {1, 7, 100, 4096}) {
        CAPTURE(chunk);
        std::vector<size_t> splits;
        for (size_t at = chunk; at < wire.size(); at += chunk) splits.push_back(at);
        CHECK(run(wire, splits, 4096) == expected);
    }

    // The swallow never waits for the block: every piece is discarded as soon as it is here.
    MemcacheRequestParser parser(4096, kMaxLine);
    MemcacheRequest request;
    const std::string line = "set k 0 0 100000\r\n";
    REQUIRE(parser.parse(line, request) == Status::error);
    CHECK(parser.error_reply() == "SERVER_ERROR object too large for cache");
    CHECK(parser.consumed() == line.size());
    CHECK_FALSE(parser.must_close());
    size_t swallowed = 0;
    while (swallowed < 100002) {
        const std::string piece(std::min<size_t>(333, 100002 - swallowed), 'v');
        REQUIRE(parser.parse(piece, request) == Status::discard);
        CHECK(parser.consumed() == piece.size());
        swallowed += piece.size();
    }
    REQUIRE(parser.parse("get k\r\n", request) == Status::request);
    CHECK(request.command == MemcacheCommand::get);

    // A discard takes only the block, and what follows it is parsed next.
    REQUIRE(parser.parse("set k 0 0 5000\r\n", request) == Status::error);
    REQUIRE(parser.parse(block + "\r\nget k\r\n", request) == Status::discard);
    CHECK(parser.consumed() == 5002);
    // The session may call with nothing buffered while swallowing.
    REQUIRE(parser.parse("get k\r\n", request) == Status::request);
    REQUIRE(parser.parse("set k 0 0 5000\r\n", request) == Status::error);
    CHECK(parser.parse("", request) == Status::need_more);
    CHECK(parser.bytes_needed() == 1);
}

TEST_CASE("memcache ms errors after its length swallow the block; before it they do not") {
    // Answers as memcached gave them; the block is swallowed exactly when memcached did.
    const auto ms = [](const std::string& line) { return run_whole(line + "\r\nx\r\nmn\r\n"); };
    const std::string mn = "meta_noop [mn] key=0+0 hash= quiet=0 line=4 data=0";
    CHECK(ms("ms k 1 zz") == std::vector<std::string>{error("CLIENT_ERROR invalid flag", 11) + " swallowed=3", mn});
    CHECK(ms("ms k 1 q q") == std::vector<std::string>{error("CLIENT_ERROR duplicate flag", 12) + " swallowed=3", mn});
    CHECK(ms("ms k 1 Mx") ==
          std::vector<std::string>{error("CLIENT_ERROR invalid mode for ms M token", 11) + " swallowed=3", mn});
    CHECK(ms("ms k 1 Mxx") ==
          std::vector<std::string>{error("CLIENT_ERROR incorrect length for M token", 12) + " swallowed=3", mn});
    CHECK(ms("ms k 1 Tx") ==
          std::vector<std::string>{error("CLIENT_ERROR bad token in command line format", 11) + " swallowed=3", mn});
    CHECK(ms("ms k 1 Fx q") ==
          std::vector<std::string>{error("CLIENT_ERROR bad command line format", 13) + " swallowed=3", mn});
    CHECK(ms("ms k 1 S1") == std::vector<std::string>{error("CLIENT_ERROR invalid flag", 11) + " swallowed=3", mn});
    CHECK(ms("ms k 1 O" + std::string(32, '1')) ==
          std::vector<std::string>{error("CLIENT_ERROR opaque token too long", 42) + " swallowed=3", mn});
    // Before the length: the block is a command ("x" is ERROR).
    CHECK(ms("ms k x") ==
          std::vector<std::string>{error("CLIENT_ERROR bad command line format", 8), error("ERROR", 3), mn});
    CHECK(ms("ms k -1") ==
          std::vector<std::string>{error("CLIENT_ERROR bad command line format", 9), error("ERROR", 3), mn});
    CHECK(ms("ms k 2147483646") ==
          std::vector<std::string>{error("CLIENT_ERROR bad command line format", 17), error("ERROR", 3), mn});
    // 17 flags are too many for ms. memcached then reads the block as a command; like a key
    // too long, the proxy swallows it.
    CHECK(ms("ms k 1 a b c d e f g h i j k l m n o p r") ==
          std::vector<std::string>{error("CLIENT_ERROR options flags too long", 42) + " swallowed=3", mn});
    CHECK(ms("ms k 1 a b c d e f g h i j k l m n o p") ==
          std::vector<std::string>{error("CLIENT_ERROR invalid flag", 40) + " swallowed=3", mn});
}

TEST_CASE("memcache mg md ma flag errors as memcached words them") {
    CHECK(run_whole("mg k q q\r\nmg k zz\r\nmg k \x80\r\nmg k Tx q\r\nmg k Fx\r\nmg k Nx\r\nmg k Cx\r\n") ==
          std::vector<std::string>{
              error("CLIENT_ERROR duplicate flag", 10), error("CLIENT_ERROR invalid flag", 9),
              // a flag byte of 127 or more is a "duplicate" to memcached
              error("CLIENT_ERROR duplicate flag", 8),
              error("CLIENT_ERROR bad token in command line format", 11),
              error("CLIENT_ERROR bad command line format", 9),
              error("CLIENT_ERROR bad token in command line format", 9),
              error("CLIENT_ERROR bad token in command line format", 9)});
    CHECK(run_whole("mg k Mxx\r\nmg k E\r\nmg k O" + std::string(32, '1') + "\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR incorrect length for M token", 10),
                                   // E (and other later flags) is not in 1.6.18
                                   error("CLIENT_ERROR invalid flag", 8),
                                   error("CLIENT_ERROR opaque token too long", 40)});
    CHECK(run_whole("mg k O" + std::string(31, '1') + "\r\n").size() == 1);
    // 17 flags are fine (a is an invalid one), 18 are too many.
    CHECK(run_whole("mg k a b c d e f g h i j k l m n o p r\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR invalid flag", 40)});
    CHECK(run_whole("mg k a b c d e f g h i j k l m n o p r s\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR options flags are too long", 42)});
    CHECK(run_whole("mg k v q s k O t c f h l u I P L E a\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR invalid flag", 38)});
    CHECK(run_whole("md k zz\r\nmd k q q\r\nmd k Tx\r\nmd k O" + std::string(32, '1') + "\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR invalid or duplicate flag", 9),
                                   error("CLIENT_ERROR invalid or duplicate flag", 10),
                                   error("CLIENT_ERROR invalid or duplicate flag", 9),
                                   error("CLIENT_ERROR opaque token too long", 40)});
    CHECK(run_whole("md k a b c d e f g h i j k l m n o p r s\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR options flags too long", 42)});
    CHECK(run_whole("ma n q Mx\r\nma n q Mxx\r\nma n Dx\r\nma n Jx\r\n") ==
          std::vector<std::string>{error("CLIENT_ERROR invalid mode for ma M token", 11),
                                   error("CLIENT_ERROR invalid or duplicate flag", 12),
                                   error("CLIENT_ERROR invalid or duplicate flag", 9),
                                   error("CLIENT_ERROR invalid or duplicate flag", 9)});
    CHECK(run_whole("ma n MI\r\nma n M+\r\nma n MD\r\nma n M-\r\n").size() == 4);
}

TEST_CASE("memcache lines too long for memcached close the connection") {
    // No LF in more than 2048 bytes: memcached hangs up without a word, unless the line
    // starts with "get " or "gets " after at most 100 spaces.
    CHECK(run_whole(std::string(2048, 'x')) == std::vector<std::string>{"incomplete 2048"});
    CHECK(run_whole(std::string(2049, 'x')) == std::vector<std::string>{"error '' consumed=2049 close"});
    CHECK(run("set " + std::string(3000, 'k'), {1000, 2000, 3000}) ==
          std::vector<std::string>{"error '' consumed=3000 close"});
    CHECK(run_whole("mg " + std::string(3000, 'k')) ==
          std::vector<std::string>{"error '' consumed=3003 close"});
    // gat is not a multiget to memcached: it hung up on a 5000-byte gat line.
    CHECK(run_whole("gat 0 " + std::string(3000, 'k')) ==
          std::vector<std::string>{"error '' consumed=3006 close"});
    CHECK(run_whole("get\t" + std::string(3000, 'k')) ==
          std::vector<std::string>{"error '' consumed=3004 close"});
    // A line that does end, but past 2048 bytes, is refused the same way: memcached would
    // have hung up had it arrived in two reads, so the outcome never depends on the split.
    CHECK(run_whole("set " + std::string(2100, 'k') + " 0 0 1\r\nx\r\n") ==
          std::vector<std::string>{"error '' consumed=2115 close"});

    // Multigets may be long, up to max_line_bytes.
    std::string keys;
    for (int i = 0; i < 1000; ++i) keys += " key" + std::to_string(i);
    const std::string multiget = std::string(100, ' ') + "get" + keys + "\r\nmn\r\n";
    std::vector<size_t> splits;
    for (size_t at = 997; at < multiget.size(); at += 997) splits.push_back(at);
    const auto parsed = run(multiget, splits);
    REQUIRE(parsed.size() == 2);
    CHECK(parsed[0].starts_with("get [get|key0|key1|"));
    CHECK(parsed[0].ends_with("key999] key=1+1000 hash=key0 quiet=0 line=" +
                              std::to_string(multiget.size() - 4) + " data=0"));
    CHECK(run_whole(std::string(101, ' ') + "get" + keys + "\r\n") ==
          std::vector<std::string>{"error '' consumed=" + std::to_string(101 + 3 + keys.size() + 2) + " close"});
    CHECK(run_whole("gets" + keys + "\r\n").size() == 1);
    // Over max_line_bytes, memcached's words when it cannot grow its buffer for a multiget.
    CHECK(run("get" + keys + "\r\n", {3000, 5000}, kMaxValue, 4000) ==
          std::vector<std::string>{
              "error 'SERVER_ERROR out of memory reading request' consumed=5000 close"});
    CHECK(run_whole("get" + keys + "\r\n", kMaxValue, 4000) ==
          std::vector<std::string>{"error 'SERVER_ERROR out of memory reading request' consumed=" +
                                   std::to_string(keys.size() + 5) + " close"});
    // max_line_bytes never lowers memcached's 2048.
    CHECK(run_whole("get" + std::string(2000, 'k') + " k\r\n", kMaxValue, 10).size() == 1);
}

TEST_CASE("memcache HTTP request lines close the connection silently") {
    // memcached hangs up when the last token of an unknown command starts with "HTTP/".
    check_every_split("GET / HTTP/1.1\r\nHost: x\r\n\r\n", {"error '' consumed=16 close"});
    check_every_split("POST /x HTTP/1.0\r\n", {"error '' consumed=18 close"});
    check_every_split("HTTP/1.1\r\n", {"error '' consumed=10 close"});
    check_every_split("xx HTTP/1.1\t\r\n", {"error '' consumed=14 close"});
    // Lowercase get is a get of two keys; a known first letter or a short name is "ERROR".
    check_every_split("get / HTTP/1.1\r\n", {"get [get|/|HTTP/1.1] key=1+2 hash=/ quiet=0 line=16 data=0"});
    check_every_split("gopher / HTTP/1.1\r\nm / HTTP/1.1\r\nxx http/1.1\r\n",
                      {error("ERROR", 19), error("ERROR", 14), error("ERROR", 13)});
    // memcached only reads 23 tokens of a command.
    std::string tokens22;
    for (int i = 0; i < 22; ++i) tokens22 += "xx ";
    CHECK(run_whole(tokens22 + "HTTP/1.1 y\r\n") ==
          std::vector<std::string>{"error '' consumed=" + std::to_string(tokens22.size() + 12) + " close"});
    CHECK(run_whole(tokens22 + "xx HTTP/1.1\r\n") ==
          std::vector<std::string>{error("ERROR", tokens22.size() + 13)});
}

TEST_CASE("memcache need_more asks for exactly the rest of a data block") {
    MemcacheRequestParser parser(kMaxValue, kMaxLine);
    MemcacheRequest request;
    const std::string wire = "set k 0 0 100000\r\n" + std::string(100000, 'v') + "\r\n";
    CHECK(parser.parse(wire.substr(0, 5), request) == Status::need_more);
    CHECK(parser.bytes_needed() == 6);
    CHECK(parser.parse(wire.substr(0, 18), request) == Status::need_more);
    CHECK(parser.bytes_needed() == wire.size());
    CHECK(parser.parse(wire.substr(0, 50000), request) == Status::need_more);
    CHECK(parser.bytes_needed() == wire.size());
    const std::string more = wire + "get";
    REQUIRE(parser.parse(more, request) == Status::request);
    CHECK(request.wire_bytes == wire.size());
    CHECK(request.data_bytes == 100002);
    CHECK(request.hash_key == "k");
    CHECK(parser.parse("get", request) == Status::need_more);
    CHECK(parser.bytes_needed() == 4);
}

TEST_CASE("memcache pipelines parse the same at every split") {
    const std::string wire =
        "get a b\r\n"
        "set k 1 2 3 noreply\r\nabc\r\n"
        "bogus\r\n"
        "mg k v q\r\n"
        "ms aGk= 2 b MA\r\nhi\r\n"
        "set k 0 0 1\r\nxyz\r\n"
        "incr n 7\n"
        "delete k 0 noreply\r\n"
        "mn\r\n"
        "cas k 0 0 2 55\r\n\r\n\r\n"
        "gat 5 k\r\n"
        "stats slabs\r\n"
        "quit\r\n";
    const std::vector<std::string> expected{
        "get [get|a|b] key=1+2 hash=a quiet=0 line=9 data=0",
        "set [set|k|1|2|3|noreply] key=1+1 hash=k quiet=5 line=21 data=5",
        error("ERROR", 7),
        "meta_get [mg|k|v|q] key=1+1 hash=k quiet=3 line=10 data=0",
        "meta_set [ms|aGk=|2|b|MA] key=1+1 hash=hi quiet=0 line=16 data=4",
        error("CLIENT_ERROR bad data chunk", 16),
        error("ERROR", 2),
        "incr [incr|n|7] key=1+1 hash=n quiet=0 line=9 data=0",
        "delete_key [delete|k|0|noreply] key=1+1 hash=k quiet=3 line=20 data=0",
        "meta_noop [mn] key=0+0 hash= quiet=0 line=4 data=0",
        "cas [cas|k|0|0|2|55] key=1+1 hash=k quiet=0 line=16 data=4",
        "gat [gat|5|k] key=2+1 hash=k quiet=0 line=9 data=0",
        "stats [stats|slabs] key=0+0 hash= quiet=0 line=13 data=0",
        "quit [quit] key=0+0 hash= quiet=0 line=6 data=0",
    };
    check_every_split(wire, expected, 40);
}

TEST_CASE("memcache meta quiet mode withholds what memcached 1.6.18 withholds") {
    // mg q: misses only. memcached sent HD and VA for hits under q.
    CHECK(meta_quiet_withholds(MemcacheCommand::meta_get, "EN"));
    CHECK(meta_quiet_withholds(MemcacheCommand::meta_get, "EN\r\n"));
    CHECK_FALSE(meta_quiet_withholds(MemcacheCommand::meta_get, "HD"));
    CHECK_FALSE(meta_quiet_withholds(MemcacheCommand::meta_get, "VA 1 f0"));
    CHECK_FALSE(meta_quiet_withholds(MemcacheCommand::meta_get, "CLIENT_ERROR bad command line format"));
    // ms q: HD only; NS (add of an existing key, replace/append of a missing one), EX (cas
    // mismatch) and NF go out.
    CHECK(meta_quiet_withholds(MemcacheCommand::meta_set, "HD"));
    CHECK(meta_quiet_withholds(MemcacheCommand::meta_set, "HD c5 kfoo O1"));
    CHECK_FALSE(meta_quiet_withholds(MemcacheCommand::meta_set, "NS"));
    CHECK_FALSE(meta_quiet_withholds(MemcacheCommand::meta_set, "EX"));
    CHECK_FALSE(meta_quiet_withholds(MemcacheCommand::meta_set, "NF"));
    CHECK_FALSE(meta_quiet_withholds(MemcacheCommand::meta_set, "SERVER_ERROR object too large for cache"));
    // md q: HD only (delete or mark stale); NF and EX go out.
    CHECK(meta_quiet_withholds(MemcacheCommand::meta_delete, "HD"));
    CHECK_FALSE(meta_quiet_withholds(MemcacheCommand::meta_delete, "NF"));
    CHECK_FALSE(meta_quiet_withholds(MemcacheCommand::meta_delete, "EX"));
    // ma q: a done increment, HD or VA; NF and EX go out.
    CHECK(meta_quiet_withholds(MemcacheCommand::meta_arithmetic, "HD"));
    CHECK(meta_quiet_withholds(MemcacheCommand::meta_arithmetic, "VA 2"));
    CHECK_FALSE(meta_quiet_withholds(MemcacheCommand::meta_arithmetic, "NF"));
    CHECK_FALSE(meta_quiet_withholds(MemcacheCommand::meta_arithmetic, "EX"));
    CHECK_FALSE(meta_quiet_withholds(MemcacheCommand::meta_arithmetic, "NS"));
    // mn always answers; me and text commands have no q.
    CHECK_FALSE(meta_quiet_withholds(MemcacheCommand::meta_noop, "MN"));
    CHECK_FALSE(meta_quiet_withholds(MemcacheCommand::meta_debug, "EN"));
    CHECK_FALSE(meta_quiet_withholds(MemcacheCommand::get, "END"));
    CHECK_FALSE(meta_quiet_withholds(MemcacheCommand::meta_get, "ENX"));
}

TEST_CASE("memcache parser state does not leak between requests") {
    MemcacheRequestParser parser(kMaxValue, kMaxLine);
    MemcacheRequest request;
    REQUIRE(parser.parse("get " + std::string(251, 'k') + "\r\n", request) == Status::error);
    REQUIRE(parser.parse("mg aGk= b q\r\n", request) == Status::request);
    CHECK(request.hash_key == "hi");
    CHECK(request.quiet_token == 3);
    REQUIRE(parser.parse("mg k\r\n", request) == Status::request);
    CHECK(request.hash_key == "k");
    CHECK(request.quiet_token == 0);
    CHECK(parser.error_reply().empty());
    // A long multiget that arrives in pieces, then a short request.
    std::string multiget = "get";
    for (int i = 0; i < 1000; ++i) multiget += " k" + std::to_string(i);
    CHECK(parser.parse(multiget, request) == Status::need_more);
    multiget += "\r\n";
    REQUIRE(parser.parse(multiget, request) == Status::request);
    CHECK(request.key_count == 1000);
    REQUIRE(parser.parse("mn\r\n", request) == Status::request);
    CHECK(request.command == MemcacheCommand::meta_noop);
}
