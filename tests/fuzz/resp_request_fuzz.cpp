// Fuzzes the client-facing RESP codec (proxy/resp_request_parser.h) the way a Redis session
// drives it: bytes arrive in pieces, the parser is called again only once bytes_needed() have
// arrived, and a request's bytes are dropped once it is complete.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "proxy/resp_request_parser.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/stream_input.h"

using shardproxy::fuzz::ExactCopy;
using shardproxy::fuzz::Pieces;
using shardproxy::proxy::RespRequest;
using shardproxy::proxy::RespRequestParser;

namespace {

// Each request as its length and arguments, then how the stream ended: an error, or the
// bytes still waiting for the rest of a request.
struct Outcome {
    std::vector<std::string> requests;
    std::string end;
    bool operator==(const Outcome&) const = default;
};

// Options byte: the low two bits pick max_request_bytes, from the default to small enough
// that the limit is often hit.
uint64_t max_request_bytes(uint8_t options) {
    constexpr uint64_t kChoices[] = {512ull << 20, 1024, 64, 7};
    return kChoices[options & 3];
}

std::string describe(const RespRequest& request) {
    std::string out = (request.is_inline ? "inline " : "multibulk ") + std::to_string(request.wire_bytes);
    for (const std::string_view arg : request.args) {
        out += " " + std::to_string(arg.size()) + ":";
        out += arg;
    }
    return out;
}

void check_request(const RespRequest& request, std::string_view data, uint64_t max_bytes) {
    FUZZ_CHECK(request.wire_bytes > 0);  // a request of no bytes would loop the session forever
    FUZZ_CHECK(request.wire_bytes <= data.size());
    if (request.is_inline) {
        FUZZ_CHECK(data[request.wire_bytes - 1] == '\n');
        return;
    }
    FUZZ_CHECK(data[0] == '*');
    if (request.args.empty()) return;
    FUZZ_CHECK(request.wire_bytes <= max_bytes);
    // Multibulk arguments are the request's own bytes, each followed by its CRLF.
    const char* begin = data.data();
    for (const std::string_view arg : request.args) {
        FUZZ_CHECK(arg.data() > begin && arg.data() + arg.size() + 2 <= begin + request.wire_bytes);
        FUZZ_CHECK(arg.data()[arg.size()] == '\r' && arg.data()[arg.size() + 1] == '\n');
    }
}

Outcome run(Pieces pieces, uint64_t max_bytes) {
    RespRequestParser parser(max_bytes);
    Outcome outcome;
    std::string buffered;  // received and not yet consumed
    size_t needed = 1;
    size_t most_needed = 0;  // the most bytes_needed() asked for since the last request
    std::string_view piece;
    while (pieces.next(piece)) {
        buffered += piece;
        while (!buffered.empty() && buffered.size() >= needed) {
            // A new copy each time: the parser must not keep pointers into earlier calls' bytes.
            const ExactCopy data(buffered);
            RespRequest request;
            const auto status = parser.parse(data.view(), request);
            if (status == RespRequestParser::Status::need_more) {
                needed = parser.bytes_needed();
                FUZZ_CHECK(needed > buffered.size());
                most_needed = std::max(most_needed, needed);
                break;
            }
            if (status == RespRequestParser::Status::error) {
                FUZZ_CHECK(parser.error().starts_with("Protocol error: "));
                outcome.end = "error " + parser.error();
                return outcome;
            }
            check_request(request, data.view(), max_bytes);
            // Asking for more bytes than the request has would leave a client that sent it
            // waiting for an answer that never comes.
            FUZZ_CHECK(most_needed <= request.wire_bytes);
            most_needed = 0;
            needed = 1;
            outcome.requests.push_back(describe(request));
            buffered.erase(0, request.wire_bytes);
        }
    }
    outcome.end = "waiting " + std::to_string(buffered.size());
    return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    shardproxy::fuzz::StreamInput input;
    if (!shardproxy::fuzz::read_stream_input(data, size, input)) return 0;
    const uint64_t max_bytes = max_request_bytes(input.options);
    shardproxy::fuzz::check_split_invariance(input, [&](Pieces pieces, bool) { return run(std::move(pieces), max_bytes); });
    return 0;
}
