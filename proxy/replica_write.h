#pragma once
// One write sent to every replica of its key, answered by the write policy:
//   all     after every replica answered; any failure is the client's error, naming the server
//   quorum  once a majority succeeded (or can no longer succeed)
//   one     at the first success (or once every replica failed)
// The client gets the reply of the first replica that succeeded, byte for byte. Replicas that
// answer after the client was answered still complete; their failures are counted.
#include <event2/buffer.h>

#include <optional>
#include <string>
#include <vector>

#include "conf/config.h"
#include "proxy/fan_out.h"
#include "proxy/memcache_request_parser.h"
#include "proxy/proxy_stats.h"

namespace shardproxy::proxy {

class ReplicaWrite final : public FanOut {
public:
    // `memcache`: how error replies look (SERVER_ERROR ... rather than -ERR ...).
    ReplicaWrite(conf::WritePolicy policy, uint32_t replicas, bool memcache, WorkerStats& stats);
    ~ReplicaWrite() override;

    // The server of a child, for the error that names it.
    void set_label(uint32_t child, const std::string& label) { labels_[child] = &label; }
    // memcached quiet mode (q): the answer is withheld where memcached would withhold it.
    void set_quiet(MemcacheCommand command) { quiet_ = command; }

    void set_reply_object(uint32_t child, redisReply* reply) override;
    void set_reply_bytes(uint32_t child, evbuffer* from, size_t length) override;
    void set_error(uint32_t child, std::string error) override;
    bool ready() const override;
    void merge(evbuffer* out) override;

private:
    void fail(uint32_t child, std::string error);

    conf::WritePolicy policy_;
    bool memcache_;
    WorkerStats& stats_;
    uint32_t successes_ = 0;
    uint32_t failures_ = 0;
    bool merged_ = false;
    evbuffer* answer_ = nullptr;  // the first replica's reply, else the first success's
    bool answer_from_first_ = false;
    std::optional<MemcacheCommand> quiet_;
    std::string first_error_;
    std::vector<const std::string*> labels_;
};

}  // namespace shardproxy::proxy
