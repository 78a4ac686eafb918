#include "backends/memcache_reply_framer.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <string_view>
#include <utility>

namespace shardproxy::backends {
namespace {

// memcached's reply lines are short: a VALUE or VA line holds a key of at most 250 bytes (336
// in base64 with the meta b flag), an opaque of at most 32 and a few numbers; error lines are
// fixed phrases. The bound is far above all of them and only keeps a broken backend from
// growing a buffer without end while it sends no line end.
constexpr size_t kMaxLineBytes = 64 * 1024;  // without the CRLF
// memcached's largest item is 1 GiB (-I); this guards the offset arithmetic against absurd
// lengths from a broken backend.
constexpr uint64_t kMaxDataBytes = uint64_t{1} << 40;

struct Line {
    std::string_view text;  // before the CRLF
    size_t bytes;           // including the CRLF
};

enum class LineStatus { complete, need_more, too_long, bare_lf, stray_cr, empty };

// The line starting at `at`, with `available` bytes from there to the end of the buffer. The
// line end is its first LF; `checked` counts the bytes already searched for it, so each byte
// is searched once however slowly the line arrives. The text is a view into the buffer when
// the line lies within one chunk, as it usually does, and is otherwise copied into `scratch`.
LineStatus read_line(evbuffer* in, evbuffer_ptr at, size_t available, size_t& checked,
                     uint64_t& searched, std::string& scratch, Line& line) {
    // A line within the bound has its LF at most kMaxLineBytes + 1 bytes in.
    const size_t window = std::min(available, kMaxLineBytes + 2);
    evbuffer_ptr from = at;
    if (checked > 0 && evbuffer_ptr_set(in, &from, checked, EVBUFFER_PTR_ADD) != 0) {
        return LineStatus::need_more;
    }
    size_t lf = 0;
    bool found = false;
    while (checked < window) {
        evbuffer_iovec chunk;
        if (evbuffer_peek(in, -1, &from, &chunk, 1) < 1) break;
        const size_t n = std::min(chunk.iov_len, window - checked);
        const char* begin = static_cast<const char*>(chunk.iov_base);
        if (const void* hit = std::memchr(begin, '\n', n)) {
            const size_t at_lf = static_cast<size_t>(static_cast<const char*>(hit) - begin);
            searched += at_lf + 1;
            lf = checked + at_lf;
            found = true;
            break;
        }
        searched += n;
        checked += n;
        if (evbuffer_ptr_set(in, &from, n, EVBUFFER_PTR_ADD) != 0) break;
    }
    if (!found) return checked >= kMaxLineBytes + 2 ? LineStatus::too_long : LineStatus::need_more;
    checked = 0;
    if (lf == 0) return LineStatus::bare_lf;
    const size_t bytes = lf + 1;
    const char* begin = nullptr;
    evbuffer_iovec chunk;
    if (evbuffer_peek(in, -1, &at, &chunk, 1) >= 1 && chunk.iov_len >= bytes) {
        begin = static_cast<const char*>(chunk.iov_base);
    } else {
        scratch.resize(bytes);
        evbuffer_copyout_from(in, &at, scratch.data(), bytes);
        begin = scratch.data();
    }
    if (begin[lf - 1] != '\r') return LineStatus::bare_lf;
    if (lf == 1) return LineStatus::empty;
    line = Line{std::string_view(begin, lf - 1), bytes};
    if (std::memchr(line.text.data(), '\r', line.text.size()) != nullptr) return LineStatus::stray_cr;
    return LineStatus::complete;
}

// The line split at single spaces: the first tokens, and how many there are. False when a
// token is empty (two spaces in a row, or one at either end), which memcached never sends.
struct Tokens {
    std::array<std::string_view, 6> first;
    size_t count = 0;
};

bool split(std::string_view text, Tokens& tokens) {
    size_t start = 0;
    while (true) {
        const size_t space = text.find(' ', start);
        const std::string_view token = text.substr(start, space - start);
        if (token.empty()) return false;
        if (tokens.count < tokens.first.size()) tokens.first[tokens.count] = token;
        ++tokens.count;
        if (space == std::string_view::npos) return true;
        start = space + 1;
    }
}

bool parse_length(std::string_view text, uint64_t& value) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && end == text.data() + text.size() && value <= kMaxDataBytes;
}

// The length of a data block announced by a VALUE or VA line, or false if the line is not
// well formed.
bool data_length(std::string_view text, bool meta, uint64_t& bytes) {
    Tokens tokens;
    if (!split(text, tokens)) return false;
    if (meta ? tokens.count < 2 : tokens.count != 4 && tokens.count != 5) return false;
    return parse_length(tokens.first[meta ? 1 : 3], bytes);
}

// A reply line for an error message: a broken backend's lines may be long or binary.
std::string quoted(std::string_view text) {
    constexpr size_t kShown = 64;
    std::string out = "'";
    for (const char c : text.substr(0, kShown)) out += c >= 0x20 && c < 0x7f ? c : '?';
    return out + (text.size() > kShown ? "...'" : "'");
}

}  // namespace

