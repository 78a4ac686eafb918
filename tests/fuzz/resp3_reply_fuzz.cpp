// Fuzzes the RESP3 framing of the near cache's tracking connection (backends/resp3_framer.h)
// the way that connection drives it: after need_more the framer is called again with all the
// bytes since the frame's start, which may have moved in memory meanwhile.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "backends/resp3_framer.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/stream_input.h"

using shardproxy::backends::Resp3Framer;
using shardproxy::backends::Resp3Type;
using shardproxy::backends::Resp3Value;
using shardproxy::fuzz::ExactCopy;
using shardproxy::fuzz::Pieces;
using Result = Resp3Framer::Result;

namespace {

// Each frame as its length and values, then how the stream ended: an error, or the bytes of
// a frame still arriving.
struct Outcome {
    std::vector<std::string> frames;
    std::string end;
    bool operator==(const Outcome&) const = default;
};

bool is_aggregate(Resp3Type type) {
    return type == Resp3Type::array || type == Resp3Type::set || type == Resp3Type::map || type == Resp3Type::push;
}

// The value at `i` and all it holds, checking on the way that `next` and `count` describe
// the nesting: an aggregate's elements follow it one after the other, each ending where the
// next begins, and the last where the aggregate ends.
std::string show(const std::vector<Resp3Value>& values, size_t i) {
    const Resp3Value& value = values[i];
    FUZZ_CHECK(value.next > i && value.next <= values.size());
    std::string out(1, static_cast<char>(value.type));
    if (!is_aggregate(value.type)) {
        FUZZ_CHECK(value.next == i + 1 && value.count == 0);
        return out.append(value.text);
    }
    FUZZ_CHECK(value.text.empty());
    out += std::to_string(value.count) + "[";
    size_t child = i + 1;
    for (size_t element = 0; element < value.count; ++element) {
        FUZZ_CHECK(child < value.next);
        if (element > 0) out += ",";
        out += show(values, child);
        child = values[child].next;
    }
    FUZZ_CHECK(child == value.next);
    return out + "]";
}

std::string describe_frame(const Resp3Framer& framer, std::string_view data, size_t length) {
    FUZZ_CHECK(length > 0 && length <= data.size());
    const std::vector<Resp3Value>& values = framer.values();
    FUZZ_CHECK(!values.empty());
    FUZZ_CHECK(framer.value_offset() < length);
    // Texts are views into the frame's own bytes.
    for (const Resp3Value& value : values) {
        FUZZ_CHECK(value.text.empty() ||
                   (value.text.data() >= data.data() && value.text.data() + value.text.size() <= data.data() + length));
    }
    std::string out = std::to_string(length) + "@" + std::to_string(framer.value_offset()) + " ";
    out += show(values, 0);
    FUZZ_CHECK(values[0].next == values.size());
    return out;
}

Outcome run(Pieces pieces) {
    Resp3Framer framer;
    Outcome outcome;
    std::string buffered;  // received and not yet framed
    std::string_view piece;
    while (pieces.next(piece)) {
        buffered += piece;
        while (!buffered.empty()) {
            // A new copy each time: the framer must not keep pointers into earlier calls' bytes.
            const ExactCopy data(buffered);
            size_t length = 0;
            const Result result = framer.next(data.view(), length);
            if (result == Result::need_more) break;
            if (result == Result::protocol_error) {
                FUZZ_CHECK(!framer.error().empty());
                outcome.end = "error " + framer.error();
                return outcome;
            }
            outcome.frames.push_back(describe_frame(framer, data.view(), length));
            buffered.erase(0, length);
        }
    }
    outcome.end = "waiting " + std::to_string(buffered.size());
    return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    shardproxy::fuzz::StreamInput input;
    if (!shardproxy::fuzz::read_stream_input(data, size, input)) return 0;
    shardproxy::fuzz::check_split_invariance(input, [](Pieces pieces, bool) { return run(std::move(pieces)); });
    return 0;
}
