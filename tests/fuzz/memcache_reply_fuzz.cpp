// Fuzzes the framing of a memcached backend's replies, text and meta
// (backends/memcache_reply_framer.h), the way a backend connection drives it.
#include <event2/buffer.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "backends/memcache_reply_framer.h"
#include "tests/fuzz/evbuffer_pieces.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/stream_input.h"

using shardproxy::backends::MemcacheReplyFramer;
using shardproxy::fuzz::Pieces;
using Result = MemcacheReplyFramer::Result;

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

Outcome run(Pieces pieces, Layout layout) {
    MemcacheReplyFramer framer;
    Outcome outcome;
    evbuffer* in = evbuffer_new();
    size_t run = 0;  // bytes of framed replies still in the buffer
    uint64_t fed = 0;
    std::string_view piece;
    while (outcome.end.empty() && pieces.next(piece)) {
        shardproxy::fuzz::append_piece(in, piece, layout.own_chunks);
        fed += piece.size();
        while (true) {
            size_t length = 0;
            const Result result = framer.next(in, run, length);
            // The framer promises to search each line byte once however the stream is cut,
            // and never a data block.
            FUZZ_CHECK(framer.bytes_searched() <= fed);
            if (result == Result::need_more) break;
            if (result == Result::protocol_error) {
                FUZZ_CHECK(!framer.error().empty());
                // The stream is out of step for good: asking again must not frame anything.
                FUZZ_CHECK(framer.next(in, run, length) == Result::protocol_error);
                outcome.end = "error " + framer.error();
                break;
            }
            FUZZ_CHECK(length >= 3 && run + length <= evbuffer_get_length(in));
            std::string reply(length, '\0');
            evbuffer_ptr at;
            evbuffer_ptr_set(in, &at, run, EVBUFFER_PTR_SET);
            FUZZ_CHECK(evbuffer_copyout_from(in, &at, reply.data(), length) == static_cast<ev_ssize_t>(length));
            // Every reply ends with a line, and a line with CRLF.
            FUZZ_CHECK(reply.ends_with("\r\n"));
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
