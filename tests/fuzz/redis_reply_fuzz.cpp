// Fuzzes the framing of a Redis backend's replies (backends/redis_reply_framer.h) the way a
// backend connection drives it, and hiredis's parsing of each framed reply as a fan-out asks
// for it (backends/redis_reply_parser.h).
#include <event2/buffer.h>
#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "backends/redis_reply_framer.h"
#include "backends/redis_reply_parser.h"
#include "tests/fuzz/evbuffer_pieces.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/stream_input.h"

using shardproxy::backends::RedisReplyFramer;
using shardproxy::backends::RedisReplyParser;
using shardproxy::fuzz::Pieces;
using Result = RedisReplyFramer::Result;

namespace {

// Options byte: bit 0 gives each piece a buffer chunk of its own; bit 1 leaves framed replies
// in the buffer until the end of each read and frames the next at an offset, as a backend
// connection does with consecutive replies for one client.
struct Layout {
    bool own_chunks;
    bool runs;
};

// The replies, byte for byte, then how the stream ended: an error, or the bytes of a reply
// still arriving.
struct Outcome {
    std::vector<std::string> replies;
    std::string end;
    bool operator==(const Outcome&) const = default;
};

bool same_reply(const redisReply& a, const redisReply& b) {
    if (a.type != b.type || a.integer != b.integer || a.elements != b.elements) return false;
    if (std::string_view(a.str, a.str == nullptr ? 0 : a.len) != std::string_view(b.str, b.str == nullptr ? 0 : b.len)) {
        return false;
    }
    for (size_t i = 0; i < a.elements; ++i) {
        if (!same_reply(*a.element[i], *b.element[i])) return false;
    }
    return true;
}

// The parser feeds framed replies to one long-lived hiredis reader. Were hiredis to see a
// framed reply as more or less than one reply, that reader would hand the bytes of one reply
// to the next request; so a fresh reader given exactly the reply must use exactly its bytes
// and agree with the parser.
void check_parsed(std::string_view bytes, redisReply* parsed) {
    redisReader* reader = redisReaderCreate();
    redisReaderFeed(reader, bytes.data(), bytes.size());
    void* reply = nullptr;
    if (redisReaderGetReply(reader, &reply) == REDIS_OK) {
        FUZZ_CHECK(reply != nullptr);
        FUZZ_CHECK(reader->pos == reader->len);
        FUZZ_CHECK(parsed != nullptr && same_reply(*parsed, *static_cast<redisReply*>(reply)));
        freeReplyObject(reply);
    } else {
        // The one reply hiredis 0.14 refuses, as RedisReplyParser::error() says.
        FUZZ_CHECK(std::string_view(reader->errstr).find("nested") != std::string_view::npos);
        FUZZ_CHECK(parsed == nullptr);
    }
    redisReaderFree(reader);
}

Outcome run(Pieces pieces, Layout layout) {
    RedisReplyFramer framer;
    RedisReplyParser parser;
    Outcome outcome;
    evbuffer* in = evbuffer_new();
    size_t run = 0;  // bytes of framed replies still in the buffer
    std::string_view piece;
    while (outcome.end.empty() && pieces.next(piece)) {
        shardproxy::fuzz::append_piece(in, piece, layout.own_chunks);
        while (true) {
            size_t length = 0;
            const Result result = framer.next(in, run, length);
            if (result == Result::need_more) break;
            if (result == Result::protocol_error) {
                FUZZ_CHECK(!framer.error().empty());
                outcome.end = "error " + framer.error();
                break;
            }
            FUZZ_CHECK(length > 0 && run + length <= evbuffer_get_length(in));
            std::string reply(length, '\0');
            evbuffer_ptr at;
            evbuffer_ptr_set(in, &at, run, EVBUFFER_PTR_SET);
            FUZZ_CHECK(evbuffer_copyout_from(in, &at, reply.data(), length) == static_cast<ev_ssize_t>(length));
            redisReply* parsed = parser.parse(in, run, length);
            check_parsed(reply, parsed);
            if (parsed != nullptr) freeReplyObject(parsed);
            outcome.replies.push_back(std::move(reply));
            if (layout.runs) {
                run += length;
            } else {
                evbuffer_drain(in, length);
            }
        }
        evbuffer_drain(in, run);
        run = 0;
    }
    if (outcome.end.empty()) outcome.end = "waiting " + std::to_string(evbuffer_get_length(in));
    evbuffer_free(in);
    return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    shardproxy::fuzz::StreamInput input;
    if (!shardproxy::fuzz::read_stream_input(data, size, input)) return 0;
    const Layout layout{(input.options & 1) != 0, (input.options & 2) != 0};
    shardproxy::fuzz::check_split_invariance(
        input, [&](Pieces pieces, bool whole) { return run(std::move(pieces), whole ? Layout{false, false} : layout); });
    return 0;
}
