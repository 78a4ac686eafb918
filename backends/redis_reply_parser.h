#pragma once
// Turns one framed Redis reply into a redisReply object with hiredis's reader, for fan-outs
// that must merge replies (MGET across servers, ...). Everything else is forwarded unparsed.
#include <event2/buffer.h>

#include <cstddef>
#include <string_view>

struct redisReader;
struct redisReply;

namespace shardproxy::backends {

class RedisReplyParser {
public:
    RedisReplyParser();
    ~RedisReplyParser();
    RedisReplyParser(const RedisReplyParser&) = delete;
    RedisReplyParser& operator=(const RedisReplyParser&) = delete;

    // The `length` bytes at `offset` in `in` are one complete reply (RedisReplyFramer said
    // so). Null when hiredis cannot represent it; error() says why. The caller owns the reply.
    redisReply* parse(evbuffer* in, size_t offset, size_t length);
    static std::string_view error();

private:
    redisReader* reader_;
};

}  // namespace shardproxy::backends
