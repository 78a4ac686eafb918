#pragma once
// The client-facing RESP2 request codec. Pure: bytes in, one request (or "need more", or a
// protocol error worded as Redis words it) out. No sockets, no libevent.
//
// Accepts what redis-server accepts from clients: multibulk arrays of bulk strings and inline
// commands (space separated, with Redis's quoting rules), any amount of pipelining, a request
// split at any byte. Empty multibulks (*0, *-1) and blank inline lines are skipped.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace shardproxy::proxy {

struct RespRequest {
    std::span<const std::string_view> args;  // args[0] is the command name; empty = skip
    size_t wire_bytes = 0;                   // how many input bytes the request took
    bool is_inline = false;                  // inline args are unquoted copies, not wire bytes
};

class RespRequestParser {
public:
    enum class Status { complete, need_more, error };

    explicit RespRequestParser(uint64_t max_request_bytes);

    // Parses one request at the start of data. On complete, args point into data (multibulk)
    // or into the parser (inline) and stay valid until the next call. After need_more, the
    // next call must pass the same request again, from its first byte, with more bytes after
    // it (it may be at another address): parsing resumes where it stopped.
    Status parse(std::string_view data, RespRequest& request);

    // After need_more: the input length below which another parse cannot make progress.
    size_t bytes_needed() const { return bytes_needed_; }
    // After error: "Protocol error: ..." (without "-ERR " and CRLF).
    const std::string& error() const { return error_; }

private:
    Status parse_multibulk(std::string_view data, RespRequest& request);
    Status parse_inline(std::string_view data, RespRequest& request);
    Status fail(std::string message);
    Status need(size_t total_bytes);

    // Where a multibulk request that is still arriving got to, relative to its first byte.
    struct ArgSpan {
        size_t offset;
        size_t length;
    };

    uint64_t max_request_bytes_;
    bool in_progress_ = false;
    int64_t expected_args_ = 0;
    size_t resume_at_ = 0;
    std::vector<ArgSpan> arg_spans_;
    std::vector<std::string_view> args_;
    std::vector<std::string> inline_storage_;
    size_t bytes_needed_ = 0;
    std::string error_;
};

}  // namespace shardproxy::proxy
