#include <doctest/doctest.h>
#include <event2/buffer.h>

#include <algorithm>
#include <string>
#include <vector>

#include "backends/memcache_reply_framer.h"

using shardproxy::backends::MemcacheReplyFramer;
using Result = MemcacheReplyFramer::Result;

namespace {

// Replies as memcached 1.6.18 words them (checked against a real one), and a few that only a
// crafted value or a failing server produces.
const std::vector<std::string> kReplies = {
    "STORED\r\n",
    "NOT_STORED\r\n",
    "EXISTS\r\n",
    "NOT_FOUND\r\n",
    "DELETED\r\n",
    "TOUCHED\r\n",
    "OK\r\n",
    "15\r\n",
    "0\r\n",
    "END\r\n",
    "VALUE a 5 5\r\nhello\r\nEND\r\n",
    // get a b e missing: b's value is "\r\nEND\r\n", e's is empty
    "VALUE a 5 5\r\nhello\r\nVALUE b 0 7\r\n\r\nEND\r\n\r\nVALUE e 0 0\r\n\r\nEND\r\n",
    // gets, gats: with cas
    "VALUE a 5 5 1\r\nhello\r\nVALUE b 0 7 2\r\n\r\nEND\r\n\r\nEND\r\n",
    // values that look like reply lines, or hold a bare LF or CR
    "VALUE v 0 13\r\nVALUE x 0 1\r\n\r\nEND\r\n",
    "VALUE k 0 2\r\n\r\n\r\nEND\r\n",
    "VALUE k 0 1\r\n\n\r\nVALUE l 0 1\r\n\r\r\nEND\r\n",
    // memcached gives up mid-get instead of sending END
    "VALUE a 0 5\r\nhello\r\nSERVER_ERROR out of memory writing get response\r\n",
    "VALUE a 0 5\r\nhello\r\nVALUE b 0 5 3\r\nworld\r\nCLIENT_ERROR oops\r\n",
    "HD\r\n",
    "HD c9 t-1\r\n",
    "EN\r\n",
    "NF\r\n",
    "NS\r\n",
    "EX\r\n",
    "MN\r\n",
    "ME m exp=-1 la=1 cas=9 fetch=yes cls=1 size=69\r\n",
    "VA 5 f3 t-1 s5 c9 km\r\nhello\r\n",
    "VA 5\r\nhello\r\n",
    "VA 0\r\n\r\n",
    "VA 7 O123\r\n\r\nEND\r\n\r\n",
    "VA 1\r\n2\r\n",
    "ERROR\r\n",
    "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
    "SERVER_ERROR object too large for cache\r\n",
    "VERSION 1.6.18\r\n",
    // lines that merely begin like a value line end the reply like any other
    "VALUES\r\n",
    "VAX 3\r\n",
};

std::string joined(const std::vector<std::string>& replies) {
    std::string stream;
    for (const auto& reply : replies) stream += reply;
    return stream;
}

// How the pieces land in the buffer: copied, so that libevent packs them into its chunks as a
// socket read does, or each in a chunk of its own, so that lines straddle chunks everywhere.
enum class Feed { copied, chained };

struct Outcome {
    std::vector<std::string> replies;
    std::string error;  // empty unless framing failed
    uint64_t searched = 0;
};

// Feeds the stream in pieces of `chunk` bytes and frames as far as possible after each. Without
// a prefix, each reply is drained as soon as it is framed; with one, the prefix (earlier replies)
// stays at the front of the buffer and replies pile up behind it, framed from growing offsets.
Outcome frame_in_chunks(const std::string& stream, size_t chunk, Feed feed,
                        const std::string& prefix = "") {
    MemcacheReplyFramer framer;
    evbuffer* in = evbuffer_new();
    evbuffer_add(in, prefix.data(), prefix.size());
    size_t offset = prefix.size();
    Outcome outcome;
    for (size_t at = 0; at < stream.size() && outcome.error.empty(); at += chunk) {
        const size_t n = std::min(chunk, stream.size() - at);
        if (feed == Feed::chained) {
            evbuffer_add_reference(in, stream.data() + at, n, nullptr, nullptr);
        } else {
            evbuffer_add(in, stream.data() + at, n);
        }
        while (true) {
            size_t length = 0;
            const Result result = framer.next(in, offset, length);
            if (result == Result::need_more) break;
            if (result == Result::protocol_error) {
                outcome.error = framer.error();
                REQUIRE(!outcome.error.empty());
                // The stream is out of step: the framer keeps saying so.
                CHECK(framer.next(in, offset, length) == Result::protocol_error);
                break;
            }
            REQUIRE(length > 0);
            REQUIRE(offset + length <= evbuffer_get_length(in));
            std::string bytes(length, '\0');
            evbuffer_ptr start;
            evbuffer_ptr_set(in, &start, offset, EVBUFFER_PTR_SET);
            evbuffer_copyout_from(in, &start, bytes.data(), length);
            outcome.replies.push_back(bytes);
            if (prefix.empty()) {
                evbuffer_drain(in, length);
            } else {
                offset += length;
            }
        }
    }
    if (outcome.error.empty()) CHECK(evbuffer_get_length(in) == offset);
    outcome.searched = framer.bytes_searched();
    evbuffer_free(in);
    return outcome;
}

Result frame_all(const std::string& stream, size_t& length, std::string& error) {
    MemcacheReplyFramer framer;
    evbuffer* in = evbuffer_new();
    evbuffer_add(in, stream.data(), stream.size());
    const Result result = framer.next(in, 0, length);
    error = framer.error();
    evbuffer_free(in);
    return result;
}

}  // namespace

