#include "backends/backend_connection.h"

#include "backends/memcache_reply_framer.h"
#include "backends/redis_reply_framer.h"
#include "backends/socket_reader.h"

#include <event2/buffer.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace shardproxy::backends {
namespace {

constexpr uint32_t kFirstRetryDelayMs = 50;
constexpr uint32_t kMaxRetryDelayMs = 1000;
// A backend that has left its oldest request unanswered this long past the deadline is taken
// for hung, and the connection is replaced.
constexpr uint64_t kMinStuckGraceMs = 1000;
// One recv per readiness event takes up to this much. Larger reads are not cheaper: libevent
// rounds a chunk up to the next power of two, and glibc hands chunks of 64 KiB and more back
// to the kernel when they are freed (madvise), so every read would fault its pages in again.
constexpr size_t kReadBytes = 16 * 1024;

}  // namespace

uint64_t monotonic_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

namespace {

std::unique_ptr<ReplyFramer> make_framer(BackendProtocol protocol) {
    if (protocol == BackendProtocol::memcache) return std::make_unique<MemcacheReplyFramer>();
    return std::make_unique<RedisReplyFramer>();
}

// Bytes leave the output buffer only by being written to the socket, whoever writes them (the
// batched write or the bufferevent finishing what the socket could not take at once).
void count_sent(evbuffer*, const evbuffer_cb_info* info, void* traffic) {
    static_cast<ServerTraffic*>(traffic)->bytes_sent.add(info->n_deleted);
}

timeval to_timeval(uint64_t ms) {
    return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

}  // namespace

std::string resp_command(std::initializer_list<std::string_view> args) {
    std::string text = "*" + std::to_string(args.size()) + "\r\n";
    for (std::string_view arg : args) {
        text.append("$").append(std::to_string(arg.size())).append("\r\n").append(arg).append("\r\n");
    }
    return text;
}

BackendConnection::BackendConnection(event_base* base, WriteBatcher& writes,
                                     const BackendEndpoint& endpoint, ServerHealth& health, ServerTraffic& traffic)
    : base_(base),
      writes_(writes),
      endpoint_(endpoint),
      health_(health),
      traffic_(traffic),
      input_(evbuffer_new()),
      deadline_timer_(evtimer_new(base, deadline_cb, this)),
      retry_timer_(evtimer_new(base, retry_cb, this)),
      framer_(make_framer(endpoint.protocol)),
      batch_part_(evbuffer_new()),
      retry_delay_ms_(kFirstRetryDelayMs),
      timeout_error_(error_text("timed out")) {
    prepare_handshake();
    connect();
}

void BackendConnection::prepare_handshake() {
    if (endpoint_.protocol != BackendProtocol::redis) return;
    if (!endpoint_.auth_password.empty()) {
        handshake_ += endpoint_.auth_user.empty()
                          ? resp_command({"AUTH", endpoint_.auth_password})
                          : resp_command({"AUTH", endpoint_.auth_user, endpoint_.auth_password});
        handshake_steps_.emplace_back("AUTH");
    }
    if (endpoint_.db != 0) {
        const std::string db = std::to_string(endpoint_.db);
        handshake_ += resp_command({"SELECT", db});
        handshake_steps_.push_back("SELECT " + db);
    }
}

BackendConnection::~BackendConnection() {
    writes_.cancel(this);
    fail_all_waiting(error_text("connection closed: proxy shutting down"));
    close_socket();
    evbuffer_free(input_);
    evbuffer_free(batch_part_);
    event_free(deadline_timer_);
    event_free(retry_timer_);
}

void BackendConnection::connect() {
    bev_ = bufferevent_socket_new(base_, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev_, nullptr, write_cb, event_cb, this);
    evbuffer_add_cb(bufferevent_get_output(bev_), count_sent, &traffic_);
    // Writability tells when the connect completes; once connected, requests are written by
    // flush_writes at the end of each loop turn.
    bufferevent_enable(bev_, EV_WRITE);
    // The write timeout bounds the connect; it is lifted once connected.
    const timeval connect_timeout = to_timeval(endpoint_.timeout_ms);
    bufferevent_set_timeouts(bev_, nullptr, &connect_timeout);
    state_ = State::connecting;
    queue_handshake();
    if (bufferevent_socket_connect(bev_, const_cast<sockaddr*>(endpoint_.address.get()),
                                   static_cast<int>(endpoint_.address.length)) != 0) {
        fail(std::string("connect failed: ") + std::strerror(errno));
    }
}

// Goes out first once connected, since the queue is empty until the connect begins.
void BackendConnection::queue_handshake() {
    handshake_answered_ = 0;
    if (handshake_steps_.empty()) return;
    evbuffer_add(bufferevent_get_output(bev_), handshake_.data(), handshake_.size());
    const uint64_t deadline = monotonic_ms() + endpoint_.timeout_ms;
    for (size_t i = 0; i < handshake_steps_.size(); ++i) {
        waiting_.push_back(Waiting{nullptr, 0, false, false, deadline, true});
    }
    arm_deadline_timer();
}

evbuffer* BackendConnection::request_buffer() {
    if (!available()) return nullptr;
    evbuffer* out = bufferevent_get_output(bev_);
    // Whatever is written next follows the gets assembled so far, as its reply will.
    get_batch_.emit(out);
    return out;
}

void BackendConnection::await_reply(ReplySink* sink, uint32_t child, bool parsed) {
    push_waiting(sink, child, parsed, false, monotonic_ms() + endpoint_.timeout_ms);
}

void BackendConnection::await_reply_until(ReplySink* sink, uint32_t child, uint64_t deadline_ms) {
    push_waiting(sink, child, false, false, deadline_ms);
}

bool BackendConnection::send_batched_get(std::string_view command, std::string_view key, ReplySink* sink) {
    if (!available()) return false;
    if (!get_batch_.accepts(command, key)) get_batch_.emit(bufferevent_get_output(bev_));
    get_batch_.add(command, key);
    push_waiting(sink, 0, false, true, monotonic_ms() + endpoint_.timeout_ms);
    return true;
}

const std::string& BackendConnection::unavailable_error() {
    if (!health_.down()) return unavailable_error_;
    health_.count_refused();  // a request is being refused because of it
    traffic_.errors.bump();
    down_error_ = error_text(health_.down_reason());
    return down_error_;
}

bool BackendConnection::send_probe(ReplySink* sink) {
    if (state_ == State::down) return false;
    evbuffer* out = bufferevent_get_output(bev_);
    get_batch_.emit(out);
    if (endpoint_.protocol == BackendProtocol::memcache) {
        evbuffer_add(out, "version\r\n", 9);
    } else {
        evbuffer_add(out, "PING\r\n", 6);
    }
    push_waiting(sink, 0, false, false, monotonic_ms() + endpoint_.timeout_ms);
    return true;
}

void BackendConnection::push_waiting(ReplySink* sink, uint32_t child, bool parsed, bool batched, uint64_t deadline) {
    waiting_.push_back(Waiting{sink, child, parsed, batched, deadline, false, loop_turn_us(base_)});
    traffic_.requests.bump();
    // While connecting, the bufferevent sends what is queued as soon as the connect completes;
    // an assembled get still has to be put in the queue at the end of the turn.
    if (state_ == State::connected || batched) writes_.schedule(this);
    // The timer may be set for a later moment (the hung-backend check of a timed-out request).
    if (!evtimer_pending(deadline_timer_, nullptr) || deadline < timer_due_ms_) arm_deadline_timer();
}

void BackendConnection::arm_deadline_timer() {
    uint64_t when = 0;
    if (waiting_.size() > timed_out_) {
        when = waiting_[timed_out_].deadline_ms;
    } else if (!waiting_.empty()) {
        when = waiting_.front().deadline_ms +
               std::max<uint64_t>(4ull * endpoint_.timeout_ms, kMinStuckGraceMs);
    } else {
        evtimer_del(deadline_timer_);
        return;
    }
    const uint64_t now = monotonic_ms();
    const timeval delay = to_timeval(when > now ? when - now : 0);
    evtimer_add(deadline_timer_, &delay);
    timer_due_ms_ = when;
}

void BackendConnection::on_deadline() {
    const uint64_t now = monotonic_ms();
    while (timed_out_ < waiting_.size() && waiting_[timed_out_].deadline_ms <= now) {
        Waiting& entry = waiting_[timed_out_];
        if (entry.handshake) {
            // Requests behind it would go to a connection in the wrong state: start over.
            fail(handshake_steps_[handshake_answered_] + " unanswered for " +
                 std::to_string(endpoint_.timeout_ms) + " ms");
            return;
        }
        ReplySink* sink = entry.sink;
        entry.sink = nullptr;
        ++timed_out_;
        traffic_.timeouts.bump();
        health_.on_failure("timed out");
        sink->on_failure(entry.child, timeout_error_);
        sink->release();
    }
    if (timed_out_ > 0 &&
        now >= waiting_.front().deadline_ms +
                   std::max<uint64_t>(4ull * endpoint_.timeout_ms, kMinStuckGraceMs)) {
        fail("no reply for " + std::to_string(now - waiting_.front().deadline_ms +
                                              endpoint_.timeout_ms) + " ms");
        return;
    }
    arm_deadline_timer();
}

void BackendConnection::on_read() {
    // The server is answering, unless it is refusing the handshake.
    if (!handshaking()) health_.on_reply();
    evbuffer* in = input_;
    const uint64_t now_us = loop_turn_us(base_);
    // Replies claimed for one client buffer accumulate at the front of `in` and move together.
    DirectRun run;
    while (true) {
        if (waiting_.empty()) {
            flush_run(in, run);
            if (evbuffer_get_length(in) > 0) fail("backend sent a reply nobody asked for");
            break;
        }
        const Waiting entry = waiting_.front();
        // Anything but a claimable reply is handled at the front of the buffer.
        if (entry.parsed || entry.batched || entry.sink == nullptr) flush_run(in, run);
        size_t length = 0;
        const auto result = framer_->next(in, run.bytes, length);
        if (result == ReplyFramer::Result::need_more) break;
        if (result == ReplyFramer::Result::protocol_error) {
            flush_run(in, run);  // replies claimed before the bad one are whole: deliver them
            fail("protocol error in reply: " + framer_->error());
            return;
        }
        if (entry.handshake) {
            waiting_.pop_front();
            if (!accept_handshake_reply(in, length)) return;
            continue;
        }
        if (entry.batched) {
            if (get_batch_.oldest_members() == 0) {
                fail("backend sent a reply nobody asked for");
                return;
            }
            deliver_batch(in, length, now_us);
            continue;
        }
        waiting_.pop_front();
        if (entry.sink == nullptr) {
            // The late reply of a request that was already answered with a timeout.
            --timed_out_;
            evbuffer_drain(in, length);
            continue;
        }
        traffic_.latency.observe_interval(entry.sent_us, now_us);
        if (entry.parsed) {
            if (!parser_) parser_ = std::make_unique<RedisReplyParser>();
            redisReply* object = parser_->parse(in, 0, length);
            evbuffer_drain(in, length);
            if (object != nullptr) {
                entry.sink->on_reply_object(entry.child, object);
            } else {
                traffic_.errors.bump();
                entry.sink->on_failure(entry.child,
                                       error_text("reply: " + std::string(RedisReplyParser::error())));
            }
            entry.sink->release();
            continue;
        }
        const DirectReply direct = entry.sink->claim_direct(entry.child);
        if (direct.out != nullptr) {
            if (direct.out != run.target.out) {
                flush_run(in, run);
                run.target = direct;
            }
            run.bytes += length;
        } else {
            flush_run(in, run);
            entry.sink->on_reply_bytes(entry.child, in, length);
        }
        entry.sink->release();
    }
    flush_run(in, run);
    if (waiting_.empty()) evtimer_del(deadline_timer_);
}

bool BackendConnection::accept_handshake_reply(evbuffer* in, size_t length) {
    const std::string& step = handshake_steps_[handshake_answered_++];
    char type = 0;
    evbuffer_copyout(in, &type, 1);
    if (type == '-') {
        std::string reply(length - 3, '\0');  // without the '-' and the line end
        evbuffer_drain(in, 1);
        evbuffer_copyout(in, reply.data(), reply.size());
        const std::string reason = "refused " + step + ": " + reply;
        fail(reason, error_text(reason));
        return false;
    }
    evbuffer_drain(in, length);
    if (!handshaking()) health_.on_reply();
    return true;
}

// The reply at the front of `in` answers the oldest multi-key get: each member gets its VALUE
// block and an END, or just an END, or, when memcached refused the whole get, its error line.
void BackendConnection::deliver_batch(evbuffer* in, size_t length, uint64_t now_us) {
    static constexpr std::string_view kEnd = "END\r\n";
    const uint32_t members = get_batch_.oldest_members();
    std::string error;
    char first[5];
    if (evbuffer_copyout(in, first, sizeof(first)) == static_cast<ev_ssize_t>(sizeof(first)) &&
        std::string_view(first, 5) != "VALUE" && std::string_view(first, 5) != kEnd) {
        error.resize(length - 2);
        evbuffer_copyout(in, error.data(), error.size());
    }
    size_t left = length;
    for (uint32_t i = 0; i < members; ++i) {
        const Waiting entry = waiting_.front();
        waiting_.pop_front();
        const size_t block = error.empty() ? get_batch_.next_member_block(in) : 0;
        if (!error.empty()) get_batch_.next_member_block(in);  // consumes the key
        left -= block;
        if (entry.sink == nullptr) {  // timed out already
            --timed_out_;
            evbuffer_drain(in, block);
            continue;
        }
        traffic_.latency.observe_interval(entry.sent_us, now_us);
        if (!error.empty()) {
            entry.sink->on_failure(entry.child, error);
        } else if (const DirectReply direct = entry.sink->claim_direct(entry.child); direct.out != nullptr) {
            evbuffer_remove_buffer(in, direct.out, block);
            evbuffer_add(direct.out, kEnd.data(), kEnd.size());
            direct.stream->on_direct_replies_appended();
        } else {
            evbuffer_remove_buffer(in, batch_part_, block);
            evbuffer_add(batch_part_, kEnd.data(), kEnd.size());
            entry.sink->on_reply_bytes(entry.child, batch_part_, block + kEnd.size());
        }
        entry.sink->release();
    }
    evbuffer_drain(in, left);  // the END of the multi-key get, or the error line
    get_batch_.finish_oldest();
}

void BackendConnection::flush_run(evbuffer* in, DirectRun& run) {
    if (run.bytes == 0) return;
    evbuffer_remove_buffer(in, run.target.out, run.bytes);
    run.bytes = 0;
    ReplyStream* stream = run.target.stream;
    run.target = DirectReply{};
    stream->on_direct_replies_appended();
}

void BackendConnection::on_event(short what) {
    if (what & BEV_EVENT_CONNECTED) {
        state_ = State::connected;
        retry_delay_ms_ = kFirstRetryDelayMs;
        bufferevent_set_timeouts(bev_, nullptr, nullptr);
        WriteBatcher::write_drained(bev_);
        // Reading is ours, one recv per readiness event (backends/socket_reader.h).
        read_event_ = event_new(base_, bufferevent_getfd(bev_), EV_READ | EV_PERSIST, readable_cb, this);
        event_add(read_event_, nullptr);
        if (endpoint_.address.family() != AF_UNIX) {
            const int one = 1;
            setsockopt(bufferevent_getfd(bev_), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        fail("connect timed out");
    } else if (what & BEV_EVENT_EOF) {
        fail("closed by the backend");
    } else {
        const int err = EVUTIL_SOCKET_ERROR();
        fail(err != 0 ? evutil_socket_error_to_string(err) : "socket error");
    }
}

void BackendConnection::flush_writes() {
    if (state_ == State::down) return;
    get_batch_.emit(bufferevent_get_output(bev_));
    if (state_ == State::connected) WriteBatcher::write_now(bev_);
}

void BackendConnection::fail(const std::string& reason) {
    fail(reason, error_text((state_ == State::connected ? "connection lost: " : "connection failed: ") + reason));
}

void BackendConnection::fail(const std::string& reason, const std::string& error) {
    writes_.cancel(this);
    close_socket();
    framer_->reset();
    get_batch_.clear();
    state_ = State::down;
    unavailable_error_ = error_text("is unavailable: " + reason);
    health_.on_failure(reason);
    fail_all_waiting(error);
    evtimer_del(deadline_timer_);
    const timeval delay = to_timeval(retry_delay_ms_);
    evtimer_add(retry_timer_, &delay);
    retry_delay_ms_ = std::min(retry_delay_ms_ * 2, kMaxRetryDelayMs);
}

void BackendConnection::fail_all_waiting(const std::string& error) {
    // Detach the queue first: a sink's callbacks may not see half-failed state.
    RingQueue<Waiting> failed;
    std::swap(failed, waiting_);
    timed_out_ = 0;
    for (size_t i = 0; i < failed.size(); ++i) {
        const Waiting& entry = failed[i];
        if (entry.sink == nullptr) continue;
        if (!entry.handshake) traffic_.errors.bump();
        entry.sink->on_failure(entry.child, error);
        entry.sink->release();
    }
}

void BackendConnection::on_retry() { connect(); }

std::string BackendConnection::error_text(std::string_view what) const {
    const std::string_view kind = endpoint_.protocol == BackendProtocol::memcache ? "SERVER_ERROR" : "ERR";
    std::string text;
    text.reserve(kind.size() + endpoint_.label.size() + what.size() + 10);
    text.append(kind).append(" backend ").append(endpoint_.label).append(" ").append(what);
    return text;
}

void BackendConnection::readable_cb(evutil_socket_t fd, short, void* self) {
    auto* connection = static_cast<BackendConnection*>(self);
    const size_t before = evbuffer_get_length(connection->input_);
    switch (read_once(fd, connection->input_, kReadBytes)) {
    case ReadOutcome::data:
        connection->traffic_.bytes_received.add(evbuffer_get_length(connection->input_) - before);
        connection->on_read();
        return;
    case ReadOutcome::nothing_yet:
        return;
    case ReadOutcome::closed:
        connection->fail("closed by the backend");
        return;
    case ReadOutcome::failed:
        connection->fail(std::strerror(errno));
        return;
    }
}

void BackendConnection::close_socket() {
    if (read_event_ != nullptr) {
        event_free(read_event_);
        read_event_ = nullptr;
    }
    if (bev_ != nullptr) {
        bufferevent_free(bev_);
        bev_ = nullptr;
    }
    evbuffer_drain(input_, evbuffer_get_length(input_));
}
void BackendConnection::write_cb(bufferevent* bev, void*) { WriteBatcher::write_drained(bev); }

void BackendConnection::event_cb(bufferevent*, short what, void* self) {
    static_cast<BackendConnection*>(self)->on_event(what);
}
void BackendConnection::deadline_cb(evutil_socket_t, short, void* self) {
    static_cast<BackendConnection*>(self)->on_deadline();
}
void BackendConnection::retry_cb(evutil_socket_t, short, void* self) {
    static_cast<BackendConnection*>(self)->on_retry();
}

}  // namespace shardproxy::backends
