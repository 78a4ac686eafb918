#include "backends/redis_reply_framer.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace shardproxy::backends {
namespace {

// Header lines ("$<length>", "*<count>") and integers are short. Status and error lines carry
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

// The line starting at `at`, with `available` bytes from there to the end of the buffer. It
// ends at its first CR, which must be followed by LF, however the line lies across the
// buffer's chunks. Usually it lies within one chunk and its text is a view into it; otherwise
// it is copied into `scratch`. `checked` counts the bytes of an unfinished line already
// searched for a CR, so each byte is searched once however slowly the line arrives.
LineStatus read_line(evbuffer* in, evbuffer_ptr& at, size_t available, size_t& checked,
                     std::string& scratch, Line& line) {
    evbuffer_iovec chunk;
    if (evbuffer_peek(in, -1, &at, &chunk, 1) < 1) return LineStatus::need_more;
    const char* begin = static_cast<const char*>(chunk.iov_base);
    const bool short_line = begin[0] == '$' || begin[0] == '*' || begin[0] == ':';
    const size_t limit = short_line ? kMaxHeaderLineBytes : kMaxTextLineBytes;
    const size_t in_chunk = std::min(chunk.iov_len, available);
    size_t cr = 0;
    const void* found = checked < in_chunk ? std::memchr(begin + checked, '\r', in_chunk - checked) : nullptr;
    if (found != nullptr) {
        cr = static_cast<size_t>(static_cast<const char*>(found) - begin);
    } else {
        // The line continues in the next chunks, or has not fully arrived.
        evbuffer_ptr from = at;
        evbuffer_ptr_set(in, &from, std::max(checked, in_chunk), EVBUFFER_PTR_ADD);
        const evbuffer_ptr later = evbuffer_search(in, "\r", 1, &from);
        if (later.pos < 0) {
            checked = available;
            return available > limit ? LineStatus::too_long : LineStatus::need_more;
        }
        cr = static_cast<size_t>(later.pos - at.pos);
    }
    if (cr + 1 == available) {
        checked = cr;  // its LF may be on its way
        return cr > limit ? LineStatus::too_long : LineStatus::need_more;
    }
    checked = 0;
    char lf = 0;
    if (cr + 1 < in_chunk) {
        lf = begin[cr + 1];
    } else {
        evbuffer_ptr after = at;
        evbuffer_ptr_set(in, &after, cr + 1, EVBUFFER_PTR_ADD);
        evbuffer_copyout_from(in, &after, &lf, 1);
    }
    if (lf != '\n') return LineStatus::malformed;
    if (cr > limit) return LineStatus::too_long;
    if (cr == 0) return LineStatus::malformed;
    if (cr <= in_chunk) {
        line = Line{begin[0], std::string_view(begin + 1, cr - 1), cr + 2};
        return LineStatus::complete;
    }
    scratch.resize(cr);
    evbuffer_copyout_from(in, &at, scratch.data(), cr);
    line = Line{scratch[0], std::string_view(scratch).substr(1), cr + 2};
    return LineStatus::complete;
}

// A number as Redis writes it and hiredis's reader insists on (string2ll): an optional '-', no
// leading zero, no "-0". A reply framed with any other would be refused by the parser
// (redis_reply_parser.h), which must be able to parse every reply framed.
bool parse_integer(std::string_view text, int64_t& value) {
    const std::string_view digits = text.starts_with('-') ? text.substr(1) : text;
    if (digits.empty() || (digits[0] == '0' && text.size() > 1)) return false;
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
        const LineStatus status = read_line(in, cursor, total - scanned_, line_checked_, scratch, line);
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
        case ':':
            if (!parse_integer(line.text, count)) {
                error_ = "invalid integer '" + std::string(line.text) + "'";
                return Result::protocol_error;
            }
            [[fallthrough]];
        case '+':
        case '-':
            scanned_ += line.bytes;
            evbuffer_ptr_set(in, &cursor, line.bytes, EVBUFFER_PTR_ADD);
            break;
        case '$': {
            if (!parse_integer(line.text, count) || count < -1 || count > kMaxBulkBytes) {
                error_ = "invalid bulk length '" + std::string(line.text) + "'";
                return Result::protocol_error;
            }
            const size_t end = scanned_ + line.bytes + (count < 0 ? 0 : static_cast<size_t>(count) + 2);
            if (end > total) return Result::need_more;  // the header is read again next time
            if (count < 0) {
                evbuffer_ptr_set(in, &cursor, line.bytes, EVBUFFER_PTR_ADD);
            } else {
                // The data is skipped unread; its CRLF tells whether the length was honest. A
                // backend that lied would otherwise have the rest of its stream framed out of
                // step, each later reply going to the wrong request.
                char crlf[2];
                evbuffer_ptr_set(in, &cursor, line.bytes + static_cast<size_t>(count), EVBUFFER_PTR_ADD);
                if (evbuffer_copyout_from(in, &cursor, crlf, 2) != 2 || crlf[0] != '\r' || crlf[1] != '\n') {
                    error_ = "bulk string of " + std::to_string(count) + " bytes not followed by CRLF";
                    return Result::protocol_error;
                }
                evbuffer_ptr_set(in, &cursor, 2, EVBUFFER_PTR_ADD);
            }
            scanned_ = end;
            break;
        }
        case '*':
            if (!parse_integer(line.text, count) || count < -1) {
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
