#pragma once
// Finds where each reply ends in a backend's byte stream, so a backend connection can match
// replies to requests in send order and forward them without copying. One implementation per
// backend protocol (redis_reply_framer.h, memcache_reply_framer.h).
#include <event2/buffer.h>

#include <cstddef>
#include <string>

namespace shardproxy::backends {

class ReplyFramer {
public:
    virtual ~ReplyFramer() = default;

    enum class Result { reply, need_more, protocol_error };

    // The reply that starts `offset` bytes into `in`: its length in bytes once complete. The
    // next reply starts right after it; while a reply is incomplete, callers keep asking with
    // the same start, and the framer resumes where it stopped.
    virtual Result next(evbuffer* in, size_t offset, size_t& length) = 0;
    // After protocol_error: what was wrong, for the log and the failed requests' error.
    virtual const std::string& error() const = 0;
    // Forget a partly scanned reply, for a new connection.
    virtual void reset() = 0;
};

}  // namespace shardproxy::backends
