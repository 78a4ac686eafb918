#include <doctest/doctest.h>
#include <event2/buffer.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <string>
#include <vector>

#include "backends/redis_reply_framer.h"
#include "backends/redis_reply_parser.h"

using shardproxy::backends::RedisReplyFramer;
using shardproxy::backends::RedisReplyParser;

namespace {

// Frames, and parses what a fan-out would ask to have parsed, as a backend connection does.
struct Framing {
    RedisReplyFramer framer;
    RedisReplyParser parser;

    RedisReplyFramer::Result next(evbuffer* in, size_t offset, bool parsed, size_t& length,
                                  redisReply*& object) {
        object = nullptr;
        const auto result = framer.next(in, offset, length);
        if (result == RedisReplyFramer::Result::reply && parsed) object = parser.parse(in, offset, length);
        return result;
    }
    const std::string& error() const { return framer.error(); }
};

const std::vector<std::string> kReplies = {
    "+OK\r\n",
    "-ERR boom\r\n",
    ":42\r\n",
    "$5\r\nhello\r\n",
    "$-1\r\n",
    "*-1\r\n",
    "*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n+x\r\n",
    "$0\r\n\r\n",
    "*0\r\n",
};

// Feeds the stream in chunks, frames as far as possible after each, and returns the replies
// it cut out, draining exactly their bytes as a backend connection does.
std::vector<std::string> frame_in_chunks(const std::string& stream, size_t chunk, bool parsed) {
    Framing framer;
    evbuffer* in = evbuffer_new();
    std::vector<std::string> framed;
    for (size_t offset = 0; offset < stream.size(); offset += chunk) {
        const std::string piece = stream.substr(offset, chunk);
        evbuffer_add(in, piece.data(), piece.size());
        while (true) {
            size_t length = 0;
            redisReply* object = nullptr;
            const auto result = framer.next(in, 0, parsed, length, object);
            REQUIRE(result != RedisReplyFramer::Result::protocol_error);
            if (result == RedisReplyFramer::Result::need_more) break;
            std::string bytes(length, '\0');
            evbuffer_remove(in, bytes.data(), length);
            framed.push_back(bytes);
            CHECK((object != nullptr) == parsed);
            if (object != nullptr) freeReplyObject(object);
        }
    }
    CHECK(evbuffer_get_length(in) == 0);
    evbuffer_free(in);
    return framed;
}

}  // namespace

TEST_CASE("replies are cut at their exact ends at every chunk size, framed or parsed") {
    std::string stream;
    for (const auto& reply : kReplies) stream += reply;
    for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
        CAPTURE(chunk);
        CHECK(frame_in_chunks(stream, chunk, false) == kReplies);
        CHECK(frame_in_chunks(stream, chunk, true) == kReplies);
    }
}

TEST_CASE("arrays nested deeper than hiredis 0.14 allows are framed, and refused only as objects") {
    std::string deep;
    for (int i = 0; i < 20; ++i) deep += "*1\r\n";
    deep += ":1\r\n";
    const std::string stream = deep + "+after\r\n";
    CHECK(frame_in_chunks(stream, 3, false) == std::vector<std::string>{deep, "+after\r\n"});

    Framing framer;
    evbuffer* in = evbuffer_new();
    evbuffer_add(in, stream.data(), stream.size());
    size_t length = 0;
    redisReply* object = nullptr;
    REQUIRE(framer.next(in, 0, true, length, object) == RedisReplyFramer::Result::reply);
    CHECK(length == deep.size());
    CHECK(object == nullptr);
    evbuffer_drain(in, length);
    // The stream stays in sync and the next reply parses.
    REQUIRE(framer.next(in, 0, true, length, object) == RedisReplyFramer::Result::reply);
    REQUIRE(object != nullptr);
    CHECK(object->type == REDIS_REPLY_STATUS);
    freeReplyObject(object);
    evbuffer_free(in);
}

