#include "backends/write_batcher.h"

#include <event2/buffer.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>

namespace shardproxy::backends {
namespace {

// Chunks handed to one sendmsg; libevent's chunks are usually far fewer per write.
constexpr int kMaxChunks = 64;

// Writes what the socket takes now. sendmsg rather than libevent's writev: writev is a file
// operation and takes the file position lock (fdget_pos) that a socket does not need, a few
// percent of the proxy's time at one request per write. MSG_NOSIGNAL: a closed peer is an
// error to report, not a signal.
static_assert(sizeof(evbuffer_iovec) == sizeof(iovec), "libevent documents evbuffer_iovec as struct iovec");

ssize_t send_buffer(evbuffer* output, evutil_socket_t fd) {
    evbuffer_iovec chunks[kMaxChunks];
    const int count = evbuffer_peek(output, -1, nullptr, chunks, kMaxChunks);
    msghdr message{};
    message.msg_iov = reinterpret_cast<iovec*>(chunks);
    message.msg_iovlen = static_cast<size_t>(std::min(count, kMaxChunks));
    const ssize_t sent = sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent > 0) evbuffer_drain(output, static_cast<size_t>(sent));
    return sent;
}

}  // namespace

WriteBatcher::WriteBatcher(event_base* base) : event_(event_new(base, -1, 0, run_cb, this)) {}

WriteBatcher::~WriteBatcher() { event_free(event_); }

void WriteBatcher::schedule(Writer* writer) {
    if (writer->queued_) return;
    writer->queued_ = true;
    queue_.push_back(writer);
    // Active events run after those already due in this turn, so every read callback of the
    // turn has appended its bytes before anything is written.
    if (queue_.size() == 1) event_active(event_, EV_WRITE, 0);
}

void WriteBatcher::cancel(Writer* writer) {
    if (!writer->queued_) return;
    writer->queued_ = false;
    std::replace(queue_.begin(), queue_.end(), writer, static_cast<Writer*>(nullptr));
    std::replace(running_.begin(), running_.end(), writer, static_cast<Writer*>(nullptr));
}

void WriteBatcher::run_cb(evutil_socket_t, short, void* self) {
    auto* batcher = static_cast<WriteBatcher*>(self);
    batcher->running_.swap(batcher->queue_);
    // Index, not iterator: a flush may cancel writers further down the list.
    for (size_t i = 0; i < batcher->running_.size(); ++i) {
        Writer* writer = batcher->running_[i];
        if (writer == nullptr) continue;
        writer->queued_ = false;
        writer->flush_writes();
    }
    batcher->running_.clear();
}

void WriteBatcher::write_now(bufferevent* bev) {
    evbuffer* output = bufferevent_get_output(bev);
    if (evbuffer_get_length(output) == 0) return;
    // A socket bufferevent keeps its output's front frozen so only it drains the buffer; it
    // thaws it the same way around its own writes.
    evbuffer_unfreeze(output, 1);
    const ssize_t written = send_buffer(output, bufferevent_getfd(bev));
    evbuffer_freeze(output, 1);
    // On EAGAIN, or on a real error, the bufferevent takes over: it retries when writable, or
    // meets the error itself and reports it through the owner's event callback.
    if (written < 0 || evbuffer_get_length(output) > 0) bufferevent_enable(bev, EV_WRITE);
}

void WriteBatcher::write_drained(bufferevent* bev) {
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) bufferevent_disable(bev, EV_WRITE);
}

}  // namespace shardproxy::backends
