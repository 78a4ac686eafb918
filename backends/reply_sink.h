#pragma once
// What a backend connection hands a reply to. A request sent to a backend names a sink and a
// child number (the position of the sub-request in a fan-out, 0 otherwise); the connection
// calls exactly one of the on_* functions for it, then release().
#include <event2/buffer.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

struct redisReply;

namespace shardproxy::backends {

class ReplySink {
public:
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