TEST_CASE("memcache replies are cut at their exact ends at every chunk size, from any offset") {
    const std::string stream = joined(kReplies);
    const uint64_t whole_searched = frame_in_chunks(stream, stream.size(), Feed::copied).searched;
    // Data blocks are skipped, not searched.
    CHECK(whole_searched < stream.size() - 40);
    for (const Feed feed : {Feed::copied, Feed::chained}) {
        for (const std::string prefix : {"", "VALUE old 0 3\r\nold\r\nEND\r\n"}) {
            for (size_t chunk = 1; chunk <= stream.size(); ++chunk) {
                CAPTURE(chunk);
                CAPTURE(prefix);
                CAPTURE(feed == Feed::chained);
                const Outcome outcome = frame_in_chunks(stream, chunk, feed, prefix);
                CHECK(outcome.error == "");
                CHECK(outcome.replies == kReplies);
                // However the stream is cut, each line byte is searched once.
                CHECK(outcome.searched == whole_searched);
            }
        }
    }
}

TEST_CASE("memcache data blocks are skipped whole, however many chunks they span") {
    const std::string value(1 << 20, 'x');
    for (const std::string header : {"VA 1048576 s1048576\r\n", "VALUE big 0 1048576\r\n"}) {
        const bool get = header[2] == 'L';
        const std::string reply = header + value + "\r\n" + (get ? "END\r\n" : "");
        MemcacheReplyFramer framer;
        evbuffer* in = evbuffer_new();
        size_t length = 0;
        for (size_t at = 0; at < reply.size(); at += 4096) {
            const std::string piece = reply.substr(at, 4096);
            evbuffer_add(in, piece.data(), piece.size());
            CHECK(framer.next(in, 0, length) ==
                  (at + 4096 >= reply.size() ? Result::reply : Result::need_more));
        }
        CHECK(length == reply.size());
        CHECK(framer.bytes_searched() == header.size() + (get ? 5 : 0));
        evbuffer_free(in);
    }
}

TEST_CASE("memcache replies ahead of an incomplete one may be drained while it arrives") {
    for (const std::string first_part : {"VALUE k 0 5\r\nhel", "VALUE k 0 5", "VALUE k 0 5\r\n",
                                         "VALUE k 0 5\r\nhello\r\nEN"}) {
        CAPTURE(first_part);
        const std::string reply = "VALUE k 0 5\r\nhello\r\nEND\r\n";
        MemcacheReplyFramer framer;
        evbuffer* in = evbuffer_new();
        const std::string start = "STORED\r\nDELETED\r\n" + first_part;
        evbuffer_add(in, start.data(), start.size());
        size_t length = 0;
        REQUIRE(framer.next(in, 0, length) == Result::reply);
        CHECK(length == 8);
        REQUIRE(framer.next(in, 8, length) == Result::reply);
        CHECK(length == 9);
        CHECK(framer.next(in, 17, length) == Result::need_more);
        CHECK(framer.next(in, 17, length) == Result::need_more);
        // The connection forwards the first reply and drains it; the third still starts at 9.
        evbuffer_drain(in, 8);
        CHECK(framer.next(in, 9, length) == Result::need_more);
        const std::string rest = reply.substr(first_part.size());
        evbuffer_add(in, rest.data(), rest.size());
        REQUIRE(framer.next(in, 9, length) == Result::reply);
        CHECK(length == reply.size());
        evbuffer_free(in);
    }
}

