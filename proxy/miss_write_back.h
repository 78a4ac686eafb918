#pragma once
// miss_failover's repair: a read missed on some replicas and found the value on another. This
// asks that replica how long the key has left to live, then writes the value back, with that
// time to live, to the replicas that missed, so that a replica that restarted empty heals
// instead of serving misses. It runs after the client has its answer, and owns itself: it goes
// away when its last request is answered. Failures are counted, never reported to a client.
#include <cstdint>
#include <string>
#include <vector>

#include "backends/reply_sink.h"

namespace shardproxy::proxy {

class Worker;

struct MissedRead {
    uint32_t pool;
    uint64_t client_id;
    bool memcache;
    std::string key;
    std::string value;
    uint32_t flags = 0;          // memcached's client flags
    uint32_t source;             // the replica that had the value
    std::vector<uint32_t> missed;
};

class MissWriteBack final : public backends::ReplySink {
public:
    static void start(Worker& worker, MissedRead read);

    backends::DirectReply claim_direct(uint32_t) override { return {}; }
    void on_reply_bytes(uint32_t child, evbuffer* from, size_t length) override;
    void on_reply_object(uint32_t child, redisReply* reply) override;
    void on_failure(uint32_t child, std::string_view error) override;
    void release() override;

private:
    MissWriteBack(Worker& worker, MissedRead read);
    bool send(uint32_t server, const std::string& request, uint32_t child);
    void write_back(int64_t ttl);  // Redis: milliseconds; memcached: seconds; -1: none

    Worker& worker_;
    uint64_t generation_;  // the configuration whose server numbers read_ holds
    MissedRead read_;
    uint32_t pending_ = 0;
};

}  // namespace shardproxy::proxy
