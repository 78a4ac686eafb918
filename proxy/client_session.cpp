#include "proxy/client_session.h"

#include "backends/socket_reader.h"
#include "proxy/hot_keys.h"
#include "proxy/reply_slot.h"
#include "proxy/worker.h"

namespace shardproxy::proxy {
namespace {

// Flow control: with this many requests in flight the session stops reading until half are answered.
constexpr uint32_t kMaxInFlightRequests = 1024;

// One recv per readiness event takes up to this much.
constexpr size_t kReadBytes = 16 * 1024;

}  // namespace

ClientSession::ClientSession(Worker& worker, std::shared_ptr<const routing::Topology> topology,
                             const routing::ListenerTopology& listener, evutil_socket_t fd, uint64_t id)
    : worker_(worker),
      topology_(std::move(topology)),
      listener_(&listener),
      traffic_(&worker.listener_traffic(*listener.config)),
      max_output_bytes_(worker.topology().config().proxy.max_client_output_bytes),
      last_activity_ms_(coarse_monotonic_ms()),
      input_(evbuffer_new()),
      id_(id),
      bev_(bufferevent_socket_new(worker.base(), fd, BEV_OPT_CLOSE_ON_FREE)),
      read_event_(event_new(worker.base(), fd, EV_READ | EV_PERSIST, readable_cb, this)) {
    // The bufferevent only writes: flush_writes at the end of each loop turn, and the
    // bufferevent itself (write-enabled when new) only while a reply did not fit the socket.
    // Reading is ours (backends/socket_reader.h).
    bufferevent_setcb(bev_, nullptr, write_cb, event_cb, this);
    evbuffer_add_cb(output(), count_sent, this);
    bufferevent_disable(bev_, EV_READ | EV_WRITE);
    event_add(read_event_, nullptr);
}

ClientSession::~ClientSession() {
    worker_.writes().cancel(this);
    for (ReplySlot* slot = head_; slot != nullptr;) {
        ReplySlot* next = slot->next;
        slot->session = nullptr;
        slot->release();
        slot = next;
    }
    event_free(read_event_);
    evbuffer_free(input_);
    bufferevent_free(bev_);
}

void ClientSession::process_input() {
    const size_t available = evbuffer_get_length(input_);
    if (available < bytes_needed_) {
        if (partial_since_ms_ == 0) partial_since_ms_ = coarse_monotonic_ms();
        return;
    }
    // Every complete request is parsed in place (pullup is free when the data is one chunk
    // already). Request bytes stay in the input buffer until they leave in runs: consecutive
    // requests forwarded unchanged to the same backend move in one call, which keeps the
    // per-request cost of a pipeline low.
    const char* data = reinterpret_cast<const char*>(evbuffer_pullup(input_, -1));
    size_t parsed = 0;
    while (accepting_requests()) {
        const std::string_view unparsed(data + parsed, available - parsed);
        if (unparsed.empty() || unparsed.size() < bytes_needed_) break;
        const Handled handled = handle_next(unparsed);
        if (handled.kind == Handled::Kind::need_more) break;
        if (handled.kind == Handled::Kind::closed) return;
        parsed += handled.bytes;
        update_flow_control();
    }
    flush_input_run();
    // A request begun and not finished starts the client_request_timeout_ms clock; requests
    // waiting while reading is paused are whole, and wait for the proxy, not the client.
    if (evbuffer_get_length(input_) == 0 || reading_paused_) {
        partial_since_ms_ = 0;
    } else if (parsed > 0 || partial_since_ms_ == 0) {
        partial_since_ms_ = coarse_monotonic_ms();
    }
}

ClientSession::Limit ClientSession::check_limits(uint64_t now_ms, const conf::ProxyConfig& limits) {
    if (overflowed_) return Limit::close_now;
    if (closing_) return Limit::within;
    const uint32_t request_ms = limits.client_request_timeout_ms;
    if (request_ms > 0 && partial_since_ms_ != 0 && now_ms - partial_since_ms_ >= request_ms) {
        flush_input_run();
        evbuffer_drain(input_, evbuffer_get_length(input_));
        reply_error(request_timeout_error(request_ms));
        stop_reading();
        return Limit::within;
    }
    const uint32_t idle_ms = limits.client_idle_timeout_ms;
    if (idle_ms > 0 && now_ms - last_activity_ms_ >= idle_ms) return Limit::close_now;
    return Limit::within;
}

void ClientSession::extend_input_run(evbuffer* target, size_t bytes) {
    if (target != input_run_.target) flush_input_run();
    input_run_.target = target;
    input_run_.bytes += bytes;
}

void ClientSession::flush_input_run() {
    if (input_run_.bytes == 0) return;
    if (input_run_.target != nullptr) {
        evbuffer_remove_buffer(input_, input_run_.target, input_run_.bytes);
    } else {
        evbuffer_drain(input_, input_run_.bytes);
    }
    input_run_.bytes = 0;
}

// A reload can give a server new connections, or map this client to another of them; a request
// sent there could reach the server before one of this client's requests still in flight on the
// old connection (a GET overtaking the SET before it, which then reads the older value). So the
// session has everything it sent answered before it sends anything under the new configuration.
void ClientSession::rebind(std::shared_ptr<const routing::Topology> topology, const routing::ListenerTopology& listener) {
    topology_ = std::move(topology);
    listener_ = &listener;
    traffic_ = &worker_.listener_traffic(*listener.config);
    max_output_bytes_ = topology_->config().proxy.max_client_output_bytes;
    if (in_flight_ == 0 || closing_) return;
    draining_for_reload_ = true;
    if (!reading_paused_) {
        reading_paused_ = true;
        event_del(read_event_);
    }
}

// Bytes leave the output buffer only by being written to the socket, by the batched write or
// by the bufferevent finishing what the socket could not take at once.
void ClientSession::count_sent(evbuffer*, const evbuffer_cb_info* info, void* self) {
    if (info->n_deleted == 0) return;
    auto* session = static_cast<ClientSession*>(self);
    session->traffic_->bytes_sent.add(info->n_deleted);
    session->last_activity_ms_ = coarse_monotonic_ms();
}

ReplySlot* ClientSession::push_slot() {
    ReplySlot* slot = worker_.slots().acquire(this);
    slot->started_us = backends::loop_turn_us(worker_.base());
    if (tail_ == nullptr) {
        head_ = slot;
    } else {
        tail_->next = slot;
    }
    tail_ = slot;
    ++in_flight_;
    if (!write_guards_.empty()) {
        slot->write_guards.swap(write_guards_);
        ++unanswered_writes_;
    }
    return slot;
}

void ClientSession::guard_write(HotKeys& hot, std::string_view key) {
    write_guards_.push_back(WriteGuard{&hot.versions(), routing::key_hash(key), false});
}

void ClientSession::guard_flush(HotKeys& hot) { write_guards_.push_back(WriteGuard{&hot.versions(), 0, true}); }

void ClientSession::end_unclaimed_guards() {
    for (const WriteGuard& guard : write_guards_) guard.bump();
    write_guards_.clear();
}

void ClientSession::retire(ReplySlot* slot) {
    traffic_->latency.observe_interval(slot->started_us, backends::loop_turn_us(worker_.base()));
    if (!slot->write_guards.empty()) {
        for (const WriteGuard& guard : slot->write_guards) guard.bump();
        --unanswered_writes_;
    }
    --in_flight_;
    slot->session = nullptr;
    slot->release();
}

bool ClientSession::answer_without_backend(const HotKeys::Read& read) {
    if (read.kind == HotKeys::Read::Kind::in_flight) {
        join(*read.pending);
        return true;
    }
    if (read.kind != HotKeys::Read::Kind::cached) return false;
    ReplySlot* slot = push_slot();
    evbuffer_add(slot->reply, read.reply->data(), read.reply->size());
    slot->done = true;
    write_completed();
    return true;
}

void ClientSession::join(PendingRead& read) { read.join(push_slot()); }

void ClientSession::reply_error(std::string_view error) {
    traffic_->count(ErrorKind::request);
    ReplySlot* slot = push_slot();
    append_error(slot->reply, error);
    slot->done = true;
    write_completed();
}

backends::DirectReply ClientSession::claim_direct_reply(ReplySlot* slot) {
    if (slot != head_) return {};
    // Retire the slot now; anything written after it waits for on_direct_replies_appended,
    // when its bytes are in the output buffer.
    head_ = slot->next;
    if (head_ == nullptr) tail_ = nullptr;
    retire(slot);
    return backends::DirectReply{output(), this};
}

void ClientSession::on_direct_replies_appended() { write_completed(); }

void ClientSession::on_reply_bytes(ReplySlot* slot, evbuffer* from, size_t length) {
    // The common case, a reply for the oldest request, goes straight to the client.
    evbuffer* target = slot == head_ ? output() : slot->reply;
    evbuffer_remove_buffer(from, target, length);
    slot->done = true;
    write_completed();
}

void ClientSession::on_reply_error(ReplySlot* slot, std::string_view error) {
    traffic_->count(ErrorKind::backend);
    append_error(slot->reply, error);
    slot->done = true;
    write_completed();
}

void ClientSession::on_slot_done(ReplySlot* slot) {
    slot->done = true;
    write_completed();
}

void ClientSession::flush_writes() { backends::WriteBatcher::write_now(bev_); }

void ClientSession::write_completed() {
    evbuffer* out = output();
    while (head_ != nullptr && head_->done) {
        ReplySlot* slot = head_;
        if (evbuffer_get_length(slot->reply) > 0) evbuffer_add_buffer(out, slot->reply);
        head_ = slot->next;
        if (head_ == nullptr) tail_ = nullptr;
        retire(slot);
    }
    if (evbuffer_get_length(out) > 0) worker_.writes().schedule(this);
    if (closing_ && head_ == nullptr) {
        close_when_flushed();
        return;
    }
    update_flow_control();
}

// Reading pauses while too many requests are in flight; replies a client does not take are
// bounded by max_client_output_bytes, past which the client is disconnected, as Redis does
// with its client-output-buffer-limit. (Pausing on unread replies instead would let a client
// that never reads hold its connection and that much memory for ever.)
void ClientSession::update_flow_control() {
    if (evbuffer_get_length(output()) > max_output_bytes_ && !overflowed_) {
        // Closed by the worker's next limits check, outside whatever callback this is.
        overflowed_ = true;
        closing_ = true;
        event_del(read_event_);
        return;
    }
    if (closing_) return;
    if (!reading_paused_) {
        if (in_flight_ < kMaxInFlightRequests) return;
        reading_paused_ = true;
        event_del(read_event_);
        return;
    }
    // Resume only well below the limit, so a client at the limit does not flip reading on
    // and off for every reply; after a reload, only once nothing sent before it is in flight.
    if (in_flight_ > (draining_for_reload_ ? 0 : kMaxInFlightRequests / 2)) return;
    draining_for_reload_ = false;
    reading_paused_ = false;
    event_add(read_event_, nullptr);
    // Requests may already sit in the input buffer; no read event will announce them.
    if (!processing_) run_input();
}

void ClientSession::run_input() {
    processing_ = true;
    process_input();
    processing_ = false;
}

void ClientSession::stop_reading() {
    closing_ = true;
    event_del(read_event_);
    if (head_ == nullptr) close_when_flushed();
}

void ClientSession::close_when_flushed() {
    closing_ = true;
    event_del(read_event_);
    // The bufferevent drains what is left; destruction happens in the write callback, never
    // deep inside a parse or a reply.
    bufferevent_enable(bev_, EV_WRITE);
    bufferevent_trigger(bev_, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

void ClientSession::readable_cb(evutil_socket_t fd, short, void* self) {
    auto* session = static_cast<ClientSession*>(self);
    const size_t before = evbuffer_get_length(session->input_);
    switch (backends::read_once(fd, session->input_, kReadBytes)) {
    case backends::ReadOutcome::data:
        session->traffic_->bytes_received.add(evbuffer_get_length(session->input_) - before);
        session->last_activity_ms_ = coarse_monotonic_ms();
        session->run_input();
        return;
    case backends::ReadOutcome::nothing_yet:
        return;
    case backends::ReadOutcome::closed:
        // A client may shut down its sending side and still wait for the replies to what it
        // sent (printf ... | nc -N); answer those, then close, as the servers do.
        session->stop_reading();
        return;
    case backends::ReadOutcome::failed:
        session->worker_.close_session(session);
        return;
    }
}

void ClientSession::write_cb(bufferevent*, void* self) {
    auto* session = static_cast<ClientSession*>(self);
    if (session->closing_) {
        if (session->head_ == nullptr && evbuffer_get_length(session->output()) == 0) {
            session->worker_.close_session(session);
        }
        return;
    }
    // Flow control does not depend on what the client has taken (update_flow_control).
    backends::WriteBatcher::write_drained(session->bev_);
}

void ClientSession::event_cb(bufferevent*, short what, void* self) {
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        auto* session = static_cast<ClientSession*>(self);
        session->worker_.close_session(session);
    }
}

}  // namespace shardproxy::proxy
