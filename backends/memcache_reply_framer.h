#pragma once
// Finds where each memcached reply ends in a backend's byte stream, without copying it, so
// replies can be forwarded byte for byte. Text and meta protocols; replies are lines ended by
// CRLF:
//
//   VALUE <key> <flags> <bytes> [<cas>]   then <bytes> of data and CRLF; the reply goes on
//                                         (get, gets, gat, gats: up to END, or an error line)
//   VA <bytes> <flags>*                   then <bytes> of data and CRLF; the reply ends (mg, ma)
//   any other line                        ends the reply (END, STORED, HD, EN, a number from
//                                         incr, ERROR, CLIENT_ERROR ..., SERVER_ERROR ..., ...)
//
// Multi-line replies that are not VALUE blocks (stats, lru_crawler metadump) are never
// forwarded, so they need no framing. An empty line, a bare LF, a CR inside a line, a line
// longer than 64 KiB, an unreadable data length or a data block not followed by CRLF is a
// protocol error: the stream cannot be trusted any more.
//
// The scanner resumes where it stopped: bytes of an unfinished line are searched for its end
// once however slowly they arrive, and a data block is skipped over, never searched.
#include <cstddef>
#include <cstdint>
#include <string>

#include "backends/reply_framer.h"

namespace shardproxy::backends {

class MemcacheReplyFramer final : public ReplyFramer {
public:
    Result next(evbuffer* in, size_t offset, size_t& length) override;
    const std::string& error() const override { return error_; }
    void reset() override;

    // Bytes searched for line ends so far, over all replies: each line byte once, data blocks
    // never. For tests that the work stays linear however the stream is cut.
    uint64_t bytes_searched() const { return searched_; }

private:
    Result fail(std::string error);

    size_t scanned_ = 0;       // bytes of the current reply already scanned
    size_t line_checked_ = 0;  // bytes of an unfinished line already searched for its end
    uint64_t block_ = 0;       // a data block (with its CRLF) due at scanned_; 0 when none
    bool block_ends_reply_ = false;  // the due block follows "VA", not "VALUE"
    bool failed_ = false;            // after a protocol error, until reset()
    uint64_t searched_ = 0;
    std::string error_;
};

}  // namespace shardproxy::backends
