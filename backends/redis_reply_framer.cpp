#include "backends/redis_reply_framer.h"

#include <hiredis/hiredis.h>

#include <algorithm>

namespace shardproxy::backends {
namespace {

// Stand-in objects: the reader only needs non-null pointers to keep going.
void* frame_string(const redisReadTask*, char*, size_t) { return reinterpret_cast<void*>(1); }
void* frame_array(const redisReadTask*, int) { return reinterpret_cast<void*>(1); }
void* frame_integer(const redisReadTask*, long long) { return reinterpret_cast<void*>(1); }
void* frame_nil(const redisReadTask*) { return reinterpret_cast<void*>(1); }
void frame_free(void*) {}

redisReplyObjectFunctions framing_only = {frame_string, frame_array, frame_integer, frame_nil,
                                          frame_free};

size_t unconsumed(const redisReader* reader) { return reader->len - reader->pos; }

}  // namespace

RedisReplyFramer::RedisReplyFramer() : reader_(redisReaderCreate()) {
    // redisReaderCreate installs hiredis's own object builders; keep them for parsed replies.
    parsing_functions_ = reader_->fn;
}

RedisReplyFramer::~RedisReplyFramer() {
    reader_->fn = static_cast<redisReplyObjectFunctions*>(const_cast<void*>(parsing_functions_));
    redisReaderFree(reader_);
}

void RedisReplyFramer::reset() {
    reader_->fn = static_cast<redisReplyObjectFunctions*>(const_cast<void*>(parsing_functions_));
    redisReaderFree(reader_);
    reader_ = redisReaderCreate();
    unframed_bytes_ = 0;
    current_reply_bytes_ = 0;
}

void RedisReplyFramer::feed(evbuffer* in) {
    const size_t total = evbuffer_get_length(in);
    if (total <= unframed_bytes_) return;
    evbuffer_ptr start;
    evbuffer_ptr_set(in, &start, unframed_bytes_, EVBUFFER_PTR_SET);
    evbuffer_iovec chunks[16];
    size_t remaining = total - unframed_bytes_;
    while (remaining > 0) {
        const int count = evbuffer_peek(in, static_cast<ev_ssize_t>(remaining), &start, chunks, 16);
        size_t fed = 0;
        for (int i = 0; i < count && i < 16 && fed < remaining; ++i) {
            const size_t n = std::min(chunks[i].iov_len, remaining - fed);
            redisReaderFeed(reader_, static_cast<const char*>(chunks[i].iov_base), n);
            fed += n;
        }
        remaining -= fed;
        unframed_bytes_ += fed;
        evbuffer_ptr_set(in, &start, fed, EVBUFFER_PTR_ADD);
    }
}

RedisReplyFramer::Result RedisReplyFramer::next(bool parsed, size_t& length, redisReply*& object) {
    // Switching builders is safe here: a reply is always read whole with one kind of builder,
    // because next() is called with the same `parsed` until that reply completes.
    reader_->fn = parsed
        ? static_cast<redisReplyObjectFunctions*>(const_cast<void*>(parsing_functions_))
        : &framing_only;
    const size_t before = unconsumed(reader_);
    void* reply = nullptr;
    if (redisReaderGetReply(reader_, &reply) != REDIS_OK) return Result::protocol_error;
    // The reader consumes an array element by element, so a reply's bytes can be used up over
    // several calls.
    current_reply_bytes_ += before - unconsumed(reader_);
    if (reply == nullptr) return Result::need_more;
    length = current_reply_bytes_;
    current_reply_bytes_ = 0;
    unframed_bytes_ -= length;
    object = parsed ? static_cast<redisReply*>(reply) : nullptr;
    return Result::reply;
}

std::string_view RedisReplyFramer::error() const { return reader_->errstr; }

}  // namespace shardproxy::backends
