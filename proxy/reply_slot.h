#pragma once
// A client request's place in its session's reply order. Backends answer into the slot; the
// session writes slots out strictly in request order. A slot outlives its session when the
// client leaves with requests in flight: backends still hold it until their replies arrive.
#include <event2/buffer.h>

#include <memory>
#include <vector>

#include "backends/reply_sink.h"
#include "proxy/fan_out.h"
#include "routing/key_versions.h"

namespace shardproxy::proxy {

class ClientSession;
class SlotPool;

// A write of a key (or of a whole pool: whole_pool) with hot-key handling. Its version is
// bumped when the client is answered and again when the slot is recycled, after every server
// answered (routing/key_versions.h).
struct WriteGuard {
    routing::KeyVersions* versions;
    uint64_t hash;
    bool whole_pool;
    void bump() const {
        if (whole_pool) {
            versions->bump_all();
        } else {
            versions->bump(hash);
        }
    }
};

class ReplySlot final : public backends::ReplySink {
public:
    explicit ReplySlot(SlotPool& pool);
    ~ReplySlot();

    backends::DirectReply claim_direct(uint32_t child) override;
    void on_reply_bytes(uint32_t child, evbuffer* from, size_t length) override;
    void on_reply_object(uint32_t child, redisReply* reply) override;
    void on_failure(uint32_t child, std::string_view error) override;
    void release() override;
    void add_ref() { ++refs_; }
    // Merges the fan-out and hands the slot to its session once the fan-out is ready (all its
    // children answered, or enough of them). Called as children answer, and by the session
    // right after sending, for when every child failed at once.
    void finish_fan_out_if_ready();

    ReplySlot* next = nullptr;         // the session's reply order
    ClientSession* session = nullptr;  // null once the client has gone
    evbuffer* reply;                   // the finished reply, unless it went straight out
    std::unique_ptr<FanOut> fan_out;   // for split and broadcast requests
    // The session looks at the reply before it goes out (memcached quiet mode), so it cannot
    // be claimed straight from the backend's buffer.
    bool inspect_reply = false;
    uint8_t request_kind = 0;          // what the session needs to inspect it; its own code
    bool done = false;
    std::vector<WriteGuard> write_guards;  // bumped when answered and when recycled
    uint64_t started_us = 0;  // the loop turn its request was read in (proxy-side latency)

private:

    SlotPool& pool_;
    uint32_t refs_ = 0;
};

// Slots are recycled per worker, buffers included, so a request costs no allocation.
class SlotPool {
public:
    SlotPool() = default;
    ~SlotPool();
    SlotPool(const SlotPool&) = delete;
    SlotPool& operator=(const SlotPool&) = delete;

    // A fresh slot holding one reference (the session's).
    ReplySlot* acquire(ClientSession* session);
    void recycle(ReplySlot* slot);

private:
    std::vector<ReplySlot*> free_;
};

}  // namespace shardproxy::proxy
