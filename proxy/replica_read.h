#pragma once
// A read that fails over between replicas: sent to the first replica in service; a connection
// error or a timeout there sends it to the next replica, all within the request's deadline
// (timeout_ms from the first send). So that a timeout still leaves time to try again, the n
// replicas share it: attempt i must be answered by start + timeout_ms * (i + 1) / n (a replica
// skipped because it is down leaves its share to the next). The client gets the first reply,
// byte for byte (an error reply from a server is a reply: it is the data's answer, not the
// server's failure), or, once no replica is left or the time is up, the last failure. With
// miss_failover a miss moves on too, and is the answer only once every replica in service
// has been asked; a miss with replicas left unasked (the time ran out, a reload) is an error.
#include <event2/buffer.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/fan_out.h"

namespace shardproxy::proxy {

class ReplySlot;
class Worker;

class ReplicaRead final : public FanOut {
public:
    // `request`: the bytes to send to each replica in turn. `replicas`: the key's replica set,
    // most preferred first.
    ReplicaRead(Worker& worker, uint32_t pool, uint64_t client_id, const std::vector<uint32_t>& replicas,
                std::string request, bool memcache);
    ~ReplicaRead() override;

    // Sends the first attempt; the slot is the sink every attempt answers. Attempt i is sent as
    // child child_base + i (a multi-key read numbers its keys' attempts apart).
    void start(ReplySlot* slot, uint32_t child_base = 0);
    bool answered() const { return answered_; }
    evbuffer* answer() { return answer_; }
    // miss_failover: a miss (Redis GET's nil, memcached get's bare END) also moves on to the
    // next replica, and a value found after misses is written back to the replicas that missed
    // (proxy/miss_write_back.h). `key` is the key read.
    void fail_over_misses(std::string_view key) {
        miss_failover_ = true;
        key_ = key;
    }

    void set_reply_object(uint32_t child, redisReply* reply) override;
    void set_reply_bytes(uint32_t child, evbuffer* from, size_t length) override;
    void set_error(uint32_t child, std::string error) override;
    bool ready() const override { return answered_ || exhausted_; }
    void merge(evbuffer* out) override;

private:
    // Sends to the replicas from `next` on, skipping those that cannot take it now.
    void send_from(uint32_t next);
    bool is_miss() const;
    void repair(uint32_t source);

    Worker& worker_;
    uint64_t generation_;  // pool_ and replicas_ number the servers of this configuration
    uint32_t pool_;
    uint64_t client_id_;
    std::vector<uint32_t> replicas_;
    std::string request_;
    bool memcache_;
    ReplySlot* slot_ = nullptr;
    uint32_t child_base_ = 0;
    uint64_t start_ms_ = 0;
    uint32_t timeout_ms_ = 0;
    bool answered_ = false;
    bool miss_failover_ = false;
    std::string key_;
    std::vector<uint32_t> missed_;
    bool exhausted_ = false;
    evbuffer* answer_;
    std::string last_error_;
};

// A read of several keys in a pool with replicas (MGET, a memcached get of several keys): one
// ReplicaRead per key, each failing over on its own, their answers joined as the client's one
// reply. Keys' attempts are numbered apart as children key * kAttemptsPerKey + attempt.
class MultiReplicaRead final : public FanOut {
public:
    static constexpr uint32_t kAttemptsPerKey = 64;  // at least the largest replica count

    // `sum`: the keys' integer replies are added up (EXISTS, TOUCH) rather than listed (MGET).
    MultiReplicaRead(std::vector<std::unique_ptr<ReplicaRead>> keys, bool memcache, bool sum = false);
    void start(ReplySlot* slot);

    void set_reply_object(uint32_t child, redisReply* reply) override;
    void set_reply_bytes(uint32_t child, evbuffer* from, size_t length) override;
    void set_error(uint32_t child, std::string error) override;
    bool ready() const override;
    void merge(evbuffer* out) override;

private:
    std::vector<std::unique_ptr<ReplicaRead>> keys_;
    bool memcache_;
    bool sum_;
};

}  // namespace shardproxy::proxy
