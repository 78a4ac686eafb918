#include "proxy/resp_writer.h"

#include <charconv>
#include <string>

namespace shardproxy::proxy::resp {
namespace {

void append_header(evbuffer* out, char type, int64_t value) {
    char line[32];
    line[0] = type;
    char* end = std::to_chars(line + 1, line + sizeof(line) - 2, value).ptr;
    *end++ = '\r';
    *end++ = '\n';
    evbuffer_add(out, line, static_cast<size_t>(end - line));
}

void append_line(evbuffer* out, char type, std::string_view text) {
    evbuffer_add(out, &type, 1);
    evbuffer_add(out, text.data(), text.size());
    evbuffer_add(out, "\r\n", 2);
}

}  // namespace

void append_status(evbuffer* out, std::string_view text) { append_line(out, '+', text); }

// An error line cannot carry CR or LF (they would end it early and desynchronise the client),
// and it may quote client input, so they become spaces as Redis does.
void append_error(evbuffer* out, std::string_view text) {
    if (text.find_first_of("\r\n") == std::string_view::npos) {
        append_line(out, '-', text);
        return;
    }
    std::string clean(text);
    for (char& c : clean) {
        if (c == '\r' || c == '\n') c = ' ';
    }
    append_line(out, '-', clean);
}

void append_integer(evbuffer* out, int64_t value) { append_header(out, ':', value); }

void append_bulk(evbuffer* out, std::string_view value) {
    append_header(out, '$', static_cast<int64_t>(value.size()));
    evbuffer_add(out, value.data(), value.size());
    evbuffer_add(out, "\r\n", 2);
}

void append_null_bulk(evbuffer* out) { evbuffer_add(out, "$-1\r\n", 5); }

void append_array_header(evbuffer* out, int64_t count) { append_header(out, '*', count); }

void append_command(evbuffer* out, std::span<const std::string_view> args) {
    append_array_header(out, static_cast<int64_t>(args.size()));
    for (std::string_view arg : args) append_bulk(out, arg);
}

}  // namespace shardproxy::proxy::resp
