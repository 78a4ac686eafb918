#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "proxy/resp_request_parser.h"

using shardproxy::proxy::RespRequest;
using shardproxy::proxy::RespRequestParser;
using Status = RespRequestParser::Status;

namespace {

struct Parsed {
    std::vector<std::vector<std::string>> requests;
    std::string error;
};

// Feeds `wire` in pieces of `chunk` bytes, the way a socket may deliver it, and collects every
// request the parser completes.
Parsed parse_in_chunks(const std::string& wire, size_t chunk, uint64_t max_bytes = 512u << 20) {
    RespRequestParser parser(max_bytes);
    Parsed parsed;
    std::string buffer;
    size_t offset = 0;
    while (true) {
        bool progressed = true;
        while (progressed) {
            progressed = false;
            if (buffer.size() < 1) break;
            RespRequest request;
            const Status status = parser.parse(buffer, request);
            if (status == Status::error) {
                parsed.error = parser.error();
                return parsed;
            }
            if (status == Status::need_more) {
                CHECK(parser.bytes_needed() > buffer.size());
                break;
            }
            REQUIRE(request.wire_bytes > 0);
            REQUIRE(request.wire_bytes <= buffer.size());
            if (!request.args.empty()) {
                parsed.requests.emplace_back(request.args.begin(), request.args.end());
            }
            buffer.erase(0, request.wire_bytes);
            progressed = true;
        }
        if (offset >= wire.size()) break;
        buffer += wire.substr(offset, chunk);
        offset += chunk;
    }
    return parsed;
}

const std::vector<std::vector<std::string>> kPipelineArgs = {
    {"SET", "key", std::string("v\r\nwith\0binary", 14)},
    {"GET", "key"},
    {"MGET", "a", "b", "c"},
    {"PING"},
};

const std::string kPipelineWire =
    std::string("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$14\r\nv\r\nwith\0binary\r\n", 43) +
    "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"
    "*4\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    "PING\r\n";

}  // namespace

TEST_CASE("a pipeline of multibulk and inline requests parses the same at every split size") {
    for (size_t chunk = 1; chunk <= kPipelineWire.size(); ++chunk) {
        CAPTURE(chunk);
        const Parsed parsed = parse_in_chunks(kPipelineWire, chunk);
        CHECK(parsed.error.empty());
        CHECK(parsed.requests == kPipelineArgs);
    }
}

TEST_CASE("inline commands follow redis-cli quoting rules") {
    const Parsed parsed = parse_in_chunks(
        "SET \"a b\" 'it\\'s'\r\nECHO \"\\x41\\n\"\nGET   spaced   \r\n", 1);
    CHECK(parsed.error.empty());
    REQUIRE(parsed.requests.size() == 3);
    CHECK(parsed.requests[0] == std::vector<std::string>{"SET", "a b", "it's"});
    CHECK(parsed.requests[1] == std::vector<std::string>{"ECHO", "A\n"});
    CHECK(parsed.requests[2] == std::vector<std::string>{"GET", "spaced"});
}

TEST_CASE("empty multibulks and blank lines are skipped like redis-server does") {
    const Parsed parsed = parse_in_chunks("*0\r\n*-1\r\n\r\n   \r\nPING\n", 3);
    CHECK(parsed.error.empty());
    CHECK(parsed.requests == std::vector<std::vector<std::string>>{{"PING"}});
}

TEST_CASE("malformed requests get Redis's protocol error wording") {
    CHECK(parse_in_chunks("*x\r\n", 1).error == "Protocol error: invalid multibulk length");
    CHECK(parse_in_chunks("*1\r\n+x\r\n", 1).error == "Protocol error: expected '$', got '+'");
    CHECK(parse_in_chunks("*1\r\n$x\r\n", 1).error == "Protocol error: invalid bulk length");
    CHECK(parse_in_chunks("*1\r\n$-5\r\n", 1).error == "Protocol error: invalid bulk length");
    CHECK(parse_in_chunks("GET \"unbalanced\r\n", 1).error ==
          "Protocol error: unbalanced quotes in request");
    CHECK(parse_in_chunks("SET \"a\"b c\r\n", 1).error ==
          "Protocol error: unbalanced quotes in request");
    CHECK(parse_in_chunks("*1\r\n$4\r\nPINGxx", 1).error ==
          "Protocol error: expected CRLF after bulk string");
}

TEST_CASE("overlong header and inline lines are refused before they are buffered whole") {
    CHECK(parse_in_chunks(std::string(70 * 1024, 'a'), 4096).error ==
          "Protocol error: too big inline request");
    CHECK(parse_in_chunks("*" + std::string(70 * 1024, '1'), 4096).error ==
          "Protocol error: too big mbulk count string");
}

TEST_CASE("requests larger than max_request_bytes are refused from their declared size") {
    RespRequestParser parser(1024);
    RespRequest request;
    const std::string huge_bulk = "*2\r\n$3\r\nGET\r\n$2000\r\n";
    CHECK(parser.parse(huge_bulk, request) == Status::error);
    CHECK(parser.error() == "Protocol error: request is larger than max_request_bytes (1024)");
    const std::string many_args = "*1000\r\n";
    CHECK(parser.parse(many_args, request) == Status::error);
}

TEST_CASE("need_more reports how many bytes a large value still needs") {
    RespRequestParser parser(512u << 20);
    RespRequest request;
    const std::string head = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\nabc";
    CHECK(parser.parse(head, request) == Status::need_more);
    CHECK(parser.bytes_needed() == head.size() - 3 + 100000 + 2);
}

TEST_CASE("a request with many arguments arriving in pieces resumes where it stopped") {
    std::string wire = "*20001\r\n$6\r\nEXISTS\r\n";
    std::vector<std::string> expected{"EXISTS"};
    for (int i = 0; i < 20000; ++i) {
        const std::string key = "key:" + std::to_string(i);
        wire += "$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
        expected.push_back(key);
    }
    wire += "PING\r\n";
    const Parsed parsed = parse_in_chunks(wire, 997);
    CHECK(parsed.error.empty());
    REQUIRE(parsed.requests.size() == 2);
    CHECK(parsed.requests[0] == expected);
    CHECK(parsed.requests[1] == std::vector<std::string>{"PING"});
}
