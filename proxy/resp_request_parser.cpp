#include "proxy/resp_request_parser.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace shardproxy::proxy {
namespace {

// Redis refuses header and inline lines longer than this (PROTO_INLINE_MAX_SIZE).
constexpr size_t kMaxLineBytes = 64 * 1024;
// Never trust a client's argument count for a reservation.
constexpr size_t kMaxReservedArgs = 1024;

// Parses the decimal integer in [begin, end) the way Redis's string2ll does: no sign but '-',
// no spaces, no leading zeros noise beyond what from_chars accepts.
bool parse_integer(const char* begin, const char* end, int64_t& value) {
    if (begin == end) return false;
    if (*begin == '+') return false;
    auto [ptr, ec] = std::from_chars(begin, end, value);
    return ec == std::errc() && ptr == end;
}

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    return (c | 0x20) - 'a' + 10;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

}  // namespace

RespRequestParser::RespRequestParser(uint64_t max_request_bytes)
    : max_request_bytes_(max_request_bytes) {}

RespRequestParser::Status RespRequestParser::fail(std::string message) {
    in_progress_ = false;
    error_ = std::move(message);
    return Status::error;
}

RespRequestParser::Status RespRequestParser::need(size_t total_bytes) {
    bytes_needed_ = total_bytes;
    return Status::need_more;
}

RespRequestParser::Status RespRequestParser::parse(std::string_view data, RespRequest& request) {
    args_.clear();
    request = RespRequest{};
    if (data.empty()) return need(1);
    return data[0] == '*' ? parse_multibulk(data, request) : parse_inline(data, request);
}

RespRequestParser::Status RespRequestParser::parse_multibulk(std::string_view data,
                                                             RespRequest& request) {
    const char* base = data.data();
    const size_t size = data.size();

    if (!in_progress_) {
        const char* cr = static_cast<const char*>(std::memchr(base, '\r', size));
        if (cr == nullptr) {
            if (size > kMaxLineBytes) return fail("Protocol error: too big mbulk count string");
            return need(size + 1);
        }
        const size_t header_end = static_cast<size_t>(cr - base) + 2;
        if (header_end > size) return need(header_end);
        int64_t count = 0;
        if (!parse_integer(base + 1, cr, count) || count > INT32_MAX || base[header_end - 1] != '\n') {
            return fail("Protocol error: invalid multibulk length");
        }
        if (count <= 0) {
            request.wire_bytes = header_end;
            return Status::complete;
        }
        // The smallest possible argument, "$0\r\n\r\n", is six bytes.
        if (static_cast<uint64_t>(count) * 6 > max_request_bytes_) {
            return fail("Protocol error: request is larger than max_request_bytes (" +
                        std::to_string(max_request_bytes_) + ")");
        }
        in_progress_ = true;
        expected_args_ = count;
        resume_at_ = header_end;
        arg_spans_.clear();
        arg_spans_.reserve(std::min(static_cast<size_t>(count), kMaxReservedArgs));
    }

    // Arguments already found in an earlier call are not parsed again, so a request with many
    // arguments that arrives over many reads costs time in proportion to its size.
    size_t pos = resume_at_;
    while (arg_spans_.size() < static_cast<size_t>(expected_args_)) {
        resume_at_ = pos;
        if (pos >= size) return need(pos + 1);
        if (base[pos] != '$') {
            return fail(std::string("Protocol error: expected '$', got '") + base[pos] + "'");
        }
        const char* line_end =
            static_cast<const char*>(std::memchr(base + pos, '\r', size - pos));
        if (line_end == nullptr) {
            if (size - pos > kMaxLineBytes) return fail("Protocol error: too big bulk count string");
            return need(size + 1);
        }
        const size_t data_start = static_cast<size_t>(line_end - base) + 2;
        if (data_start > size) return need(data_start);
        int64_t length = 0;
        if (!parse_integer(base + pos + 1, line_end, length) || length < 0 ||
            base[data_start - 1] != '\n') {
            return fail("Protocol error: invalid bulk length");
        }
        const uint64_t end = data_start + static_cast<uint64_t>(length) + 2;
        if (end > max_request_bytes_) {
            return fail("Protocol error: request is larger than max_request_bytes (" +
                        std::to_string(max_request_bytes_) + ")");
        }
        if (end > size) return need(end);
        if (base[end - 2] != '\r' || base[end - 1] != '\n') {
            return fail("Protocol error: expected CRLF after bulk string");
        }
        arg_spans_.push_back(ArgSpan{data_start, static_cast<size_t>(length)});
        pos = end;
    }
    in_progress_ = false;
    args_.reserve(arg_spans_.size());
    for (const ArgSpan& span : arg_spans_) args_.emplace_back(base + span.offset, span.length);
    request.args = args_;
    request.wire_bytes = pos;
    return Status::complete;
}