TEST_CASE("memcache protocol errors are found however the stream is cut") {
    struct Case {
        std::string stream;
        size_t good_replies;  // framed before the error
        std::string error;    // part of error()
    };
    const std::vector<Case> cases = {
        {"VALUE k 0 3\r\nabcd\r\nEND\r\n", 0, "not followed by CRLF"},
        {"VALUE k 0 0\r\nX\r\nEND\r\n", 0, "not followed by CRLF"},
        {"VALUE k 0 5\r\nhello\r\nVALUE l 0 1\r\nab\r\nEND\r\n", 0, "not followed by CRLF"},
        {"STORED\r\nVA 3 s3\r\nabc\n\n", 1, "not followed by CRLF"},
        {"VA 3\r\nabc\rX", 0, "not followed by CRLF"},
        {"VALUE k 0 x\r\n", 0, "invalid value line"},
        {"VALUE k 0 -1\r\n\r\nEND\r\n", 0, "invalid value line"},
        {"VALUE k 0 +1\r\nx\r\nEND\r\n", 0, "invalid value line"},
        {"VALUE k 0 1099511627777\r\n", 0, "invalid value line"},
        {"VALUE k 0 99999999999999999999999\r\n", 0, "invalid value line"},
        {"VALUE k 0\r\n", 0, "invalid value line"},
        {"VALUE k 0 1 2 3\r\n", 0, "invalid value line"},
        {"VALUE k 0  1\r\nx\r\nEND\r\n", 0, "invalid value line"},
        {"VALUE k 0 1 \r\nx\r\nEND\r\n", 0, "invalid value line"},
        {"VALUE \r\n", 0, "invalid value line"},
        {"VA x\r\n", 0, "invalid value line"},
        {"VA -5 s5\r\n", 0, "invalid value line"},
        {"VA \r\n", 0, "invalid value line"},
        {"VA 1  f0\r\n", 0, "invalid value line"},
        {"\r\n", 0, "empty reply line"},
        {"STORED\r\n\r\nSTORED\r\n", 1, "empty reply line"},
        {"VALUE k 0 1\r\nx\r\n\r\nEND\r\n", 0, "empty reply line"},
        {"END\n", 0, "bare LF"},
        {"\n", 0, "bare LF"},
        {"HD\r\nEN\n\r\n", 1, "bare LF"},
        {"VALUE k 0 1\r\nx\r\nEND\n", 0, "bare LF"},
        {"VALUE k 0 1\nx\r\nEND\r\n", 0, "bare LF"},
        {"EN\rD\r\n", 0, "CR inside reply line 'EN?D'"},
        {"\r\r\n", 0, "CR inside"},
        {"HTTP/1.1 400 Bad Request\r\n\r\n", 1, "empty reply line"},
    };
    for (const Case& bad : cases) {
        CAPTURE(bad.stream);
        for (const Feed feed : {Feed::copied, Feed::chained}) {
            for (size_t chunk = 1; chunk <= bad.stream.size(); ++chunk) {
                CAPTURE(chunk);
                const Outcome outcome = frame_in_chunks(bad.stream, chunk, feed);
                CHECK(outcome.replies.size() == bad.good_replies);
                CHECK(outcome.error.find(bad.error) != std::string::npos);
            }
        }
    }
}

