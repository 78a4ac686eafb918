#include "proxy/redis_session.h"

#include "backends/backend_connection.h"
#include "proxy/redis_command.h"
#include "proxy/redis_fan_out.h"
#include "proxy/redis_local_commands.h"
#include "proxy/reply_slot.h"
#include "proxy/resp_writer.h"
#include "proxy/worker.h"
#include "routing/topology.h"

namespace shardproxy::proxy {
namespace {

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
    : ClientSession(worker, listener, fd, id),
      parser_(worker.topology().config().proxy.max_request_bytes) {}

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
    while (accepting_requests()) {
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
        extend_input_run(forward_to_, request.wire_bytes);
        parsed += request.wire_bytes;
        update_flow_control();
    }
    flush_input_run();
}

void RedisSession::append_error(evbuffer* out, std::string_view error) {
    resp::append_error(out, error);
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
    return Placement{pool, worker_.server_for(pool, key)};
}

void RedisSession::route_keyed(std::span<const std::string_view> args, const RespRequest& request) {
    Placement target;
    if (key_indices_.empty()) {
        // Keyless scripts (EVAL with numkeys 0) run where the empty key lives.
        target.pool = listener_.default_pool;
        target.server = worker_.server_for(target.pool, {});
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
    auto owned = std::make_unique<RedisFanOut>(command.merge, children, command.name);
    RedisFanOut& fan_out = *owned;
    slot->fan_out = std::move(owned);

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
        fan_out.merge(slot->reply);
        slot->fan_out.reset();
        slot->done = true;
        write_completed();
    }
}

void RedisSession::answer_local(const RedisCommand& command, std::span<const std::string_view> args) {
    ReplySlot* slot = push_slot();
    LocalCommandContext context{worker_, name_, id_};
    if (answer_local_command(context, command, args, slot->reply) == LocalOutcome::close) {
        stop_after_this_request();  // QUIT: requests pipelined after it are not run
    }
    slot->done = true;
    write_completed();
}

}  // namespace shardproxy::proxy
