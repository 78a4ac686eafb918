#include "proxy/replica_read.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>

#include "backends/backend_connection.h"
#include "proxy/miss_write_back.h"
#include "proxy/reply_slot.h"
#include "proxy/worker.h"

namespace shardproxy::proxy {

ReplicaRead::ReplicaRead(Worker& worker, uint32_t pool, uint64_t client_id, const std::vector<uint32_t>& replicas,
                         std::string request, bool memcache)
    : FanOut(static_cast<uint32_t>(replicas.size())),
      worker_(worker),
      generation_(worker.generation()),
      pool_(pool),
      client_id_(client_id),
      replicas_(replicas),
      request_(std::move(request)),
      memcache_(memcache),
      answer_(evbuffer_new()) {}

ReplicaRead::~ReplicaRead() { evbuffer_free(answer_); }

void ReplicaRead::start(ReplySlot* slot, uint32_t child_base) {
    slot_ = slot;
    child_base_ = child_base;
    send_from(0);
}

void ReplicaRead::send_from(uint32_t next) {
    const uint64_t now = backends::monotonic_ms();
    // After a reload the replica numbers mean other servers: no further replica is asked.
    const bool reloaded = worker_.generation() != generation_;
    uint32_t child = next;
    for (; child < replicas_.size() && !reloaded; ++child) {
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
        backend.await_reply_until(slot_, child_base_ + child, std::max(share_end, now + 1));
        return;
    }
    // A miss is the answer once every replica in service has missed. A replica left unasked
    // because the time ran out (a starved worker reads a miss late) or a reload renumbered
    // the servers may hold the value: saying "miss" then would lose an acknowledged write.
    if (!missed_.empty() && child == replicas_.size()) {
        answered_ = true;
        return;
    }
    exhausted_ = true;
    const std::string prefix = memcache_ ? "SERVER_ERROR " : "ERR ";
    if (!missed_.empty()) {
        last_error_ = prefix + (reloaded ? "read cut short by a configuration reload" : "no replica answered in time");
    } else if (last_error_.empty()) {
        last_error_ = prefix + "no replica answered in time";
    }
}

void ReplicaRead::set_reply_bytes(uint32_t child, evbuffer* from, size_t length) {
    if (answered_ || exhausted_) {
        evbuffer_drain(from, length);
        return;
    }
    evbuffer_drain(answer_, evbuffer_get_length(answer_));
    evbuffer_remove_buffer(from, answer_, length);
    if (miss_failover_ && is_miss()) {
        // Kept as the answer in case no other replica has the key either.
        missed_.push_back(replicas_[child]);
        send_from(child + 1);
        return;
    }
    answered_ = true;
    if (!missed_.empty()) repair(replicas_[child]);
}

bool ReplicaRead::is_miss() const {
    const size_t length = evbuffer_get_length(answer_);
    char head[6] = {};
    evbuffer_copyout(answer_, head, sizeof(head));
    const std::string_view text(head, std::min(length, sizeof(head)));
    return memcache_ ? text == "END\r\n" : text == "$-1\r\n";
}

// The answer is a hit: "$N\r\n<value>\r\n", or "VALUE <key> <flags> <bytes>[ <cas>]\r\n<value>\r\nEND\r\n".
void ReplicaRead::repair(uint32_t source) {
    const size_t length = evbuffer_get_length(answer_);
    const char* bytes = reinterpret_cast<const char*>(evbuffer_pullup(answer_, -1));
    const std::string_view reply(bytes, length);
    const size_t eol = reply.find("\r\n");
    if (eol == std::string_view::npos) return;
    MissedRead read{pool_, client_id_, memcache_, key_, {}, 0, source, missed_};
    if (memcache_) {
        // The flags are the third token of the VALUE line; the data follows the line.
        const std::string_view line = reply.substr(0, eol);
        const size_t flags_at = line.find(' ', 6) + 1;
        std::from_chars(line.data() + flags_at, line.data() + line.size(), read.flags);
        const size_t data_end = reply.rfind("\r\nEND\r\n");
        if (data_end == std::string_view::npos || data_end < eol + 2) return;
        read.value.assign(reply.substr(eol + 2, data_end - eol - 2));
    } else {
        if (!reply.starts_with("$") || length < eol + 4) return;
        read.value.assign(reply.substr(eol + 2, length - eol - 4));
    }
    MissWriteBack::start(worker_, std::move(read));
}

void ReplicaRead::set_reply_object(uint32_t child, redisReply* reply) {
    freeReplyObject(reply);
    set_error(child, memcache_ ? "SERVER_ERROR backend reply in an unexpected form" : "ERR backend reply in an unexpected form");
}

void ReplicaRead::set_error(uint32_t child, std::string error) {
    if (answered_ || exhausted_) return;
    last_error_ = std::move(error);
    send_from(child + 1);  // a replica that missed before this one failed may have the answer
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

MultiReplicaRead::MultiReplicaRead(std::vector<std::unique_ptr<ReplicaRead>> keys, bool memcache, bool sum)
    : FanOut(static_cast<uint32_t>(keys.size())), keys_(std::move(keys)), memcache_(memcache), sum_(sum) {}

void MultiReplicaRead::start(ReplySlot* slot) {
    for (uint32_t k = 0; k < keys_.size(); ++k) keys_[k]->start(slot, k * kAttemptsPerKey);
}

void MultiReplicaRead::set_reply_object(uint32_t child, redisReply* reply) {
    keys_[child / kAttemptsPerKey]->set_reply_object(child % kAttemptsPerKey, reply);
}

void MultiReplicaRead::set_reply_bytes(uint32_t child, evbuffer* from, size_t length) {
    keys_[child / kAttemptsPerKey]->set_reply_bytes(child % kAttemptsPerKey, from, length);
}

void MultiReplicaRead::set_error(uint32_t child, std::string error) {
    keys_[child / kAttemptsPerKey]->set_error(child % kAttemptsPerKey, std::move(error));
}

bool MultiReplicaRead::ready() const {
    for (const auto& key : keys_) {
        if (!key->ready()) return false;
    }
    return true;
}

// Redis: "*N" and each key's reply (a key whose GET failed with an error reply, such as a key
// of another type, is nil, as MGET has it). memcached: each key's hit without its END, then one
// END. A key no replica could answer fails the whole read with its error.
void MultiReplicaRead::merge(evbuffer* out) {
    for (const auto& key : keys_) {
        if (!key->answered()) {
            key->merge(out);
            return;
        }
    }
    if (sum_) {
        // ":<n>" from each key; an error reply is the answer.
        int64_t total = 0;
        for (const auto& key : keys_) {
            evbuffer* answer = key->answer();
            std::string reply(evbuffer_get_length(answer), '\0');
            evbuffer_copyout(answer, reply.data(), reply.size());
            if (!reply.starts_with(":")) {
                evbuffer_add_buffer(out, answer);
                return;
            }
            total += std::stoll(reply.substr(1));
        }
        const std::string line = ":" + std::to_string(total) + "\r\n";
        evbuffer_add(out, line.data(), line.size());
        return;
    }
    if (!memcache_) {
        const std::string header = "*" + std::to_string(keys_.size()) + "\r\n";
        evbuffer_add(out, header.data(), header.size());
    }
    for (const auto& key : keys_) {
        evbuffer* answer = key->answer();
        const size_t length = evbuffer_get_length(answer);
        char first = 0;
        evbuffer_copyout(answer, &first, 1);
        if (!memcache_) {
            if (first == '-') {
                evbuffer_add(out, "$-1\r\n", 5);
            } else {
                evbuffer_add_buffer(out, answer);
            }
            continue;
        }
        if (length == 5 && first == 'E') continue;  // a miss: "END"
        if (first != 'V') {                         // an error line ends the reply
            evbuffer_add_buffer(out, answer);
            return;
        }
        evbuffer_remove_buffer(answer, out, length - 5);  // without its "END\r\n"
    }
    if (memcache_) evbuffer_add(out, "END\r\n", 5);
}

}  // namespace shardproxy::proxy
