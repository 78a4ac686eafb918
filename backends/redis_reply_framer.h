#pragma once
// Finds where each Redis reply ends in a backend's byte stream, without copying it, so replies
// can be forwarded byte for byte. Replies that a fan-out must merge are also parsed into
// redisReply objects with hiredis's reader.
//
// Framing is our own small scanner rather than hiredis's reader: the reader in Debian's hiredis
// (0.14) refuses arrays nested more than 7 deep ("No support for nested multi bulk replies"),
// which a client can provoke with EVAL, and a framing failure would cost every request in
// flight on the connection. The scanner has no depth limit, and it resumes where it stopped
// instead of copying the stream into a second buffer.
#include <event2/buffer.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct redisReader;
struct redisReply;

namespace shardproxy::backends {

class RedisReplyFramer {
public:
    RedisReplyFramer();
    ~RedisReplyFramer();
    RedisReplyFramer(const RedisReplyFramer&) = delete;
    RedisReplyFramer& operator=(const RedisReplyFramer&) = delete;

    enum class Result { reply, need_more, protocol_error };

    // The reply that starts `offset` bytes into `in`: its length in bytes once complete. With
    // `parsed`, also the reply as an object, or null when hiredis cannot represent it
    // (parse_error() says why). The next reply starts right after it; while a reply is
    // incomplete, callers keep asking with the same start.
    Result next(evbuffer* in, size_t offset, bool parsed, size_t& length, redisReply*& object);
    const std::string& error() const { return error_; }
    std::string_view parse_error() const;
    // Forget a partly scanned reply, for a new connection.
    void reset();

private:
    Result scan(evbuffer* in, size_t offset, size_t& length);
    redisReply* parse(evbuffer* in, size_t offset, size_t length);

    size_t scanned_ = 0;          // bytes of the current reply already scanned
    size_t line_checked_ = 0;     // bytes of an unfinished line already searched for its end
    std::vector<int64_t> open_;   // elements still due in each open array, innermost last
    std::string error_;
    redisReader* reader_;
};

}  // namespace shardproxy::backends
