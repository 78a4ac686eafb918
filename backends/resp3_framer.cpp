#include "backends/resp3_framer.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace shardproxy::backends {
namespace {

// Lines that announce a length or hold a number are short. Simple strings and errors carry
// whatever the server or a script put in them, so they are bounded only as blob strings are.
constexpr size_t kMaxShortLineBytes = 64 * 1024;
// Redis's own limit on a string (proto-max-bulk-len); it also keeps the offset arithmetic far
// from overflowing.
constexpr int64_t kMaxBulkBytes = int64_t{512} << 20;
// Every element takes at least three bytes, so a larger count cannot be a frame we accept.
constexpr int64_t kMaxElements = kMaxBulkBytes / 3;

// Shown in errors; a broken line may be long.
std::string quoted(std::string_view text) {
    constexpr size_t kShown = 40;
    std::string out = "'";
    out.append(text.substr(0, kShown));
    if (text.size() > kShown) out.append("...");
    return out.append("'");
}

bool all_digits(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view without_sign(std::string_view text) {
    if (!text.empty() && (text[0] == '+' || text[0] == '-')) text.remove_prefix(1);
    return text;
}

// RESP3 allows a '+' that std::from_chars does not.
bool parse_integer(std::string_view text, int64_t& value) {
    if (!all_digits(without_sign(text))) return false;
    if (text[0] == '+') text.remove_prefix(1);
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && end == text.data() + text.size();
}

// [sign] digits [. digits] [e [sign] digits], or inf, -inf and nan as Redis writes them.
bool valid_double(std::string_view text) {
    text = without_sign(text);
    if (text == "inf" || text == "nan") return true;
    const auto digits = [&text] {
        const size_t n = std::min(text.find_first_not_of("0123456789"), text.size());
        text.remove_prefix(n);
        return n > 0;
    };
    if (!digits()) return false;
    if (!text.empty() && text[0] == '.') {
        text.remove_prefix(1);
        if (!digits()) return false;
    }
    if (!text.empty() && (text[0] == 'e' || text[0] == 'E')) {
        text = without_sign(text.substr(1));
        if (!digits()) return false;
    }
    return text.empty();
}

}  // namespace

void Resp3Framer::reset() {
    scanned_ = 0;
    line_checked_ = 0;
    attributes_open_ = 0;
    value_offset_ = 0;
    frame_returned_ = false;
    open_.clear();
    values_.clear();
    texts_.clear();
}

Resp3Framer::Result Resp3Framer::fail(std::string error) {
    error_ = std::move(error);
    return Result::protocol_error;
}

void Resp3Framer::add_value(Resp3Type type, size_t count, Span text) {
    if (attributes_open_ > 0) return;
    values_.push_back(Resp3Value{type, {}, count, values_.size() + 1});
    texts_.push_back(text);
}

bool Resp3Framer::complete_element() {
    while (!open_.empty()) {
        if (--open_.back().remaining > 0) return false;
        const Open done = open_.back();
        open_.pop_back();
        if (done.attribute) {
            // Not an element of what holds it: the value it describes is still to come.
            --attributes_open_;
            return false;
        }
        if (attributes_open_ == 0) values_[done.value].next = values_.size();
    }
    return true;
}

Resp3Framer::Result Resp3Framer::next(std::string_view data, size_t& length) {
    if (frame_returned_) {
        frame_returned_ = false;
        values_.clear();
        texts_.clear();
        value_offset_ = 0;
    }
    while (scanned_ < data.size()) {
        const size_t at = scanned_;
        const char type = data[at];
        const size_t limit = type == '+' || type == '-' ? static_cast<size_t>(kMaxBulkBytes) : kMaxShortLineBytes;
        // Each byte of a long line is searched once, however slowly the line arrives.
        const size_t from = std::min(at + line_checked_, data.size());
        const auto* cr = static_cast<const char*>(std::memchr(data.data() + from, '\r', data.size() - from));
        if (cr == nullptr || cr + 1 == data.data() + data.size()) {
            line_checked_ = (cr == nullptr ? data.size() : data.size() - 1) - at;
            if (line_checked_ > limit) return fail("line too long");
            return Result::need_more;
        }
        line_checked_ = 0;
        const size_t cr_at = static_cast<size_t>(cr - data.data());
        if (data[cr_at + 1] != '\n') return fail("CR without LF");
        if (cr_at == at) return fail("empty line");
        if (cr_at - at > limit) return fail("line too long");
        const std::string_view text = data.substr(at + 1, cr_at - at - 1);
        const size_t line_bytes = cr_at + 2 - at;
        if (open_.empty() && type != '|') value_offset_ = at;

        Span span{at + 1, text.size()};
        size_t value_bytes = line_bytes;
        int64_t number = 0;
        switch (type) {
        case '+':
        case '-':
            if (std::memchr(text.data(), '\n', text.size()) != nullptr) return fail("LF without CR");
            add_value(static_cast<Resp3Type>(type), 0, span);
            break;
        case ':':
            if (!parse_integer(text, number)) return fail("invalid integer " + quoted(text));
            add_value(Resp3Type::integer, 0, span);
            break;
        case '_':
            if (!text.empty()) return fail("invalid null " + quoted(text));
            add_value(Resp3Type::null, 0, {});
            break;
        case ',':
            if (!valid_double(text)) return fail("invalid double " + quoted(text));
            add_value(Resp3Type::double_number, 0, span);
            break;
        case '#':
            if (text != "t" && text != "f") return fail("invalid boolean " + quoted(text));
            add_value(Resp3Type::boolean, 0, span);
            break;
        case '(':
            if (!all_digits(without_sign(text))) return fail("invalid big number " + quoted(text));
            add_value(Resp3Type::big_number, 0, span);
            break;
        case '$':
        case '!':
        case '=':
            if (!parse_integer(text, number) || number < -1 || number > kMaxBulkBytes ||
                (number == -1 && type != '$')) {
                return fail("invalid length " + quoted(text));
            }
            if (number == -1) {
                add_value(Resp3Type::null, 0, {});
                break;
            }
            value_bytes = line_bytes + static_cast<size_t>(number) + 2;
            if (data.size() - at < value_bytes) return Result::need_more;  // the header is read again then
            if (data[at + value_bytes - 2] != '\r' || data[at + value_bytes - 1] != '\n') {
                return fail("string not followed by CRLF");
            }
            span = Span{at + line_bytes, static_cast<size_t>(number)};
            if (type == '=') {
                if (span.size < 4 || data[span.at + 3] != ':') return fail("verbatim string without a format");
                span.at += 4;
                span.size -= 4;
            }
            add_value(static_cast<Resp3Type>(type), 0, span);
            break;
        case '*':
        case '~':
        case '%':
        case '>':
        case '|': {
            if (!parse_integer(text, number) || number < -1 || number > kMaxElements ||
                (number == -1 && type != '*')) {
                return fail("invalid element count " + quoted(text));
            }
            if (number == -1) {
                add_value(Resp3Type::null, 0, {});
                break;
            }
            const size_t elements = static_cast<size_t>(number) * (type == '%' || type == '|' ? 2 : 1);
            if (type == '|') {
                if (elements > 0) {
                    open_.push_back(Open{elements, 0, true});
                    ++attributes_open_;
                }
                scanned_ += line_bytes;
                continue;
            }
            add_value(static_cast<Resp3Type>(type), elements, {});
            if (elements > 0) {
                open_.push_back(Open{elements, values_.size() - 1, false});
                scanned_ += line_bytes;
                continue;  // complete only once its elements are
            }
            break;
        }
        default:
            return fail("unexpected type byte " + quoted(std::string_view(&type, 1)));
        }
        scanned_ += value_bytes;
        if (!complete_element()) continue;
        length = scanned_;
        for (size_t i = 0; i < values_.size(); ++i) values_[i].text = data.substr(texts_[i].at, texts_[i].size);
        scanned_ = 0;
        frame_returned_ = true;
        return Result::frame;
    }
    return Result::need_more;
}

}  // namespace shardproxy::backends
