#pragma once
// Single-key gets bound for one memcached in the same event-loop turn leave as one multi-key
// get, and its reply is cut back into one reply per request.
//
// Why: memcached answers every text get with its own sendmsg, even when a whole pipeline of
// gets arrives in one read, but answers a multi-key get with one. Behind a proxy, where the
// gets of many clients share one connection, that is most of memcached's cost per request.
//
//   clients:  get a   get b   get c            backend:  get a b c
//   replies:  VALUE a..END  END  VALUE c..END  ◄──────   VALUE a .. VALUE c .. END
//
// The hits of a multi-key get come back in key order and misses are simply absent, so walking
// the keys in order and matching each against the next VALUE line assigns every hit.
#include <event2/buffer.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "backends/ring_queue.h"

namespace shardproxy::backends {

class MemcacheGetBatch {
public:
    // Whether a get of this kind ("get" or "gets") can join the batch being assembled; when it
    // cannot, emit() the batch first.
    bool accepts(std::string_view command, std::string_view key) const;
    void add(std::string_view command, std::string_view key);
    bool assembling() const { return assembling_ > 0; }
    // Writes the assembled multi-key get to `out`; its keys wait for the reply.
    void emit(evbuffer* out);

    // Members (requests) of the oldest emitted batch, whose reply is the next to arrive.
    uint32_t oldest_members() const { return sent_sizes_.empty() ? 0 : sent_sizes_.front(); }
    // For the next member of the oldest batch, in order: how many bytes at the front of `in`
    // are its VALUE block (0 for a miss). Consumes the member's key, not the bytes.
    size_t next_member_block(evbuffer* in);
    // The oldest batch's reply is fully handed out.
    void finish_oldest();
    // Connection lost: every batch is gone with it.
    void clear();

private:
    // What the multi-key line may hold, so the batch's reply stays a reasonable size.
    static constexpr uint32_t kMaxKeys = 100;
    static constexpr size_t kMaxLineBytes = 8 * 1024;

    std::string line_;          // "get k1 k2" being assembled, without its CRLF
    uint32_t assembling_ = 0;   // keys in line_
    std::string sent_keys_;     // keys of emitted batches awaiting replies, back to back
    size_t sent_keys_head_ = 0; // where the oldest awaiting key starts in sent_keys_
    RingQueue<uint32_t> sent_key_lengths_;
    RingQueue<uint32_t> sent_sizes_;  // members per emitted batch, oldest first
    std::string scratch_;             // a VALUE line copied out of the buffer
};

}  // namespace shardproxy::backends
