#include "backends/server_health.h"

#include <hiredis/hiredis.h>

#include <algorithm>

#include "backends/backend_connection.h"

namespace shardproxy::backends {

ServerHealth::ServerHealth(event_base* base, const HealthSettings& settings, PoolHealth& pool,
                           ServerCounters& counters)
    : settings_(settings), pool_(&pool), counters_(counters), probe_timer_(evtimer_new(base, probe_cb, this)) {}

ServerHealth::~ServerHealth() {
    if (down_) counters_.down_workers.fetch_sub(1, std::memory_order_relaxed);
    event_free(probe_timer_);
}

void ServerHealth::move_to_pool(PoolHealth& pool) {
    if (down_) {
        --pool_->down;
        ++pool.down;
    }
    pool_ = &pool;
}

void ServerHealth::continue_outage_of(ServerHealth& previous) {
    if (!previous.down_ || down_ || pool_->down >= pool_->max_down) return;
    // The same outage: the workers that see it down stay counted once, and no new down is
    // counted or logged. `previous` only finishes what its connections still have in flight.
    previous.down_ = false;
    previous.handed_over_ = true;
    --previous.pool_->down;
    down_ = true;
    ++pool_->down;
    consecutive_failures_ = previous.consecutive_failures_;
    down_reason_ = std::move(previous.down_reason_);
    probe_delay_ms_ = settings_.probe_interval_ms;
    schedule_probe();
}

void ServerHealth::on_failure(std::string_view reason) {
    ServerCounters::bump(counters_.failures);
    if (down_ || handed_over_) return;
    // Past the pool's cap the server stays in service: a network blip must not empty the pool.
    if (++consecutive_failures_ >= settings_.failure_limit && pool_->down < pool_->max_down) mark_down(reason);
}

void ServerHealth::mark_down(std::string_view reason) {
    down_ = true;
    ++pool_->down;
    ServerCounters::bump(counters_.downs);
    counters_.down_workers.fetch_add(1, std::memory_order_relaxed);
    down_reason_ = "is down: " + std::to_string(consecutive_failures_) + " consecutive failures, last: ";
    down_reason_.append(reason);
    probe_delay_ms_ = settings_.probe_interval_ms;
    schedule_probe();
    if (on_change_) on_change_();
}

void ServerHealth::mark_up() {
    down_ = false;
    --pool_->down;
    consecutive_failures_ = 0;
    counters_.down_workers.fetch_sub(1, std::memory_order_relaxed);
    down_reason_.clear();
    if (on_change_) on_change_();
}

void ServerHealth::schedule_probe() {
    const timeval delay{static_cast<time_t>(probe_delay_ms_ / 1000),
                        static_cast<suseconds_t>((probe_delay_ms_ % 1000) * 1000)};
    evtimer_add(probe_timer_, &delay);
}

void ServerHealth::send_probe() {
    if (!down_ || probe_in_flight_) return;
    ServerCounters::bump(counters_.probes);
    if (probe_connection_ == nullptr || !probe_connection_->send_probe(this)) {
        probe_failed();  // no connection to send it on yet
        return;
    }
    probe_in_flight_ = true;
}

void ServerHealth::probe_failed() {
    probe_in_flight_ = false;
    ServerCounters::bump(counters_.probe_failures);
    if (!down_) return;
    probe_delay_ms_ = std::min(probe_delay_ms_ * 2, settings_.probe_max_interval_ms);
    schedule_probe();
}

// Any proper answer will do (PONG, VERSION ...); an error reply means the server is up but not
// serving (Redis loading its data, say), which is no better than silence.
void ServerHealth::on_reply_bytes(uint32_t, evbuffer* from, size_t length) {
    char head[12] = {};
    const size_t copied = std::min(length, sizeof(head));
    evbuffer_copyout(from, head, copied);
    evbuffer_drain(from, length);
    const std::string_view text(head, copied);
    const bool refused = text.starts_with("-") || text.starts_with("ERROR") ||
                         text.starts_with("SERVER_ERROR") || text.starts_with("CLIENT_ERROR");
    if (refused) {
        probe_failed();
        return;
    }
    probe_in_flight_ = false;
    if (down_) mark_up();
}

void ServerHealth::on_reply_object(uint32_t, redisReply* reply) {
    freeReplyObject(reply);
    probe_failed();
}

void ServerHealth::probe_cb(evutil_socket_t, short, void* self) { static_cast<ServerHealth*>(self)->send_probe(); }

}  // namespace shardproxy::backends
