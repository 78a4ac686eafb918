#pragma once
// Finds where each Redis reply ends in a backend's byte stream, without copying it, so replies
// can be forwarded byte for byte. (Replies that a fan-out must merge are parsed afterwards, by
// redis_reply_parser.h.)
//
// Framing is our own small scanner rather than hiredis's reader: the reader in Debian's hiredis
// (0.14) refuses arrays nested more than 7 deep ("No support for nested multi bulk replies"),
// which a client can provoke with EVAL, and a framing failure would cost every request in
// flight on the connection. The scanner has no depth limit, and it resumes where it stopped
// instead of copying the stream into a second buffer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "backends/reply_framer.h"

namespace shardproxy::backends {

class RedisReplyFramer final : public ReplyFramer {
public:
    Result next(evbuffer* in, size_t offset, size_t& length) override;
    const std::string& error() const override { return error_; }
    void reset() override;

private:
    size_t scanned_ = 0;          // bytes of the current reply already scanned
    size_t line_checked_ = 0;     // bytes of an unfinished line already searched for its end
    std::vector<int64_t> open_;   // elements still due in each open array, innermost last
    std::string error_;
};

}  // namespace shardproxy::backends