void MemcacheReplyFramer::reset() {
    scanned_ = 0;
    line_checked_ = 0;
    block_ = 0;
    block_ends_reply_ = false;
    failed_ = false;
    error_.clear();
}

ReplyFramer::Result MemcacheReplyFramer::fail(std::string error) {
    failed_ = true;
    error_ = std::move(error);
    return Result::protocol_error;
}

ReplyFramer::Result MemcacheReplyFramer::next(evbuffer* in, size_t offset, size_t& length) {
    // The stream is out of step after a protocol error; only a new connection helps.
    if (failed_) return Result::protocol_error;
    const size_t buffered = evbuffer_get_length(in);
    if (offset >= buffered) return Result::need_more;
    const size_t total = buffered - offset;  // bytes from the start of this reply on
    // While a large value arrives, each read is answered without walking the buffer.
    if (scanned_ > total || (block_ > 0 && total - scanned_ < block_)) return Result::need_more;
    // A cursor that only moves forward, so a long reply costs one walk over the buffer's chunks.
    evbuffer_ptr cursor;
    if (evbuffer_ptr_set(in, &cursor, offset + scanned_, EVBUFFER_PTR_SET) != 0) {
        return Result::need_more;
    }
    std::string scratch;
    while (true) {
        if (block_ > 0) {
            // A data block is skipped whole once it has arrived; only its CRLF is looked at.
            if (total - scanned_ < block_) return Result::need_more;
            const size_t data = static_cast<size_t>(block_) - 2;
            char crlf[2];
            if (evbuffer_ptr_set(in, &cursor, data, EVBUFFER_PTR_ADD) != 0 ||
                evbuffer_copyout_from(in, &cursor, crlf, 2) != 2 || crlf[0] != '\r' ||
                crlf[1] != '\n') {
                return fail("data block of " + std::to_string(data) + " bytes not followed by CRLF");
            }
            evbuffer_ptr_set(in, &cursor, 2, EVBUFFER_PTR_ADD);
            scanned_ += static_cast<size_t>(block_);
            block_ = 0;
            if (block_ends_reply_) break;
            continue;  // more VALUE blocks, then END (or an error line)
        }
        if (scanned_ == total) return Result::need_more;
        Line line;
        switch (read_line(in, cursor, total - scanned_, line_checked_, searched_, scratch, line)) {
        case LineStatus::complete:
            break;
        case LineStatus::need_more:
            return Result::need_more;
        case LineStatus::too_long:
            return fail("reply line longer than " + std::to_string(kMaxLineBytes) + " bytes");
        case LineStatus::bare_lf:
            return fail("reply line ended by a bare LF");
        case LineStatus::stray_cr:
            return fail("CR inside reply line " + quoted(line.text));
        case LineStatus::empty:
            return fail("empty reply line");
        }
        const bool value = line.text.starts_with("VALUE ");
        const bool meta_value = !value && line.text.starts_with("VA ");
        if (value || meta_value) {
            uint64_t bytes = 0;
            if (!data_length(line.text, meta_value, bytes)) {
                return fail("invalid value line " + quoted(line.text));
            }
            block_ = bytes + 2;
            block_ends_reply_ = meta_value;
        }
        scanned_ += line.bytes;
        evbuffer_ptr_set(in, &cursor, line.bytes, EVBUFFER_PTR_ADD);
        if (block_ == 0) break;  // any other line ends the reply
    }
    length = scanned_;
    scanned_ = 0;
    return Result::reply;
}

}  // namespace shardproxy::backends
