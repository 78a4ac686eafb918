#include "proxy/redis_session.h"


#include "backends/backend_connection.h"
#include "backends/socket_reader.h"
#include "proxy/redis_command.h"
#include "proxy/redis_local_commands.h"
#include "proxy/reply_slot.h"
#include "proxy/resp_writer.h"
#include "proxy/worker.h"
#include "routing/topology.h"

namespace shardproxy::proxy {
namespace {

// Flow control: past either limit the session stops reading until replies drain.
constexpr uint32_t kMaxInFlightRequests = 1024;
constexpr size_t kMaxBufferedReplyBytes = 8 * 1024 * 1024;

// One recv per readiness event takes up to this much.
constexpr size_t kReadBytes = 16 * 1024;

constexpr std::string_view kCrossSlot = "CROSSSLOT Keys in request don't hash to the same server";

// Redis's own wording, including the quoting of the first arguments.
std::string unknown_command_error(std::span<const std::string_view> args) {
    std::string quoted;
    for (size_t i = 1; i < args.size() && quoted.size() < 128; ++i) {
        quoted += '\'';
        quoted.append(args[i].substr(0, 128 - quoted.size()));
        quoted += "' ";
    }
    return "ERR unknown command '" + std::string(args[0].substr(0, 128)) +
           "', with args beginning with: " + quoted;
}

std::string unsupported_command_error(const RedisCommand& command) {
    std::string name(command.name);
    for (char& c : name) {
        if (c == '|') c = ' ';
    }
    return "ERR unsupported command '" + name + "'";
}

}  // namespace

RedisSession::RedisSession(Worker& worker, const routing::ListenerTopology& listener,
                           evutil_socket_t fd, uint64_t id)
    : worker_(worker),
      listener_(listener),
      bev_(bufferevent_socket_new(worker.base(), fd, BEV_OPT_CLOSE_ON_FREE)),
      input_(evbuffer_new()),
      read_event_(event_new(worker.base(), fd, EV_READ | EV_PERSIST, readable_cb, this)),
      id_(id),
      parser_(worker.topology().config().proxy.max_request_bytes) {
    // The bufferevent only writes: flush_writes at the end of each loop turn, and the
    // bufferevent itself (write-enabled when new) only while a reply did not fit the socket.
    // Reading is ours (backends/socket_reader.h).
    bufferevent_setcb(bev_, nullptr, write_cb, event_cb, this);
    bufferevent_setwatermark(bev_, EV_WRITE, kMaxBufferedReplyBytes / 2, 0);
    bufferevent_disable(bev_, EV_READ | EV_WRITE);
    event_add(read_event_, nullptr);
}

RedisSession::~RedisSession() {
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

void RedisSession::process_input() {
    evbuffer* input = input_;
    const size_t available = evbuffer_get_length(input);
    if (available < bytes_needed_) return;
    // Every complete request is parsed in place (pullup is free when the data is one chunk
    // already). Request bytes stay in the input buffer until they leave in runs: consecutive
    // requests forwarded unchanged to the same backend move in one call, which keeps the
    // per-request cost of a pipeline low.
    const char* data = reinterpret_cast<const char*>(evbuffer_pullup(input, -1));
    size_t parsed = 0;
    while (!closing_ && !reading_paused_) {
        const std::string_view unparsed(data + parsed, available - parsed);
        if (unparsed.empty() || unparsed.size() < bytes_needed_) break;
        RespRequest request;
        const auto status = parser_.parse(unparsed, request);
        if (status == RespRequestParser::Status::need_more) {
            bytes_needed_ = parser_.bytes_needed();
            break;
        }
        if (status == RespRequestParser::Status::error) {
            // After a framing error the stream cannot be resynchronised: answer and hang up,
            // as redis-server does.
            flush_input_run();
            evbuffer_drain(input, evbuffer_get_length(input));
            reply_error("ERR " + parser_.error());
            close_when_flushed();
            return;
        }
        bytes_needed_ = 1;
        forward_to_ = nullptr;
        if (!request.args.empty()) {
            worker_.stats().bump_commands();
            execute(request.args, request);
        }
        if (forward_to_ != input_run_.target) flush_input_run();
        input_run_.target = forward_to_;
        input_run_.bytes += request.wire_bytes;
        parsed += request.wire_bytes;
        update_flow_control();
    }
    flush_input_run();
}

void RedisSession::flush_input_run() {
    if (input_run_.bytes == 0) return;
    if (input_run_.target != nullptr) {
        evbuffer_remove_buffer(input_, input_run_.target, input_run_.bytes);
    } else {
        evbuffer_drain(input_, input_run_.bytes);
    }
    input_run_.bytes = 0;
}

void RedisSession::execute(std::span<const std::string_view> args, const RespRequest& request) {
    const RedisCommand* command =
        find_redis_command(args[0], args.size() > 1 ? args[1] : std::string_view());
    if (command == nullptr) {
        reply_error(unknown_command_error(args));
        return;
    }
    if (!prepare_command(*command, args, key_indices_, error_)) {
        reply_error(error_);
        return;
    }
    switch (command->kind) {
    case CommandKind::keyed:
        route_keyed(args, request);
        return;
    case CommandKind::split_merge:
        route_split(*command, args, request);
        return;
    case CommandKind::broadcast:
        route_broadcast(*command, args, request);
        return;
    case CommandKind::local:
        answer_local(*command, args);
        return;
    case CommandKind::unsupported:
        reply_error(unsupported_command_error(*command));
        return;
    }
}

RedisSession::Placement RedisSession::place(std::string_view key) const {
    const uint32_t pool = listener_.router.pool_for(key);
    return Placement{pool, worker_.topology().pools()[pool].placement.server_for(key)};
}

void RedisSession::route_keyed(std::span<const std::string_view> args, const RespRequest& request) {
    Placement target;
    if (key_indices_.empty()) {
        // Keyless scripts (EVAL with numkeys 0) run where the empty key lives.
        target.pool = listener_.default_pool;
        target.server = worker_.topology().pools()[target.pool].placement.server_for({});
    } else {
        target = place(args[key_indices_[0]]);
        for (size_t i = 1; i < key_indices_.size(); ++i) {
            if (place(args[key_indices_[i]]) != target) {
                reply_error(kCrossSlot);
                return;
            }
        }
    }
    send_whole(target, args, request);
}

void RedisSession::send_whole(Placement target, std::span<const std::string_view> args,
                              const RespRequest& request) {
    backends::BackendConnection& backend = worker_.backend(target.pool, target.server, id_);
    evbuffer* out = backend.request_buffer();
    if (out == nullptr) {
        reply_error(backend.unavailable_error());
        return;
    }
    ReplySlot* slot = push_slot();
    if (request.is_inline) {
        // Earlier requests still waiting in the input run must reach the backend first.
        flush_input_run();
        resp::append_command(out, args);
    } else {
        forward_to_ = out;  // the wire bytes move over unchanged once parsing is done with them
    }
    slot->add_ref();
    backend.await_reply(slot, 0, false);
}

void RedisSession::route_split(const RedisCommand& command, std::span<const std::string_view> args,
                               const RespRequest& request) {
    // Group keys by backend; each group becomes one sub-request.
    groups_.clear();
    key_group_.clear();
    for (uint32_t index : key_indices_) {
        const Placement placement = place(args[index]);
        uint32_t group = 0;
        while (group < groups_.size() && groups_[group] != placement) ++group;
        if (group == groups_.size()) groups_.push_back(placement);
        key_group_.push_back(group);
    }
    if (groups_.size() == 1) {
        send_whole(groups_[0], args, request);
        return;
    }
    fan_out(command, args, static_cast<uint32_t>(groups_.size()));
}

void RedisSession::route_broadcast(const RedisCommand& command,
                                   std::span<const std::string_view> args,
                                   const RespRequest& request) {
    const uint32_t pool = listener_.default_pool;
    const uint32_t servers =
        static_cast<uint32_t>(worker_.topology().pools()[pool].config->servers.size());
    if (servers == 1) {
        send_whole(Placement{pool, 0}, args, request);
        return;
    }
    groups_.clear();
    for (uint32_t server = 0; server < servers; ++server) groups_.push_back(Placement{pool, server});
    key_group_.clear();
    fan_out(command, args, servers);
}

void RedisSession::fan_out(const RedisCommand& command, std::span<const std::string_view> args,
                           uint32_t children) {
    // Earlier requests still waiting in the input run must reach their backend before the
    // sub-requests do, or replies would be matched to the wrong requests.
    flush_input_run();
    ReplySlot* slot = push_slot();
    slot->fan_out = std::make_unique<FanOut>(command.merge, children);
    slot->command_name = command.name;
    FanOut& fan_out = *slot->fan_out;

    const bool keyed = !key_group_.empty();
    const uint32_t stride = command.split_stride;
    if (command.merge == MergeRule::array_in_key_order) {
        child_sizes_.assign(children, 0);
        for (uint32_t group : key_group_) fan_out.add_key_origin(group, child_sizes_[group]++);
    }
    for (uint32_t child = 0; child < children; ++child) {
        const Placement target = groups_[child];
        backends::BackendConnection& backend = worker_.backend(target.pool, target.server, id_);
        evbuffer* out = backend.request_buffer();
        if (out == nullptr) {
            fan_out.set_error(child, backend.unavailable_error());
            continue;
        }
        if (!keyed) {
            resp::append_command(out, args);
        } else {
            uint32_t count = 1;
            for (uint32_t group : key_group_) count += group == child ? stride : 0;
            resp::append_array_header(out, count);
            resp::append_bulk(out, args[0]);
            for (size_t k = 0; k < key_indices_.size(); ++k) {
                if (key_group_[k] != child) continue;
                for (uint32_t s = 0; s < stride; ++s) resp::append_bulk(out, args[key_indices_[k] + s]);
            }
        }
        slot->add_ref();
        backend.await_reply(slot, child, true);
    }
    if (fan_out.complete()) {  // every backend was down
        fan_out.merge(slot->reply, command.name);
        slot->fan_out.reset();
        slot->done = true;
        write_completed();
    }
}

void RedisSession::answer_local(const RedisCommand& command, std::span<const std::string_view> args) {
    ReplySlot* slot = push_slot();
    LocalCommandContext context{worker_, name_, id_};
    if (answer_local_command(context, command, args, slot->reply) == LocalOutcome::close) {
        closing_ = true;  // QUIT: requests pipelined after it are not run
    }
    slot->done = true;
    write_completed();
}

ReplySlot* RedisSession::push_slot() {
    ReplySlot* slot = worker_.slots().acquire(this);
    if (tail_ == nullptr) {
        head_ = slot;
    } else {
        tail_->next = slot;
    }
    tail_ = slot;
    ++in_flight_;
    return slot;
}

void RedisSession::reply_error(std::string_view error) {
    ReplySlot* slot = push_slot();
    resp::append_error(slot->reply, error);
    slot->done = true;
    write_completed();
}

backends::DirectReply RedisSession::claim_direct_reply(ReplySlot* slot) {
    if (slot != head_) return {};
    // Retire the slot now; anything written after it waits for on_direct_replies_appended,
    // when its bytes are in the output buffer.
    head_ = slot->next;
    if (head_ == nullptr) tail_ = nullptr;
    --in_flight_;
    slot->session = nullptr;
    slot->release();
    return backends::DirectReply{bufferevent_get_output(bev_), this};
}

void RedisSession::on_direct_replies_appended() { write_completed(); }

void RedisSession::on_reply_bytes(ReplySlot* slot, evbuffer* from, size_t length) {
    // The common case, a reply for the oldest request, goes straight to the client.
    evbuffer* target = slot == head_ ? bufferevent_get_output(bev_) : slot->reply;
    evbuffer_remove_buffer(from, target, length);
    slot->done = true;
    write_completed();
}

void RedisSession::on_reply_error(ReplySlot* slot, std::string_view error) {
    resp::append_error(slot->reply, error);
    slot->done = true;
    write_completed();
}

void RedisSession::on_slot_done(ReplySlot* slot) {
    slot->done = true;
    write_completed();
}

void RedisSession::flush_writes() { backends::WriteBatcher::write_now(bev_); }

void RedisSession::write_completed() {
    evbuffer* output = bufferevent_get_output(bev_);
    while (head_ != nullptr && head_->done) {
        ReplySlot* slot = head_;
        if (evbuffer_get_length(slot->reply) > 0) evbuffer_add_buffer(output, slot->reply);
        head_ = slot->next;
        if (head_ == nullptr) tail_ = nullptr;
        --in_flight_;
        slot->session = nullptr;
        slot->release();
    }
    if (evbuffer_get_length(output) > 0) worker_.writes().schedule(this);
    if (closing_ && head_ == nullptr) {
        close_when_flushed();
        return;
    }
    update_flow_control();
}

void RedisSession::update_flow_control() {
    if (closing_) return;
    const size_t buffered = evbuffer_get_length(bufferevent_get_output(bev_));
    if (!reading_paused_) {
        if (in_flight_ < kMaxInFlightRequests && buffered < kMaxBufferedReplyBytes) return;
        reading_paused_ = true;
        event_del(read_event_);
        return;
    }
    // Resume only well below the limits, so a client at the limit does not flip reading on
    // and off for every reply.
    if (in_flight_ > kMaxInFlightRequests / 2 || buffered > kMaxBufferedReplyBytes / 2) return;
    reading_paused_ = false;
    event_add(read_event_, nullptr);
    // Requests may already sit in the input buffer; no read event will announce them.
    if (!processing_) {
        processing_ = true;
        process_input();
        processing_ = false;
    }
}

void RedisSession::stop_reading() {
    closing_ = true;
    event_del(read_event_);
    if (head_ == nullptr) close_when_flushed();
}

void RedisSession::close_when_flushed() {
    closing_ = true;
    event_del(read_event_);
    bufferevent_setwatermark(bev_, EV_WRITE, 0, 0);
    // The bufferevent drains what is left; destruction happens in the write callback, never
    // deep inside a parse or a reply.
    bufferevent_enable(bev_, EV_WRITE);
    bufferevent_trigger(bev_, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

void RedisSession::readable_cb(evutil_socket_t fd, short, void* self) {
    auto* session = static_cast<RedisSession*>(self);
    switch (backends::read_once(fd, session->input_, kReadBytes)) {
    case backends::ReadOutcome::data:
        session->processing_ = true;
        session->process_input();
        session->processing_ = false;
        return;
    case backends::ReadOutcome::nothing_yet:
        return;
    case backends::ReadOutcome::closed:
        // A client may shut down its sending side and still wait for the replies to what it
        // sent (printf ... | nc -N); answer those, then close, as redis-server does.
        session->stop_reading();
        return;
    case backends::ReadOutcome::failed:
        session->worker_.close_session(session);
        return;
    }
}

void RedisSession::write_cb(bufferevent*, void* self) {
    auto* session = static_cast<RedisSession*>(self);
    if (session->closing_) {
        if (session->head_ == nullptr &&
            evbuffer_get_length(bufferevent_get_output(session->bev_)) == 0) {
            session->worker_.close_session(session);
        }
        return;
    }
    backends::WriteBatcher::write_drained(session->bev_);
    session->update_flow_control();
}

void RedisSession::event_cb(bufferevent*, short what, void* self) {
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        auto* session = static_cast<RedisSession*>(self);
        session->worker_.close_session(session);
    }
}

}  // namespace shardproxy::proxy
