// Fuzzes the client-facing memcached codec, text and meta (proxy/memcache_request_parser.h),
// the way a memcache session drives it: bytes arrive in pieces, the parser is called again
// only once bytes_needed() have arrived, and what it consumed is dropped.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "proxy/memcache_request_parser.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/stream_input.h"

using shardproxy::fuzz::ExactCopy;
using shardproxy::fuzz::Pieces;
using shardproxy::proxy::MemcacheCommand;
using shardproxy::proxy::MemcacheRequest;
using shardproxy::proxy::MemcacheRequestParser;
using Status = MemcacheRequestParser::Status;

namespace {

constexpr size_t kMaxKeyBytes = 250;

// Options byte: bits 0-1 pick the largest value, bits 2-3 the longest multiget line, bit 4
// allows control characters in keys.
struct Limits {
    uint64_t max_value_bytes;
    uint64_t max_line_bytes;
    bool allow_control_characters;
};

Limits limits(uint8_t options) {
    constexpr uint64_t kValues[] = {1 << 20, 100, 8, 0};
    constexpr uint64_t kLines[] = {64 << 10, 2048, 3000, 0};
    return Limits{kValues[options & 3], kLines[(options >> 2) & 3], (options & 16) != 0};
}

// Each outcome as one line, with the bytes discarded after it added up, so that the outcomes
// of one stream compare equal however it was cut; then how the stream ended.
struct Outcome {
    std::vector<std::string> events;
    uint64_t discarding = 0;
    std::string end;
    bool operator==(const Outcome&) const = default;

    void add(std::string event) {
        close_discard();
        events.push_back(std::move(event));
    }
    void close_discard() {
        if (discarding > 0) events.push_back("discard " + std::to_string(discarding));
        discarding = 0;
    }
};

bool is_storage(MemcacheCommand command) {
    switch (command) {
        case MemcacheCommand::set: case MemcacheCommand::add: case MemcacheCommand::replace:
        case MemcacheCommand::append: case MemcacheCommand::prepend: case MemcacheCommand::cas:
        case MemcacheCommand::meta_set:
            return true;
        default:
            return false;
    }
}

bool has_control_character(std::string_view key) {
    return std::any_of(key.begin(), key.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7f;
    });
}

std::string describe(const MemcacheRequest& request) {
    std::string out = "request " + std::to_string(static_cast<int>(request.command));
    for (const std::string_view token : request.tokens) {
        out += " ";
        out += token;
    }
    out += " key=" + std::to_string(request.first_key) + "+" + std::to_string(request.key_count);
    out += " hash=" + std::string(request.hash_key);
    out += " quiet=" + std::to_string(request.quiet_token);
    out += " line=" + std::to_string(request.line_bytes) + " data=" + std::to_string(request.data_bytes);
    return out;
}

void check_request(const MemcacheRequest& request, std::string_view data, const Limits& limits) {
    FUZZ_CHECK(request.line_bytes > 0);
    FUZZ_CHECK(request.wire_bytes == request.line_bytes + request.data_bytes);
    FUZZ_CHECK(request.wire_bytes <= data.size());
    FUZZ_CHECK(data[request.line_bytes - 1] == '\n');
    FUZZ_CHECK(!request.tokens.empty());
    // Tokens are the command line's own bytes, split at spaces and cut at a NUL.
    const char* line_end = data.data() + request.line_bytes - 1;
    for (const std::string_view token : request.tokens) {
        FUZZ_CHECK(!token.empty());
        FUZZ_CHECK(token.data() >= data.data() && token.data() + token.size() <= line_end);
        FUZZ_CHECK(token.find_first_of(std::string_view(" \0", 2)) == std::string_view::npos);
    }
    FUZZ_CHECK(request.first_key + request.key_count <= request.tokens.size());
    for (uint32_t i = request.first_key; i < request.first_key + request.key_count; ++i) {
        const std::string_view key = request.tokens[i];
        FUZZ_CHECK(key.size() <= kMaxKeyBytes);
        FUZZ_CHECK(limits.allow_control_characters || !has_control_character(key));
    }
    FUZZ_CHECK(request.hash_key.empty() == (request.key_count == 0));
    FUZZ_CHECK(request.quiet_token < request.tokens.size());
    FUZZ_CHECK(is_storage(request.command) == (request.data_bytes > 0));
    if (request.data_bytes > 0) {
        FUZZ_CHECK(request.data_bytes - 2 <= limits.max_value_bytes);
        FUZZ_CHECK(data.substr(request.wire_bytes - 2, 2) == "\r\n");
    }
}

void check_error_reply(std::string_view reply) {
    FUZZ_CHECK(reply.empty() || reply == "ERROR" || reply.starts_with("CLIENT_ERROR ") ||
               reply.starts_with("SERVER_ERROR "));
}

Outcome run(Pieces pieces, const Limits& limits) {
    MemcacheRequestParser parser(limits.max_value_bytes, limits.max_line_bytes, limits.allow_control_characters);
    Outcome outcome;
    std::string buffered;  // received and not yet consumed
    size_t needed = 1;
    size_t most_needed = 0;  // the most bytes_needed() asked for since the last outcome
    std::string_view piece;
    while (pieces.next(piece)) {
        buffered += piece;
        while (!buffered.empty() && buffered.size() >= needed) {
            // A new copy each time: the parser must not keep pointers into earlier calls' bytes.
            const ExactCopy data(buffered);
            MemcacheRequest request;
            const Status status = parser.parse(data.view(), request);
            if (status == Status::need_more) {
                needed = parser.bytes_needed();
                FUZZ_CHECK(needed > buffered.size());
                most_needed = std::max(most_needed, needed);
                break;
            }
            size_t used = 0;
            if (status == Status::request) {
                check_request(request, data.view(), limits);
                outcome.add(describe(request));
                used = request.wire_bytes;
            } else if (status == Status::error) {
                check_error_reply(parser.error_reply());
                used = parser.consumed();
                // An overlong line that must close takes all that has arrived, however much.
                outcome.add("error " + std::string(parser.error_reply()) +
                            (parser.must_close() ? " close" : " consumed=" + std::to_string(used)));
            } else {
                used = parser.consumed();
                outcome.discarding += used;
            }
            // Using no bytes would loop the session forever.
            FUZZ_CHECK(used > 0 && used <= buffered.size());
            // Asking for more bytes than the outcome takes would leave a client waiting for an
            // answer that never comes. (Swallowing a data block is no answer.)
            if (status != Status::discard) {
                FUZZ_CHECK(most_needed <= used);
                most_needed = 0;
            }
            if (status == Status::error && parser.must_close()) {
                outcome.end = "closed";
                return outcome;
            }
            needed = 1;
            buffered.erase(0, used);
        }
    }
    outcome.close_discard();
    outcome.end = "waiting " + std::to_string(buffered.size());
    return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    shardproxy::fuzz::StreamInput input;
    if (!shardproxy::fuzz::read_stream_input(data, size, input)) return 0;
    const Limits chosen = limits(input.options);
    shardproxy::fuzz::check_split_invariance(input, [&](Pieces pieces, bool) { return run(std::move(pieces), chosen); });
    return 0;
}
