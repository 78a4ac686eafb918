#pragma once
// The client-facing memcached codec, text and meta commands. Pure: bytes in, one request (or
// "need more", or an error reply worded as memcached words it) out. No sockets, no libevent.
//
// Accepts what memcached 1.6 accepts: lines ended by CRLF or a bare LF, any pipelining, a
// request split at any byte. A storage command (set, ms, ...) is complete only once its data
// block is; a data block that is too large is consumed without being buffered, as memcached
// swallows it, so the stream stays in sync.
//
// Every check memcached makes on the command line alone (token counts, numbers, key lengths,
// meta flags) is made here with memcached 1.6.18's wording, so a request that parses is one
// memcached would execute. Where memcached desynchronises (it reads the data block of a `set`
// or `ms` whose key is too long as a new command), the declared block is swallowed instead.
// Keys are not checked for control characters: memcached 1.6.18 stores keys with tabs or
// control bytes; only a NUL ends a command line early, as it does in memcached.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace shardproxy::proxy {

enum class MemcacheCommand : uint8_t {
    // text retrieval: one or more keys
    get, gets, gat, gats,
    // text storage: command line, then a data block
    set, add, replace, append, prepend, cas,
    // text, one key
    delete_key, incr, decr, touch,
    // text, no key
    version, verbosity, quit, flush_all, stats,
    // meta
    meta_get, meta_set, meta_delete, meta_arithmetic, meta_noop, meta_debug,
};

struct MemcacheRequest {
    MemcacheCommand command = MemcacheCommand::get;
    // The command line split on spaces; tokens[0] is the command name. Views into the input.
    // Only the bytes before a NUL count, as in memcached.
    std::span<const std::string_view> tokens;
    // Keys are tokens[first_key, first_key + key_count). `gat <exptime>` with no key is valid
    // (memcached answers "END"), so gat/gats may have key_count 0.
    uint32_t first_key = 0;
    uint32_t key_count = 0;
    // The key to place the request by: tokens[first_key] as sent, or for a meta command with
    // the b flag, the base64-decoded key (a view into the parser, valid until the next call).
    // Empty when key_count is 0.
    std::string_view hash_key;
    // Text commands: the index of the "noreply" token; meta commands: the index of the "q"
    // flag token. 0 when absent. The proxy drops this token before forwarding, so the backend
    // always answers and its reply stream stays countable; the proxy then withholds the reply.
    uint32_t quiet_token = 0;
    size_t line_bytes = 0;  // the command line with its line end (CRLF or LF)
    size_t data_bytes = 0;  // storage commands: the data block with its CRLF; 0 otherwise
    size_t wire_bytes = 0;  // line_bytes + data_bytes
};

class MemcacheRequestParser {
public:
    enum class Status {
        request,    // a complete request; it took request.wire_bytes bytes
        need_more,  // see bytes_needed()
        error,      // answer error_reply() (unless empty), drop consumed() bytes, maybe close
        discard,    // drop consumed() bytes of a data block being swallowed; say nothing
    };

    // max_value_bytes: the largest data block accepted, counted without its CRLF (memcached's
    // item size limit); larger ones get "SERVER_ERROR object too large for cache" and are
    // swallowed.
    // max_line_bytes: the longest get/gets command line, counted before its LF (memcached
    // grows its buffer for these without bound); never less than 2048, the length memcached
    // allows every other command line.
    // allow_control_characters: accept keys with control characters, as memcached 1.6 does,
    // although its protocol forbids them; otherwise they are refused like overlong keys.
    MemcacheRequestParser(uint64_t max_value_bytes, uint64_t max_line_bytes,
                          bool allow_control_characters = false);

    // Parses one request at the start of data. On request, views point into data or into the
    // parser and stay valid until the next call. After need_more, the next call must pass the
    // same bytes again from the same first byte, with more after them.
    //
    // An error consumes the command line (for "bad data chunk", the line and the data block
    // memcached read; for an error that must close, an HTTP request's line or, for a line too
    // long, all of data). When memcached swallows the data block after the error (object too
    // large, a bad meta flag on ms, ...), the calls that follow return discard until the block
    // has gone by, taking whatever part of it is buffered each time (with empty data while
    // swallowing: need_more, bytes_needed() 1).
    Status parse(std::string_view data, MemcacheRequest& request);

    // After need_more: the input length below which another parse cannot make progress.
    size_t bytes_needed() const { return bytes_needed_; }
    // After error or discard: how many input bytes the parser used up.
    size_t consumed() const { return consumed_; }
    // After error: the reply line without its CRLF ("ERROR", "CLIENT_ERROR ...",
    // "SERVER_ERROR ..."), empty when memcached would say nothing (noreply).
    std::string_view error_reply() const { return error_reply_; }
    // After error: memcached would hang up (overlong line, an HTTP request).
    bool must_close() const { return must_close_; }

private:
    bool invalid_key(std::string_view key) const;
    Status parse_line(std::string_view data, size_t line_bytes, MemcacheRequest& request);
    Status parse_retrieval(MemcacheCommand command, MemcacheRequest& request);
    Status parse_storage(std::string_view data, MemcacheCommand command, MemcacheRequest& request);
    Status parse_keyed(MemcacheCommand command, MemcacheRequest& request);
    Status parse_keyless(MemcacheCommand command, MemcacheRequest& request);
    Status parse_meta(std::string_view data, MemcacheCommand command, MemcacheRequest& request);
    Status parse_meta_debug(MemcacheRequest& request);
    Status finish_storage(std::string_view data, uint64_t value_bytes, bool quiet,
                          MemcacheRequest& request);
    // Meta flag checks as memcached's _meta_flag_preparse: nullptr, or the error reply.
    const char* check_meta_flags(size_t first_flag, char& mode, bool& key_binary,
                                 uint32_t& quiet_token);

    Status need(size_t total_bytes);
    // Consumes the line (and, with swallow_bytes, arranges for that many bytes after it to be
    // discarded); `reply` must be a string literal.
    Status fail(std::string_view reply, uint64_t swallow_bytes = 0);
    Status fail_and_close(std::string_view reply, size_t input_bytes);

    uint64_t max_value_bytes_;
    bool allow_control_characters_;
    size_t max_retrieval_line_;
    size_t bytes_needed_ = 0;
    size_t consumed_ = 0;
    std::string_view error_reply_;  // always a string literal
    bool must_close_ = false;

    size_t line_bytes_ = 0;       // the line being parsed, with its LF
    size_t scanned_ = 0;          // bytes of a line still arriving already searched for LF
    size_t pending_total_ = 0;    // a storage request waiting for its data block: its length
    uint64_t swallow_left_ = 0;   // data block bytes still to discard
    std::vector<std::string_view> tokens_;
    std::string decoded_key_;     // a base64 key, decoded
};

// Meta quiet mode (the q flag): whether memcached would withhold this reply line of `command`
// (e.g. "EN" for mg, "HD" for ms/md). Replies it keeps (hits, errors, NS, ...) go out.
bool meta_quiet_withholds(MemcacheCommand command, std::string_view reply_line);

}  // namespace shardproxy::proxy
