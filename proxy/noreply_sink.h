#pragma once
// Where the replies to memcached noreply requests go. The proxy forwards such requests without
// "noreply", so the backend answers every request and its reply stream stays countable (a
// request that may or may not be answered would leave every later reply unmatched); those
// answers land here and are dropped, as the client asked.
#include <hiredis/hiredis.h>

#include "backends/reply_sink.h"
#include "proxy/proxy_stats.h"

namespace shardproxy::proxy {

class NoReplySink final : public backends::ReplySink {
public:
    explicit NoReplySink(WorkerStats& stats) : stats_(stats) {}

    backends::DirectReply claim_direct(uint32_t) override { return {}; }
    void on_reply_bytes(uint32_t, evbuffer* from, size_t length) override { evbuffer_drain(from, length); }
    void on_reply_object(uint32_t, redisReply* reply) override { freeReplyObject(reply); }
    // Nobody is waiting to hear it; the count is in the stats.
    void on_failure(uint32_t, std::string_view) override { stats_.bump_noreply_failures(); }
    void release() override {}

private:
    WorkerStats& stats_;
};

}  // namespace shardproxy::proxy
