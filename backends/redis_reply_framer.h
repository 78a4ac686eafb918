#pragma once
// Finds where each Redis reply ends in a backend's byte stream, using hiredis's reply reader.
// Most replies are only framed (the reader builds no objects, so nothing is allocated) and then
// forwarded byte for byte; replies that a fan-out must merge are parsed into redisReply objects.
#include <event2/buffer.h>

#include <cstddef>
#include <string_view>

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

    // `in` starts with the bytes fed before and not yet returned as a reply, followed by new
    // ones; only the new ones are fed. The caller drains exactly the returned lengths from `in`.
    void feed(evbuffer* in);
    // The next complete reply: its length in bytes and, when parsed is requested, the object.
    Result next(bool parsed, size_t& length, redisReply*& object);
    std::string_view error() const;
    // Forget all state, for a new connection.
    void reset();

private:
    redisReader* reader_;
    const void* parsing_functions_;
    size_t unframed_bytes_ = 0;       // fed to the reader, not yet part of a returned reply
    size_t current_reply_bytes_ = 0;  // consumed by the reader for the reply in progress
};

}  // namespace shardproxy::backends