TEST_CASE("a bulk string split across many buffer chunks is framed once it is whole") {
    Framing framer;
    evbuffer* in = evbuffer_new();
    const std::string value(100000, 'x');
    const std::string reply = "$100000\r\n" + value + "\r\n";
    size_t length = 0;
    redisReply* object = nullptr;
    for (size_t offset = 0; offset < reply.size(); offset += 4096) {
        // Separate evbuffer_add calls of this size usually land in separate chunks.
        const std::string piece = reply.substr(offset, 4096);
        evbuffer_add(in, piece.data(), piece.size());
        const auto result = framer.next(in, 0, false, length, object);
        CHECK(result == (offset + 4096 >= reply.size() ? RedisReplyFramer::Result::reply
                                                       : RedisReplyFramer::Result::need_more));
    }
    CHECK(length == reply.size());
    evbuffer_free(in);
}

TEST_CASE("framing switches between parsed and framed replies at reply boundaries") {
    Framing framer;
    evbuffer* in = evbuffer_new();
    const std::string stream = "*2\r\n$1\r\na\r\n$-1\r\n$3\r\nxyz\r\n";
    evbuffer_add(in, stream.data(), stream.size());
    size_t length = 0;
    redisReply* object = nullptr;
    REQUIRE(framer.next(in, 0, true, length, object) == RedisReplyFramer::Result::reply);
    REQUIRE(object != nullptr);
    CHECK(object->type == REDIS_REPLY_ARRAY);
    CHECK(object->elements == 2);
    CHECK(object->element[1]->type == REDIS_REPLY_NIL);
    freeReplyObject(object);
    evbuffer_drain(in, length);
    REQUIRE(framer.next(in, 0, false, length, object) == RedisReplyFramer::Result::reply);
    CHECK(length == 9);
    CHECK(object == nullptr);
    evbuffer_free(in);
}

TEST_CASE("a backend speaking something other than RESP is a protocol error") {
    Framing framer;
    evbuffer* in = evbuffer_new();
    evbuffer_add(in, "HTTP/1.1 200 OK\r\n", 17);
    size_t length = 0;
    redisReply* object = nullptr;
    CHECK(framer.next(in, 0, false, length, object) == RedisReplyFramer::Result::protocol_error);
    CHECK(!framer.error().empty());
    evbuffer_free(in);
}

TEST_CASE("a bulk string longer or shorter than its declared length is a protocol error") {
    // A lying length would frame every later reply out of step; the CRLF after the data is
    // the check, whether the data arrives at once or in pieces.
    for (const std::string reply : {"$3\r\nabcd\r\n", "$5\r\nabc\r\n+OK\r\n", "*2\r\n$1\r\nab\r\n:1\r\n"}) {
        CAPTURE(reply);
        for (size_t chunk = 1; chunk <= reply.size(); ++chunk) {
            CAPTURE(chunk);
            Framing framer;
            evbuffer* in = evbuffer_new();
            auto result = RedisReplyFramer::Result::need_more;
            for (size_t at = 0; at < reply.size() && result == RedisReplyFramer::Result::need_more; at += chunk) {
                evbuffer_add(in, reply.data() + at, std::min(chunk, reply.size() - at));
                size_t length = 0;
                redisReply* object = nullptr;
                result = framer.next(in, 0, false, length, object);
            }
            CHECK(result == RedisReplyFramer::Result::protocol_error);
            CHECK(framer.error().find("not followed by CRLF") != std::string::npos);
            evbuffer_free(in);
        }
    }
}

TEST_CASE("replies left in the buffer are framed one after another from their offsets") {
    std::string stream;
    for (const auto& reply : kReplies) stream += reply;
    for (size_t chunk = 1; chunk <= stream.size(); chunk += 7) {
        CAPTURE(chunk);
        Framing framer;
        evbuffer* in = evbuffer_new();
        std::vector<size_t> lengths;
        size_t offset = 0;
        for (size_t at = 0; at < stream.size(); at += chunk) {
            const std::string piece = stream.substr(at, chunk);
            evbuffer_add(in, piece.data(), piece.size());
            size_t length = 0;
            redisReply* object = nullptr;
            while (framer.next(in, offset, false, length, object) == RedisReplyFramer::Result::reply) {
                lengths.push_back(length);
                offset += length;
            }
        }
        REQUIRE(lengths.size() == kReplies.size());
        for (size_t i = 0; i < kReplies.size(); ++i) CHECK(lengths[i] == kReplies[i].size());
        evbuffer_free(in);
    }
}
