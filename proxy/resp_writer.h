#pragma once
// Appends RESP2 values to a libevent buffer. Used for the proxy's own replies, merged replies
// and re-encoded sub-requests; replies that come from a backend are forwarded as they are.
#include <event2/buffer.h>

#include <cstdint>
#include <span>
#include <string_view>

namespace shardproxy::proxy::resp {

void append_status(evbuffer* out, std::string_view text);  // +text
void append_error(evbuffer* out, std::string_view text);   // -text (text starts with ERR, ...)
void append_integer(evbuffer* out, int64_t value);
void append_bulk(evbuffer* out, std::string_view value);
void append_null_bulk(evbuffer* out);
void append_array_header(evbuffer* out, int64_t count);
// A command as a multibulk array of bulk strings.
void append_command(evbuffer* out, std::span<const std::string_view> args);

}  // namespace shardproxy::proxy::resp
