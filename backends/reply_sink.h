#pragma once
// What a backend connection hands a reply to. A request sent to a backend names a sink and a
// child number (the position of the sub-request in a fan-out, 0 otherwise); the connection
// either gets the reply taken by claim_direct() or calls exactly one of the on_* functions for
// it, then release().
#include <event2/buffer.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

struct redisReply;

namespace shardproxy::backends {

// The client connection that directly claimed replies are written to.
class ReplyStream {
public:
    // The claimed replies are now in the buffer claim_direct() returned.
    virtual void on_direct_replies_appended() = 0;

protected:
    ~ReplyStream() = default;
};

struct DirectReply {
    evbuffer* out = nullptr;  // null: deliver with on_reply_bytes instead
    ReplyStream* stream = nullptr;
};

class ReplySink {
public:
    // A reply that can go to the client unchanged and right now is claimed: the sink counts it
    // as delivered, and the connection appends its bytes to `out` (with those of the next
    // claimed replies for the same `out`, in one buffer operation) before it calls any other
    // sink, then tells the stream. This is how a pipeline's replies leave in one batch.
    virtual DirectReply claim_direct(uint32_t child) = 0;
    // The first `length` bytes of `from` are one complete reply; the sink must consume them
    // (move them on or drain them).
    virtual void on_reply_bytes(uint32_t child, evbuffer* from, size_t length) = 0;
    // A parsed reply, for requests sent with wants_parsed_reply; the sink owns it.
    virtual void on_reply_object(uint32_t child, redisReply* reply) = 0;
    // No reply will come (timeout, connection failure): `error` is a Redis error line body.
    virtual void on_failure(uint32_t child, std::string_view error) = 0;
    // The connection holds no more reference to this sink for that child.
    virtual void release() = 0;

protected:
    ~ReplySink() = default;
};

}  // namespace shardproxy::backends