// Splits an inline line with redis-cli's quoting rules (sdssplitargs): "double quotes" take
// \n \r \t \b \a \\ \" and \xHH escapes, 'single quotes' take \', and a closing quote must be
// followed by a space or the end of the line.
RespRequestParser::Status RespRequestParser::parse_inline(std::string_view data,
                                                          RespRequest& request) {
    const char* newline = static_cast<const char*>(std::memchr(data.data(), '\n', data.size()));
    if (newline == nullptr) {
        if (data.size() > kMaxLineBytes) return fail("Protocol error: too big inline request");
        return need(data.size() + 1);
    }
    const size_t line_length = static_cast<size_t>(newline - data.data());
    std::string_view line = data.substr(0, line_length);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    request.wire_bytes = line_length + 1;
    request.is_inline = true;

    size_t used = 0;
    size_t i = 0;
    while (true) {
        while (i < line.size() && is_space(line[i])) ++i;
        if (i == line.size()) break;
        if (used == inline_storage_.size()) inline_storage_.emplace_back();
        std::string& arg = inline_storage_[used++];
        arg.clear();
        bool in_double = false;
        bool in_single = false;
        for (bool done = false; !done;) {
            if (i == line.size()) {
                if (in_double || in_single) return fail("Protocol error: unbalanced quotes in request");
                break;
            }
            const char c = line[i];
            if (in_double) {
                if (c == '\\' && i + 3 < line.size() && line[i + 1] == 'x' && is_hex(line[i + 2]) &&
                    is_hex(line[i + 3])) {
                    arg.push_back(static_cast<char>(hex_value(line[i + 2]) * 16 + hex_value(line[i + 3])));
                    i += 4;
                    continue;
                }
                if (c == '\\' && i + 1 < line.size()) {
                    const char e = line[i + 1];
                    arg.push_back(e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t'
                                  : e == 'b' ? '\b' : e == 'a' ? '\a' : e);
                    i += 2;
                    continue;
                }
                if (c == '"') {
                    if (i + 1 < line.size() && !is_space(line[i + 1])) {
                        return fail("Protocol error: unbalanced quotes in request");
                    }
                    done = true;
                } else {
                    arg.push_back(c);
                }
            } else if (in_single) {
                if (c == '\\' && i + 1 < line.size() && line[i + 1] == '\'') {
                    arg.push_back('\'');
                    i += 2;
                    continue;
                }
                if (c == '\'') {
                    if (i + 1 < line.size() && !is_space(line[i + 1])) {
                        return fail("Protocol error: unbalanced quotes in request");
                    }
                    done = true;
                } else {
                    arg.push_back(c);
                }
            } else if (is_space(c)) {
                done = true;
            } else if (c == '"') {
                in_double = true;
            } else if (c == '\'') {
                in_single = true;
            } else {
                arg.push_back(c);
            }
            ++i;
        }
    }
    for (size_t k = 0; k < used; ++k) args_.emplace_back(inline_storage_[k]);
    request.args = args_;
    return Status::complete;
}

}  // namespace shardproxy::proxy