TEST_CASE("memcache reply lines are bounded, and data lengths too") {
    constexpr size_t kMax = 64 * 1024;
    const std::string longest = "SERVER_ERROR " + std::string(kMax - 13, 'x') + "\r\n";
    const std::string too_long = "SERVER_ERROR " + std::string(kMax - 12, 'x') + "\r\n";
    for (const size_t chunk : {size_t{1}, size_t{7}, size_t{4096}, too_long.size()}) {
        CAPTURE(chunk);
        for (const Feed feed : {Feed::copied, Feed::chained}) {
            if (feed == Feed::chained && chunk == 1) continue;  // a chunk a byte: slow, not useful
            Outcome outcome = frame_in_chunks(longest + "END\r\n", chunk, feed);
            CHECK(outcome.error == "");
            CHECK(outcome.replies == std::vector<std::string>{longest, "END\r\n"});
            outcome = frame_in_chunks(too_long + "END\r\n", chunk, feed);
            CHECK(outcome.replies.empty());
            CHECK(outcome.error == "reply line longer than 65536 bytes");
        }
    }
    // A backend that never ends its line is cut off once the bound is passed, not at its end.
    MemcacheReplyFramer framer;
    evbuffer* in = evbuffer_new();
    const std::string junk(1000, 'j');
    size_t length = 0;
    size_t added = 0;
    Result result = Result::need_more;
    while (result == Result::need_more && added < 10 * kMax) {
        evbuffer_add(in, junk.data(), junk.size());
        added += junk.size();
        result = framer.next(in, 0, length);
    }
    CHECK(result == Result::protocol_error);
    CHECK(added <= kMax + 2 + junk.size());
    CHECK(framer.bytes_searched() == kMax + 2);
    evbuffer_free(in);

    std::string error;
    CHECK(frame_all("VALUE k 0 1099511627776\r\nabc", length, error) == Result::need_more);
    CHECK(frame_all("VA 1099511627776 s1\r\nabc", length, error) == Result::need_more);
    CHECK(frame_all("VA 1099511627777 s1\r\nabc", length, error) == Result::protocol_error);
    CHECK(error == "invalid value line 'VA 1099511627777 s1'");
    const std::string long_line = "VALUE " + std::string(1000, 'k') + " 0 x";
    CHECK(frame_all(long_line + "\r\n", length, error) == Result::protocol_error);
    CHECK(error == "invalid value line '" + long_line.substr(0, 64) + "...'");
}

TEST_CASE("memcache framer forgets a partial reply and a protocol error on reset") {
    MemcacheReplyFramer framer;
    evbuffer* in = evbuffer_new();
    size_t length = 0;
    evbuffer_add(in, "VALUE k 0 100\r\nabc", 18);
    CHECK(framer.next(in, 0, length) == Result::need_more);
    framer.reset();
    evbuffer_drain(in, evbuffer_get_length(in));
    evbuffer_add(in, "END\r\n", 5);
    REQUIRE(framer.next(in, 0, length) == Result::reply);
    CHECK(length == 5);
    evbuffer_drain(in, length);

    evbuffer_add(in, "STOR", 4);
    CHECK(framer.next(in, 0, length) == Result::need_more);
    framer.reset();
    evbuffer_drain(in, evbuffer_get_length(in));
    evbuffer_add(in, "EN\r\n", 4);
    REQUIRE(framer.next(in, 0, length) == Result::reply);
    CHECK(length == 4);
    evbuffer_drain(in, length);

    evbuffer_add(in, "\r\nOK\r\n", 6);
    CHECK(framer.next(in, 0, length) == Result::protocol_error);
    evbuffer_drain(in, 2);
    CHECK(framer.next(in, 0, length) == Result::protocol_error);
    framer.reset();
    CHECK(framer.error() == "");
    REQUIRE(framer.next(in, 0, length) == Result::reply);
    CHECK(length == 4);
    evbuffer_free(in);
}

TEST_CASE("memcache replies arriving a byte at a time are framed in linear time"
          * doctest::timeout(20)) {
    // A get of 20,000 keys, as 690 KB arriving one byte per read: rescanning from the start of
    // the reply would cost over 10^11 byte visits.
    std::string reply;
    uint64_t line_bytes = 0;
    for (int i = 0; i < 20000; ++i) {
        const std::string key = "key:" + std::to_string(i);
        const std::string header = "VALUE " + key + " 0 " + std::to_string(key.size()) + " " +
                                   std::to_string(i) + "\r\n";
        reply += header + key + "\r\n";
        line_bytes += header.size();
    }
    reply += "END\r\n";
    line_bytes += 5;
    // And a long error line, searched once however slowly it comes.
    const std::string error_line = "SERVER_ERROR " + std::string(60000, 'e') + "\r\n";
    const std::string stream = reply + error_line + "VA 2 k\r\nab\r\n";
    line_bytes += error_line.size() + 8;

    const Outcome outcome = frame_in_chunks(stream, 1, Feed::copied);
    CHECK(outcome.error == "");
    REQUIRE(outcome.replies.size() == 3);
    CHECK(outcome.replies[0] == reply);
    CHECK(outcome.replies[1] == error_line);
    CHECK(outcome.searched == line_bytes);
}
