#include "backends/redis_reply_framer.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace shardproxy::backends {
namespace {

// Header lines ("$<length>", "*<count>") are short. Status, error and integer lines carry
// whatever the server or a Lua script put in them (redis.status_reply, error()), so they may be
// long; they are bounded only so that a broken backend cannot grow a buffer without end.
constexpr size_t kMaxHeaderLineBytes = 64 * 1024;
constexpr size_t kMaxTextLineBytes = 512 * 1024 * 1024;
// Guards the offset arithmetic against absurd lengths from a broken backend.
constexpr int64_t kMaxBulkBytes = int64_t{1} << 40;

struct Line {
    char type;
    std::string_view text;  // after the type byte, before CRLF
    size_t bytes;           // including the type byte and CRLF
};

enum class LineStatus { complete, need_more, too_long, malformed };

// The line starting at `at` (offset `offset` into the reply). Usually it lies within one chunk
// of the buffer; otherwise it is copied into `scratch`. `checked` counts the bytes of a long
// line already searched for its end, so each byte is searched once however slowly it arrives.
LineStatus read_line(evbuffer* in, evbuffer_ptr& at, size_t offset, size_t total, size_t& checked,
                     std::string& scratch, Line& line) {
    evbuffer_iovec chunk;
    if (evbuffer_peek(in, -1, &at, &chunk, 1) < 1) return LineStatus::need_more;
    const char* begin = static_cast<const char*>(chunk.iov_base);
    const size_t limit = begin[0] == '$' || begin[0] == '*' ? kMaxHeaderLineBytes : kMaxTextLineBytes;
    if (checked == 0) {
        const size_t in_chunk = std::min(chunk.iov_len, total - offset);
        if (const void* cr = std::memchr(begin, '\r', in_chunk)) {
            const size_t at_cr = static_cast<size_t>(static_cast<const char*>(cr) - begin);
            if (at_cr + 1 < in_chunk) {
                if (at_cr == 0 || begin[at_cr + 1] != '\n') return LineStatus::malformed;
                line = Line{begin[0], std::string_view(begin + 1, at_cr - 1), at_cr + 2};
                return LineStatus::complete;
            }
        }
    }
    // The line continues in the next chunk, or has not fully arrived.
    evbuffer_ptr from = at;
    if (checked > 0) evbuffer_ptr_set(in, &from, checked, EVBUFFER_PTR_ADD);
    const evbuffer_ptr eol = evbuffer_search_eol(in, &from, nullptr, EVBUFFER_EOL_CRLF_STRICT);
    if (eol.pos < 0) {
        const size_t available = total - offset;
        if (available > limit) return LineStatus::too_long;
        checked = available - 1;  // a CR at the very end may yet be followed by its LF
        return LineStatus::need_more;
    }
    checked = 0;
    const size_t length = static_cast<size_t>(eol.pos - at.pos);
    if (length > limit) return LineStatus::too_long;
    if (length == 0) return LineStatus::malformed;
    scratch.resize(length);
    evbuffer_copyout_from(in, &at, scratch.data(), length);
    line = Line{scratch[0], std::string_view(scratch).substr(1), length + 2};
    return LineStatus::complete;
}

bool parse_count(std::string_view text, int64_t& value) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

void RedisReplyFramer::reset() {
    scanned_ = 0;
    line_checked_ = 0;
    open_.clear();
}

RedisReplyFramer::Result RedisReplyFramer::next(evbuffer* in, size_t offset, size_t& length) {
    const size_t buffered = evbuffer_get_length(in);
    if (offset >= buffered) return Result::need_more;
    const size_t total = buffered - offset;  // bytes from the start of this reply on
    std::string scratch;
    // A cursor that only moves forward, so a long reply costs one walk over the buffer's chunks.
    evbuffer_ptr cursor;
    if (scanned_ >= total ||
        evbuffer_ptr_set(in, &cursor, offset + scanned_, EVBUFFER_PTR_SET) != 0) {
        return Result::need_more;
    }
    while (scanned_ < total) {
        Line line;
        const LineStatus status =
            read_line(in, cursor, scanned_, total, line_checked_, scratch, line);
        if (status == LineStatus::need_more) return Result::need_more;
        if (status == LineStatus::too_long) {
            error_ = "reply line too long";
            return Result::protocol_error;
        }
        if (status == LineStatus::malformed) {
            error_ = "malformed reply line";
            return Result::protocol_error;
        }
        int64_t count = 0;
        switch (line.type) {
        case '+':
        case '-':
        case ':':
            scanned_ += line.bytes;
            evbuffer_ptr_set(in, &cursor, line.bytes, EVBUFFER_PTR_ADD);
            break;
        case '$': {
            if (!parse_count(line.text, count) || count < -1 || count > kMaxBulkBytes) {
                error_ = "invalid bulk length '" + std::string(line.text) + "'";
                return Result::protocol_error;
            }
            const size_t end = scanned_ + line.bytes + (count < 0 ? 0 : static_cast<size_t>(count) + 2);
            if (end > total) return Result::need_more;  // the header is read again next time
            evbuffer_ptr_set(in, &cursor, end - scanned_, EVBUFFER_PTR_ADD);
            scanned_ = end;
            break;
        }
        case '*':
            if (!parse_count(line.text, count) || count < -1) {
                error_ = "invalid array length '" + std::string(line.text) + "'";
                return Result::protocol_error;
            }
            scanned_ += line.bytes;
            evbuffer_ptr_set(in, &cursor, line.bytes, EVBUFFER_PTR_ADD);
            if (count > 0) {
                open_.push_back(count);
                continue;  // the array is complete only once its elements are
            }
            break;
        default:
            error_ = std::string("unexpected reply type byte '") + line.type + "'";
            return Result::protocol_error;
        }
        // One element is complete; it may complete the arrays around it.
        while (!open_.empty() && --open_.back() == 0) open_.pop_back();
        if (open_.empty()) {
            length = scanned_;
            scanned_ = 0;
            return Result::reply;
        }
    }
    return Result::need_more;
}

}  // namespace shardproxy::backends
