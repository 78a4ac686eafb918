#pragma once
// How the codec targets read a fuzz input: byte 0 says how the stream is cut into the pieces
// a socket would deliver, byte 1 sets the target's options, and the rest is the stream. The
// same bytes mean the same run in libFuzzer and in the replay tests.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"

namespace shardproxy::fuzz {

// A codec's result must not depend on how its input was cut, except that some judge a line with
// no end yet by what has arrived once it passes their limit, as redis-server does. Those limits
// are all at least this long, and fuzz inputs are shorter.
constexpr size_t kSplitInvariantBytes = 64 * 1024;

struct StreamInput {
    uint8_t pattern = 0;
    uint8_t options = 0;
    std::string_view stream;
};

// False when the input is too short to hold the two header bytes.
inline bool read_stream_input(const uint8_t* data, size_t size, StreamInput& input) {
    if (size < 2) return false;
    input.pattern = data[0];
    input.options = data[1];
    input.stream = std::string_view(reinterpret_cast<const char*>(data) + 2, size - 2);
    return true;
}

// The stream cut into pieces: the pattern's low three bits bound a piece's size (1, 4, 16,
// ... 16384 bytes: from byte by byte to most streams in one piece), its other five bits seed
// the sizes up to that bound.
class Pieces {
public:
    Pieces(std::string_view stream, uint8_t pattern)
        : rest_(stream), bound_(size_t{1} << (2 * (pattern & 7))), state_(pattern >> 3) {}

    // The stream in one piece, as the reference the pieced run is compared with.
    static Pieces whole(std::string_view stream) { return Pieces(stream); }

    bool next(std::string_view& piece) {
        if (rest_.empty()) return false;
        // A small linear congruential generator: any sequence does, as long as it is the same
        // for the same pattern.
        state_ = state_ * 1103515245u + 12345u;
        const size_t size = bound_ == 0 ? rest_.size() : 1 + (state_ >> 8) % bound_;
        piece = rest_.substr(0, size);
        rest_.remove_prefix(piece.size());
        return true;
    }

private:
    explicit Pieces(std::string_view stream) : rest_(stream), bound_(0), state_(0) {}

    std::string_view rest_;
    size_t bound_;  // 0: the rest in one piece
    uint32_t state_;
};

// The check every stream target makes: the stream is run as it arrives in pieces and, when it
// is shorter than kSplitInvariantBytes, whole, and both runs must end with the same outcome.
// `run(pieces, whole)` runs the codec; `whole` is true for the reference run.
template <typename Run>
void check_split_invariance(const StreamInput& input, const Run& run) {
    const auto pieced = run(Pieces(input.stream, input.pattern), false);
    if (input.stream.size() < kSplitInvariantBytes) FUZZ_CHECK(pieced == run(Pieces::whole(input.stream), true));
}

// A copy of buffered bytes in an allocation of exactly their size, so that AddressSanitizer
// catches a codec reading one byte past what it was given, and a codec that kept a pointer
// into the previous call's bytes reads freed memory.
class ExactCopy {
public:
    explicit ExactCopy(std::string_view bytes)
        : bytes_(new char[bytes.size()]), size_(bytes.size()) {
        std::memcpy(bytes_.get(), bytes.data(), bytes.size());
    }
    std::string_view view() const { return std::string_view(bytes_.get(), size_); }

private:
    std::unique_ptr<char[]> bytes_;
    size_t size_;
};

}  // namespace shardproxy::fuzz
