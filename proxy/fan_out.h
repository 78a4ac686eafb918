#pragma once
// A request split into one sub-request per backend (a multi-key read or write across servers)
// or sent to every server of a pool (a flush): one entry per child sub-request, and the rule
// that merges the children's replies into the single reply the client expects. Each protocol
// has its own (redis_fan_out.h, memcache_fan_out.h).
#include <event2/buffer.h>

#include <cstddef>
#include <cstdint>
#include <string>

struct redisReply;

namespace shardproxy::proxy {

class FanOut {
public:
    explicit FanOut(uint32_t children) : children_(children) {}
    virtual ~FanOut() = default;
    FanOut(const FanOut&) = delete;
    FanOut& operator=(const FanOut&) = delete;

    // A child's reply arrives in the form its sub-request asked for (see
    // BackendConnection::await_reply): as an object (takes ownership) or as the first `length`
    // bytes of `from` (moves them out).
    virtual void set_reply_object(uint32_t child, redisReply* reply) = 0;
    virtual void set_reply_bytes(uint32_t child, evbuffer* from, size_t length) = 0;
    // The child could not be answered: `error` is a protocol error line body.
    virtual void set_error(uint32_t child, std::string error) = 0;
    // Writes the merged reply, once ready().
    virtual void merge(evbuffer* out) = 0;
    // Whether the client can be answered now: normally once every child has, earlier for
    // replica writes that need only some of them. After merge(), children still answering
    // are taken and dropped.
    virtual bool ready() const { return complete(); }

    bool complete() const { return answered_ == children_; }

protected:
    void count_answer() { ++answered_; }
    uint32_t children() const { return children_; }

private:
    uint32_t children_;
    uint32_t answered_ = 0;
};

}  // namespace shardproxy::proxy
