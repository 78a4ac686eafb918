#pragma once
// A memcached request split over the servers of a pool: a multi-key get whose keys live on
// several servers (one get per server, the hits put back in the client's key order under a
// single END), or a flush_all sent to every server (OK once all said OK). Children's replies
// arrive as raw bytes, as framed by MemcacheReplyFramer.
//
// As with Redis MGET, one failed part fails the whole request with that part's error: a
// partial answer would read as misses for keys that may well be cached.
#include <event2/buffer.h>

#include <string>
#include <string_view>
#include <vector>

#include "proxy/fan_out.h"

namespace shardproxy::proxy {

class MemcacheFanOut final : public FanOut {
public:
    enum class Merge { values_in_key_order, all_ok };

    MemcacheFanOut(Merge rule, uint32_t children);
    ~MemcacheFanOut() override;

    // values_in_key_order: the client's next key, and the child it was sent to.
    void add_key(std::string_view key, uint32_t child);

    void set_reply_object(uint32_t child, redisReply* reply) override;
    void set_reply_bytes(uint32_t child, evbuffer* from, size_t length) override;
    void set_error(uint32_t child, std::string error) override;
    void merge(evbuffer* out) override;

private:
    struct Child {
        evbuffer* reply = nullptr;
        std::string error;  // set when the backend could not answer
    };
    struct KeyOrigin {
        uint32_t child;
        uint32_t key_offset;
        uint32_t key_length;
    };

    Merge rule_;
    std::vector<Child> children_;
    std::string keys_;  // the client's keys, back to back (the request bytes are gone by now)
    std::vector<KeyOrigin> key_origins_;
};

}  // namespace shardproxy::proxy
