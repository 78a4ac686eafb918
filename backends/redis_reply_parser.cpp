#include "backends/redis_reply_parser.h"

#include <hiredis/hiredis.h>

#include <algorithm>

namespace shardproxy::backends {

RedisReplyParser::RedisReplyParser() : reader_(redisReaderCreate()) {}

RedisReplyParser::~RedisReplyParser() { redisReaderFree(reader_); }

redisReply* RedisReplyParser::parse(evbuffer* in, size_t offset, size_t length) {
    evbuffer_iovec chunks[8];
    evbuffer_ptr at;
    evbuffer_ptr_set(in, &at, offset, EVBUFFER_PTR_SET);
    size_t fed = 0;
    while (fed < length) {
        const int count = evbuffer_peek(in, static_cast<ev_ssize_t>(length - fed), &at, chunks, 8);
        size_t round = 0;
        for (int i = 0; i < count && i < 8; ++i) {
            const size_t n = std::min(chunks[i].iov_len, length - fed - round);
            redisReaderFeed(reader_, static_cast<const char*>(chunks[i].iov_base), n);
            round += n;
        }
        fed += round;
        evbuffer_ptr_set(in, &at, round, EVBUFFER_PTR_ADD);
    }
    void* reply = nullptr;
    if (redisReaderGetReply(reader_, &reply) != REDIS_OK || reply == nullptr) {
        // The reader is left in an error state; the next parse needs a fresh one. The stream
        // itself is fine: the framer cut this reply.
        redisReaderFree(reader_);
        reader_ = redisReaderCreate();
        return nullptr;
    }
    return static_cast<redisReply*>(reply);
}

// The one reply the framer accepts and hiredis 0.14's reader refuses.
std::string_view RedisReplyParser::error() { return "the reply is nested too deeply to merge"; }

}  // namespace shardproxy::backends
