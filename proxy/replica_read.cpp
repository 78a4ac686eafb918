#include "proxy/replica_read.h"

#include <hiredis/hiredis.h>

#include <algorithm>

#include "backends/backend_connection.h"
#include "proxy/reply_slot.h"
#include "proxy/worker.h"

namespace shardproxy::proxy {

ReplicaRead::ReplicaRead(Worker& worker, uint32_t pool, uint64_t client_id, const std::vector<uint32_t>& replicas,
                         std::string request, bool memcache)
    : FanOut(static_cast<uint32_t>(replicas.size())),
      worker_(worker),
      pool_(pool),
      client_id_(client_id),
      replicas_(replicas),
      request_(std::move(request)),
      memcache_(memcache),
      answer_(evbuffer_new()) {}

ReplicaRead::~ReplicaRead() { evbuffer_free(answer_); }

void ReplicaRead::start(ReplySlot* slot) {
    slot_ = slot;
    send_from(0);
}

void ReplicaRead::send_from(uint32_t next) {
    const uint64_t now = backends::monotonic_ms();
    for (uint32_t child = next; child < replicas_.size(); ++child) {
        backends::BackendConnection& backend = worker_.backend(pool_, replicas_[child], client_id_);
        if (start_ms_ == 0) {
            start_ms_ = now;
            timeout_ms_ = backend.timeout_ms();
        }
        const uint64_t share_end =
            start_ms_ + uint64_t{timeout_ms_} * (child + 1) / static_cast<uint64_t>(replicas_.size());
        if (now >= start_ms_ + timeout_ms_) break;  // the request's deadline has passed
        evbuffer* out = backend.request_buffer();
        if (out == nullptr) {
            last_error_ = backend.unavailable_error();
            continue;
        }
        if (child > 0) worker_.count_failover(pool_, replicas_[child - 1]);
        evbuffer_add(out, request_.data(), request_.size());
        slot_->add_ref();
        backend.await_reply_until(slot_, child, std::max(share_end, now + 1));
        return;
    }
    exhausted_ = true;
    if (last_error_.empty()) last_error_ = memcache_ ? "SERVER_ERROR no replica answered in time" : "ERR no replica answered in time";
}

void ReplicaRead::set_reply_bytes(uint32_t, evbuffer* from, size_t length) {
    if (answered_ || exhausted_) {
        evbuffer_drain(from, length);
        return;
    }
    evbuffer_remove_buffer(from, answer_, length);
    answered_ = true;
}

void ReplicaRead::set_reply_object(uint32_t child, redisReply* reply) {
    freeReplyObject(reply);
    set_error(child, memcache_ ? "SERVER_ERROR backend reply in an unexpected form" : "ERR backend reply in an unexpected form");
}

void ReplicaRead::set_error(uint32_t child, std::string error) {
    if (answered_ || exhausted_) return;
    last_error_ = std::move(error);
    send_from(child + 1);
}

void ReplicaRead::merge(evbuffer* out) {
    if (answered_) {
        evbuffer_add_buffer(out, answer_);
        return;
    }
    if (!memcache_) evbuffer_add(out, "-", 1);
    evbuffer_add(out, last_error_.data(), last_error_.size());
    evbuffer_add(out, "\r\n", 2);
}

}  // namespace shardproxy::proxy
