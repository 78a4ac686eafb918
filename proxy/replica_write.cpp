#include "proxy/replica_write.h"

#include <hiredis/hiredis.h>

namespace shardproxy::proxy {
namespace {

bool is_error_reply(evbuffer* from, size_t length, bool memcache) {
    char head[13] = {};
    const size_t copied = std::min(length, sizeof(head));
    evbuffer_copyout(from, head, copied);
    const std::string_view text(head, copied);
    if (!memcache) return text.starts_with("-");
    return text.starts_with("ERROR") || text.starts_with("SERVER_ERROR") || text.starts_with("CLIENT_ERROR");
}

}  // namespace

ReplicaWrite::ReplicaWrite(conf::WritePolicy policy, uint32_t replicas, bool memcache, WorkerStats& stats)
    : FanOut(replicas), policy_(policy), memcache_(memcache), stats_(stats), labels_(replicas, nullptr) {}

ReplicaWrite::~ReplicaWrite() {
    if (answer_ != nullptr) evbuffer_free(answer_);
}

void ReplicaWrite::set_reply_object(uint32_t child, redisReply* reply) {
    freeReplyObject(reply);
    fail(child, memcache_ ? "SERVER_ERROR backend reply in an unexpected form" : "ERR backend reply in an unexpected form");
}

void ReplicaWrite::set_reply_bytes(uint32_t child, evbuffer* from, size_t length) {
    if (is_error_reply(from, length, memcache_)) {
        std::string line(length, '\0');
        evbuffer_remove(from, line.data(), length);
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
        if (!memcache_ && line.starts_with("-")) line.erase(0, 1);
        const std::string& label = labels_[child] != nullptr ? *labels_[child] : std::string();
        // The error names the replica that refused the write.
        const std::string prefix = memcache_ ? "SERVER_ERROR backend " : "ERR backend ";
        fail(child, prefix + label + " refused the write: " + line);
        return;
    }
    ++successes_;
    count_answer();
    // The first replica's answer is the one to give (a memcached cas or incr may answer
    // differently on a replica); another's only until the first replica's arrives.
    const bool take = !merged_ && (answer_ == nullptr || (child == 0 && !answer_from_first_));
    if (!take) {
        evbuffer_drain(from, length);
        return;
    }
    if (answer_ == nullptr) answer_ = evbuffer_new();
    evbuffer_drain(answer_, evbuffer_get_length(answer_));
    evbuffer_remove_buffer(from, answer_, length);
    answer_from_first_ = child == 0;
}

void ReplicaWrite::set_error(uint32_t child, std::string error) { fail(child, std::move(error)); }

void ReplicaWrite::fail(uint32_t, std::string error) {
    ++failures_;
    count_answer();
    if (merged_) {
        stats_.bump_background_write_failures();  // nobody is waiting to hear it
        return;
    }
    if (first_error_.empty()) first_error_ = std::move(error);
}

bool ReplicaWrite::ready() const {
    if (merged_) return false;
    const uint32_t replicas = children();
    switch (policy_) {
    case conf::WritePolicy::all:
        return complete();
    case conf::WritePolicy::quorum: {
        const uint32_t majority = replicas / 2 + 1;
        return successes_ >= majority || failures_ > replicas - majority;
    }
    case conf::WritePolicy::one:
        return successes_ >= 1 || failures_ == replicas;
    }
    return complete();
}

void ReplicaWrite::merge(evbuffer* out) {
    merged_ = true;
    const bool succeeded = policy_ == conf::WritePolicy::all ? failures_ == 0 : answer_ != nullptr &&
                           (policy_ == conf::WritePolicy::one || successes_ >= children() / 2 + 1);
    if (succeeded && answer_ != nullptr) {
        if (quiet_) {
            char head[64];
            const size_t copied = static_cast<size_t>(evbuffer_copyout(answer_, head, sizeof(head)));
            std::string_view line(head, copied);
            line = line.substr(0, line.find("\r\n"));
            if (meta_quiet_withholds(*quiet_, line)) return;
        }
        evbuffer_add_buffer(out, answer_);
        return;
    }
    const std::string& error = first_error_.empty() ? std::string(memcache_ ? "SERVER_ERROR no replica answered"
                                                                            : "ERR no replica answered")
                                                    : first_error_;
    if (!memcache_) evbuffer_add(out, "-", 1);
    evbuffer_add(out, error.data(), error.size());
    evbuffer_add(out, "\r\n", 2);
}

}  // namespace shardproxy::proxy
