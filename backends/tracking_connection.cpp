#include "backends/tracking_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace shardproxy::backends {
namespace {

constexpr uint32_t kFirstRetryDelayMs = 50;
constexpr uint32_t kMaxRetryDelayMs = 1000;

constexpr std::string_view kNullReply = "$-1\r\n";

bool is_string(Resp3Type type) {
    return type == Resp3Type::blob_string || type == Resp3Type::simple_string ||
           type == Resp3Type::verbatim_string;
}

timeval to_timeval(uint64_t ms) {
    return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

}  // namespace

TrackingConnection::TrackingConnection(event_base* base, const BackendEndpoint& endpoint,
                                       TrackingListener& listener)
    : base_(base),
      endpoint_(endpoint),
      listener_(listener),
      deadline_timer_(evtimer_new(base, deadline_cb, this)),
      retry_timer_(evtimer_new(base, retry_cb, this)),
      converted_(evbuffer_new()),
      retry_delay_ms_(kFirstRetryDelayMs),
      timeout_error_(error_text("timed out")),
      unexpected_reply_("-" + error_text("unexpected reply type") + "\r\n") {
    prepare_handshake();
    connect();
}

void TrackingConnection::prepare_handshake() {
    if (endpoint_.auth_password.empty()) {
        handshake_ = resp_command({"HELLO", "3"});
        handshake_steps_.emplace_back("HELLO 3");
    } else {
        const std::string user = endpoint_.auth_user.empty() ? "default" : endpoint_.auth_user;
        handshake_ = resp_command({"HELLO", "3", "AUTH", user, endpoint_.auth_password});
        handshake_steps_.emplace_back("AUTH");
    }
    if (endpoint_.db != 0) {
        const std::string db = std::to_string(endpoint_.db);
        handshake_ += resp_command({"SELECT", db});
        handshake_steps_.push_back("SELECT " + db);
    }
    handshake_ += resp_command({"CLIENT", "TRACKING", "ON"});
    handshake_steps_.emplace_back("CLIENT TRACKING ON");
}

TrackingConnection::~TrackingConnection() {
    state_ = State::down;  // a sink told of the shutdown cannot send again
    fail_all_waiting(error_text("connection closed: proxy shutting down"));
    close_socket();
    evbuffer_free(converted_);
    event_free(deadline_timer_);
    event_free(retry_timer_);
}

void TrackingConnection::connect() {
    bev_ = bufferevent_socket_new(base_, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev_, read_cb, nullptr, event_cb, this);
    bufferevent_enable(bev_, EV_READ | EV_WRITE);
    // The write timeout bounds the connect; the handshake has a deadline of its own.
    const timeval connect_timeout = to_timeval(endpoint_.timeout_ms);
    bufferevent_set_timeouts(bev_, nullptr, &connect_timeout);
    state_ = State::connecting;
    if (bufferevent_socket_connect(bev_, const_cast<sockaddr*>(endpoint_.address.get()),
                                   static_cast<int>(endpoint_.address.length)) != 0) {
        fail(error_text(std::string("connection closed: connect failed: ") + std::strerror(errno)));
    }
}

void TrackingConnection::on_connected() {
    state_ = State::handshaking;
    handshake_answered_ = 0;
    bufferevent_set_timeouts(bev_, nullptr, nullptr);
    if (endpoint_.address.family() != AF_UNIX) {
        const int one = 1;
        setsockopt(bufferevent_getfd(bev_), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    bufferevent_write(bev_, handshake_.data(), handshake_.size());
    // A stopped server still accepts connections (the kernel does it), so only an answer counts.
    arm_deadline(monotonic_ms() + endpoint_.timeout_ms);
}

bool TrackingConnection::send_get(std::string_view key, ReplySink* sink, uint32_t child) {
    if (state_ != State::ready) return false;
    static constexpr std::string_view kGet = "*2\r\n$3\r\nGET\r\n$";
    char header[kGet.size() + 24];
    std::memcpy(header, kGet.data(), kGet.size());
    char* end = std::to_chars(header + kGet.size(), header + sizeof(header) - 2, key.size()).ptr;
    *end++ = '\r';
    *end++ = '\n';
    evbuffer* out = bufferevent_get_output(bev_);
    evbuffer_add(out, header, static_cast<size_t>(end - header));
    evbuffer_add(out, key.data(), key.size());
    evbuffer_add(out, "\r\n", 2);
    const uint64_t deadline = monotonic_ms() + endpoint_.timeout_ms;
    waiting_.push_back(Waiting{sink, child, deadline});
    if (waiting_.size() == 1) arm_deadline(deadline);
    return true;
}

void TrackingConnection::on_read() {
    evbuffer* in = bufferevent_get_input(bev_);
    while (const size_t buffered = evbuffer_get_length(in)) {
        // The framer reads a frame in one piece. The pulled-up chunk is sized in powers of two
        // and keeps its spare room, so a long frame arriving bit by bit is not copied over and
        // over.
        const auto* bytes = reinterpret_cast<const char*>(evbuffer_pullup(in, -1));
        size_t length = 0;
        switch (framer_.next(std::string_view(bytes, buffered), length)) {
        case Resp3Framer::Result::need_more:
            return;
        case Resp3Framer::Result::protocol_error:
            fail(error_text("connection closed: protocol error in reply: " + framer_.error()));
            return;
        case Resp3Framer::Result::frame:
            if (!on_frame(in, length)) return;
            break;
        }
    }
}

bool TrackingConnection::on_frame(evbuffer* in, size_t length) {
    if (framer_.values()[0].type == Resp3Type::push) {
        on_push();
        evbuffer_drain(in, length);
        return true;
    }
    if (state_ == State::handshaking) {
        if (!on_handshake_reply()) return false;
        evbuffer_drain(in, length);
        if (state_ == State::ready) listener_.on_invalidate_all();
        return true;
    }
    if (waiting_.empty()) {
        fail(error_text("connection closed: the server sent a reply nobody asked for"));
        return false;
    }
    deliver(in, length);
    return true;
}

void TrackingConnection::on_push() {
    const auto& values = framer_.values();
    if (values[0].count < 2 || !is_string(values[1].type) || values[1].text != "invalidate") return;
    const Resp3Value& keys = values[2];
    if (keys.type == Resp3Type::null) {
        listener_.on_invalidate_all();
        return;
    }
    if (keys.type != Resp3Type::array) return;
    for (size_t i = 3; i < keys.next; i = values[i].next) {
        if (is_string(values[i].type)) listener_.on_invalidate(values[i].text);
    }
}

// False when the server refused a step (a Redis older than 6 cannot track; a wrong password or
// database is refused): the connection is dropped and tried again later.
bool TrackingConnection::on_handshake_reply() {
    const Resp3Value& reply = framer_.values()[0];
    const bool accepted = handshake_answered_ == 0
                              ? reply.type == Resp3Type::map
                              : reply.type == Resp3Type::simple_string && reply.text == "OK";
    if (!accepted) {
        const bool error = reply.type == Resp3Type::simple_error || reply.type == Resp3Type::blob_error;
        const std::string& step = handshake_steps_[handshake_answered_];
        fail(error_text("connection closed: refused " + step +
                        (error ? ": " + std::string(reply.text) : std::string(": unexpected reply type"))));
        return false;
    }
    if (++handshake_answered_ < handshake_steps_.size()) return true;
    state_ = State::ready;
    retry_delay_ms_ = kFirstRetryDelayMs;
    evtimer_del(deadline_timer_);
    return true;
}

void TrackingConnection::deliver(evbuffer* in, size_t length) {
    const Waiting entry = waiting_.front();
    waiting_.pop_front();
    const Resp3Value& reply = framer_.values()[0];
    const size_t offset = framer_.value_offset();
    switch (reply.type) {
    case Resp3Type::blob_string:
    case Resp3Type::simple_error:
        // Spelled as in RESP2 already: only attributes before it have to go.
        evbuffer_drain(in, offset);
        entry.sink->on_reply_bytes(entry.child, in, length - offset);
        break;
    case Resp3Type::blob_error: {
        // An error line cannot hold the line ends a blob error may.
        evbuffer_add(converted_, "-", 1);
        std::string_view text = reply.text;
        while (!text.empty()) {
            const size_t end = std::min(text.find_first_of("\r\n"), text.size());
            evbuffer_add(converted_, text.data(), end);
            if (end < text.size()) evbuffer_add(converted_, " ", 1);
            text.remove_prefix(std::min(end + 1, text.size()));
        }
        evbuffer_add(converted_, "\r\n", 2);
        evbuffer_drain(in, length);
        entry.sink->on_reply_bytes(entry.child, converted_, evbuffer_get_length(converted_));
        break;
    }
    case Resp3Type::null:
        evbuffer_drain(in, length);
        evbuffer_add(converted_, kNullReply.data(), kNullReply.size());
        entry.sink->on_reply_bytes(entry.child, converted_, kNullReply.size());
        break;
    default:
        evbuffer_drain(in, length);
        evbuffer_add(converted_, unexpected_reply_.data(), unexpected_reply_.size());
        entry.sink->on_reply_bytes(entry.child, converted_, unexpected_reply_.size());
        break;
    }
    entry.sink->release();
    if (waiting_.empty()) {
        evtimer_del(deadline_timer_);
    } else {
        arm_deadline(waiting_.front().deadline_ms);
    }
}

void TrackingConnection::arm_deadline(uint64_t when) {
    const uint64_t now = monotonic_ms();
    const timeval delay = to_timeval(when > now ? when - now : 0);
    evtimer_add(deadline_timer_, &delay);
}

void TrackingConnection::on_deadline() {
    if (state_ == State::handshaking) {
        fail(error_text("connection closed: handshake timed out"));
        return;
    }
    if (waiting_.empty()) return;
    if (waiting_.front().deadline_ms > monotonic_ms()) {
        arm_deadline(waiting_.front().deadline_ms);
        return;
    }
    fail(timeout_error_);
}

void TrackingConnection::fail(const std::string& request_error) {
    const bool was_ready = state_ == State::ready;
    close_socket();
    framer_.reset();
    state_ = State::down;
    evtimer_del(deadline_timer_);
    const timeval delay = to_timeval(retry_delay_ms_);
    evtimer_add(retry_timer_, &delay);
    retry_delay_ms_ = std::min(retry_delay_ms_ * 2, kMaxRetryDelayMs);
    if (was_ready) listener_.on_invalidate_all();
    fail_all_waiting(request_error);
}

void TrackingConnection::fail_all_waiting(const std::string& error) {
    while (!waiting_.empty()) {
        const Waiting entry = waiting_.front();
        waiting_.pop_front();
        entry.sink->on_failure(entry.child, error);
        entry.sink->release();
    }
}

void TrackingConnection::close_socket() {
    if (bev_ != nullptr) {
        bufferevent_free(bev_);
        bev_ = nullptr;
    }
}

std::string TrackingConnection::error_text(std::string_view what) const {
    std::string text;
    text.reserve(endpoint_.label.size() + what.size() + 16);
    text.append("ERR backend ").append(endpoint_.label).append(" ").append(what);
    return text;
}

void TrackingConnection::read_cb(bufferevent*, void* self) { static_cast<TrackingConnection*>(self)->on_read(); }

void TrackingConnection::event_cb(bufferevent*, short what, void* self) {
    auto* connection = static_cast<TrackingConnection*>(self);
    if (what & BEV_EVENT_CONNECTED) {
        connection->on_connected();
        return;
    }
    std::string reason;
    if (what & BEV_EVENT_TIMEOUT) {
        reason = "connect timed out";
    } else if (what & BEV_EVENT_EOF) {
        reason = "closed by the server";
    } else {
        const int err = EVUTIL_SOCKET_ERROR();
        reason = err != 0 ? evutil_socket_error_to_string(err) : "socket error";
    }
    connection->fail(connection->error_text("connection closed: " + reason));
}

void TrackingConnection::deadline_cb(evutil_socket_t, short, void* self) {
    static_cast<TrackingConnection*>(self)->on_deadline();
}

void TrackingConnection::retry_cb(evutil_socket_t, short, void* self) {
    static_cast<TrackingConnection*>(self)->connect();
}

}  // namespace shardproxy::backends
