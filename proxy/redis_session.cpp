#include "proxy/redis_session.h"

#include "backends/backend_connection.h"
#include "proxy/redis_command.h"
#include "proxy/redis_fan_out.h"
#include "proxy/replica_read.h"
#include "proxy/replica_write.h"
#include "proxy/redis_local_commands.h"
#include "proxy/reply_slot.h"
#include "proxy/resp_writer.h"
#include "proxy/hot_keys.h"
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

// Writes go to every replica of their keys, and so do scripts and functions, which may write
// (Redis decides that from the script at run time; only EVAL_RO and FCALL_RO promise not to).
bool is_replicated_write_command(const RedisCommand& command) {
    if ((command.flags & (command_flag::write | command_flag::may_replicate)) != 0) return true;
    return command.name == "eval" || command.name == "evalsha" || command.name == "fcall";
}

RequestClass request_class(const RedisCommand& command) {
    switch (command.kind) {
    case CommandKind::local:
        return RequestClass::local;
    case CommandKind::unsupported:
        return RequestClass::other;
    case CommandKind::keyed:
    case CommandKind::split_merge:
    case CommandKind::broadcast:
        break;
    }
    if (is_replicated_write_command(command)) return RequestClass::write;
    return command.kind == CommandKind::broadcast ? RequestClass::other : RequestClass::read;
}

bool is_replicated_write(const RedisCommand& command, const conf::PoolConfig& pool) {
    return pool.replicas > 1 && is_replicated_write_command(command);
}

}  // namespace

RedisSession::RedisSession(Worker& worker, std::shared_ptr<const routing::Topology> topology,
                           const routing::ListenerTopology& listener, evutil_socket_t fd, uint64_t id)
    : ClientSession(worker, std::move(topology), listener, fd, id),
      parser_(worker.topology().config().proxy.max_request_bytes),
      authenticated_(listener.config->credentials.empty()) {}

ClientSession::Handled RedisSession::handle_next(std::string_view unparsed) {
    RespRequest request;
    const auto status = parser_.parse(unparsed, request);
    if (status == RespRequestParser::Status::need_more) {
        bytes_needed_ = parser_.bytes_needed();
        return {Handled::Kind::need_more};
    }
    if (status == RespRequestParser::Status::error) {
        // After a framing error the stream cannot be resynchronised: answer and hang up, as
        // redis-server does.
        flush_input_run();
        evbuffer_drain(input_, evbuffer_get_length(input_));
        reply_error("ERR " + parser_.error());
        close_when_flushed();
        return {Handled::Kind::closed};
    }
    bytes_needed_ = 1;
    forward_to_ = nullptr;
    if (!request.args.empty()) {
        worker_.stats().bump_commands();
        wire_ = unparsed.substr(0, request.wire_bytes);
        execute(request.args, request);
        end_unclaimed_guards();
    }
    extend_input_run(forward_to_, request.wire_bytes);
    return {Handled::Kind::consumed, request.wire_bytes};
}

std::string RedisSession::request_timeout_error(uint32_t timeout_ms) const {
    return "ERR Protocol error: request not completed within " + std::to_string(timeout_ms) + " ms";
}

void RedisSession::append_error(evbuffer* out, std::string_view error) {
    resp::append_error(out, error);
}

void RedisSession::execute(std::span<const std::string_view> args, const RespRequest& request) {
    const RedisCommand* command =
        find_redis_command(args[0], args.size() > 1 ? args[1] : std::string_view());
    // Before anything else, so that a client without the password learns nothing, not even
    // which commands exist.
    if (!authenticated_ && (command == nullptr || (command->flags & command_flag::no_auth) == 0)) {
        count(RequestClass::other);
        reply_error(kNoAuthError);
        return;
    }
    if (command == nullptr) {
        count(RequestClass::other);
        reply_error(unknown_command_error(args));
        return;
    }
    if (!prepare_command(*command, args, key_indices_, error_)) {
        count(RequestClass::other);
        reply_error(error_);
        return;
    }
    count(request_class(*command));
    if (worker_.any_hot_keys() && is_replicated_write_command(*command)) guard_writes(*command, args);
    switch (command->kind) {
    case CommandKind::keyed:
        route_keyed(*command, args, request);
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

// Where a read of the key goes (with replicas, the first one in service).
RedisSession::Placement RedisSession::place(std::string_view key) {
    const uint32_t pool = listener_->router.pool_for(key);
    return Placement{pool, worker_.read_server_for(pool, key, id_, replicas_)};
}

void RedisSession::route_keyed(const RedisCommand& command, std::span<const std::string_view> args,
                               const RespRequest& request) {
    uint32_t pool = listener_->default_pool;
    if (!key_indices_.empty()) {
        pool = listener_->router.pool_for(args[key_indices_[0]]);
        if (HotKeys* hot = worker_.hot_keys(pool);
            hot != nullptr && command.name == "get" && !request.is_inline && read_hot(*hot, pool, command, args)) {
            return;
        }
        const bool write = is_replicated_write(command, *worker_.topology().pools()[pool].config);
        if (write || worker_.reads_fail_over(pool)) {
            // Every key must have the same replica set, or no set of servers could run the
            // command for all of them.
            if (!keys_share_replica_set(pool, args)) {
                reply_error(kCrossSlot);
                return;
            }
            if (write) {
                worker_.write_replicas_for(pool, args[key_indices_[0]], id_, replicas_);
                replicate(pool, args);
            } else {
                worker_.order_for_read(pool, id_, replicas_);
                read_with_failover(pool, command, args);
            }
            return;
        }
    }
    Placement target;
    if (key_indices_.empty()) {
        // Keyless scripts (EVAL with numkeys 0) run where the empty key lives, on all of its
        // replicas, since they may write.
        target.pool = listener_->default_pool;
        if (is_replicated_write(command, *worker_.topology().pools()[target.pool].config)) {
            worker_.write_replicas_for(target.pool, {}, id_, replicas_);
            replicate(target.pool, args);
            return;
        }
        target.server = worker_.server_for(target.pool, {});
    } else {
        // The first key's pool is known already: route it only once.
        target = Placement{pool, worker_.server_for(pool, args[key_indices_[0]])};
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

// One write, the same bytes to every replica of its keys; the write policy decides when the
// client hears back (proxy/replica_write.h).
void RedisSession::replicate(uint32_t pool, std::span<const std::string_view> args) {
    flush_input_run();
    const conf::PoolConfig& config = *worker_.topology().pools()[pool].config;
    ReplySlot* slot = push_slot();
    const auto replicas = static_cast<uint32_t>(replicas_.size());
    auto owned = std::make_unique<ReplicaWrite>(config.write_policy, replicas, false, worker_.stats());
    ReplicaWrite& write = *owned;
    slot->fan_out = std::move(owned);
    for (uint32_t child = 0; child < replicas; ++child) {
        backends::BackendConnection& backend = worker_.backend(pool, replicas_[child], id_);
        write.set_label(child, backend.label());
        evbuffer* out = backend.request_buffer();
        if (out == nullptr) {
            write.set_error(child, backend.unavailable_error());
            continue;
        }
        resp::append_command(out, args);
        slot->add_ref();
        backend.await_reply(slot, child, false);
    }
    slot->finish_fan_out_if_ready();  // every child may have failed at once
}

// A read that moves on to the key's next replica when one fails or times out
// (proxy/replica_read.h). It keeps a copy of the request to send again.
void RedisSession::read_with_failover(uint32_t pool, const RedisCommand& command,
                                      std::span<const std::string_view> args) {
    flush_input_run();
    evbuffer* encoded = evbuffer_new();
    resp::append_command(encoded, args);
    std::string request(evbuffer_get_length(encoded), '\0');
    evbuffer_remove(encoded, request.data(), request.size());
    evbuffer_free(encoded);
    ReplySlot* slot = push_slot();
    auto owned = std::make_unique<ReplicaRead>(worker_, pool, id_, replicas_, std::move(request), false);
    ReplicaRead& read = *owned;
    slot->fan_out = std::move(owned);
    if (command.name == "get" && worker_.topology().pools()[pool].config->miss_failover) {
        read.fail_over_misses(args[key_indices_[0]]);
    }
    read.start(slot);
    slot->finish_fan_out_if_ready();  // every child may have failed at once
}

// Writes of keys in pools with hot-key handling; a write without keys that reaches the servers
// (FLUSHALL, FLUSHDB, a script declaring none) may change any key of the listener's pool.
void RedisSession::guard_writes(const RedisCommand& command, std::span<const std::string_view> args) {
    if (command.kind == CommandKind::local || command.kind == CommandKind::unsupported) return;
    if (key_indices_.empty() || command.kind == CommandKind::broadcast) {
        if (HotKeys* hot = worker_.hot_keys(listener_->default_pool)) guard_flush(*hot);
        return;
    }
    for (uint32_t index : key_indices_) {
        if (HotKeys* hot = worker_.hot_keys(listener_->router.pool_for(args[index]))) guard_write(*hot, args[index]);
    }
}

// A GET of a key in a pool with hot-key handling (proxy/hot_keys.h); false when it takes the
// normal path.
bool RedisSession::read_hot(HotKeys& hot, uint32_t pool, const RedisCommand& command,
                            std::span<const std::string_view> args) {
    const std::string_view key = args[key_indices_[0]];
    if (!hot.record(key)) return false;
    const HotKeys::Read read = hot.look_up({}, key, writes_unanswered());
    if (read.kind == HotKeys::Read::Kind::normal) return false;
    if (answer_without_backend(read)) return true;
    if (read.kind == HotKeys::Read::Kind::spread) {
        worker_.hot_replicas_for(hot, pool, key, id_, replicas_);
        read_with_failover(pool, command, args);
        return true;
    }
    const uint32_t server = worker_.hot_read_server(hot, pool, key, id_, replicas_);
    if (hot.tracks()) {
        backends::TrackingConnection* tracking = hot.tracking(server);
        if (tracking == nullptr) return false;
        PendingRead& fill = hot.start_fill();
        join(fill);
        tracking->send_get(key, &fill, 0);
        return true;
    }
    backends::BackendConnection& backend = worker_.backend(pool, server, id_);
    evbuffer* out = backend.request_buffer();
    if (out == nullptr) return false;
    flush_input_run();  // the client's earlier requests first
    evbuffer_add(out, wire_.data(), wire_.size());
    PendingRead& fill = hot.start_fill();
    join(fill);
    backend.await_reply(&fill, 0, false);
    return true;
}

// Leaves the first key's replica set in replicas_.
bool RedisSession::keys_share_replica_set(uint32_t pool, std::span<const std::string_view> args) {
    worker_.replicas_for(pool, args[key_indices_[0]], replicas_);
    for (size_t i = 1; i < key_indices_.size(); ++i) {
        if (listener_->router.pool_for(args[key_indices_[i]]) != pool) return false;
        worker_.replicas_for(pool, args[key_indices_[i]], other_replicas_);
        if (other_replicas_ != replicas_) return false;
    }
    return true;
}

bool RedisSession::reads_fail_over_for_all_keys(std::span<const std::string_view> args) const {
    if (!worker_.any_reads_fail_over()) return false;
    for (uint32_t index : key_indices_) {
        if (!worker_.reads_fail_over(listener_->router.pool_for(args[index]))) return false;
    }
    return true;
}

// MGET in pools with replicas: a GET per key, each failing over on its own
// (MultiReplicaRead), the answers joined into MGET's array.
void RedisSession::read_keys_with_failover(const RedisCommand& command, std::span<const std::string_view> args) {
    flush_input_run();
    std::vector<std::unique_ptr<ReplicaRead>> reads;
    reads.reserve(key_indices_.size());
    for (uint32_t index : key_indices_) {
        const std::string_view key = args[index];
        const uint32_t pool = listener_->router.pool_for(key);
        worker_.replicas_for(pool, key, replicas_);
        worker_.order_for_read(pool, id_, replicas_);
        // MGET becomes a GET per key; EXISTS and TOUCH keep their name.
        const std::string_view name = command.merge == MergeRule::array_in_key_order ? "GET" : args[0];
        std::string request = "*2\r\n$" + std::to_string(name.size()) + "\r\n";
        request.append(name).append("\r\n$").append(std::to_string(key.size())).append("\r\n");
        request.append(key).append("\r\n");
        reads.push_back(std::make_unique<ReplicaRead>(worker_, pool, id_, replicas_, std::move(request), false));
        if (command.merge == MergeRule::array_in_key_order && worker_.topology().pools()[pool].config->miss_failover) {
            reads.back()->fail_over_misses(key);
        }
    }
    ReplySlot* slot = push_slot();
    auto owned = std::make_unique<MultiReplicaRead>(std::move(reads), false,
                                                    command.merge == MergeRule::integer_sum);
    MultiReplicaRead& read = *owned;
    slot->fan_out = std::move(owned);
    read.start(slot);
    slot->finish_fan_out_if_ready();  // every child may have failed at once
}

uint32_t RedisSession::group_of(Placement placement) {
    uint32_t group = 0;
    while (group < groups_.size() && groups_[group] != placement) ++group;
    if (group == groups_.size()) groups_.push_back(placement);
    return group;
}

void RedisSession::route_split(const RedisCommand& command, std::span<const std::string_view> args,
                               const RespRequest& request) {
    // Reads (MGET, and EXISTS and TOUCH, which only read) fail over key by key with replicas.
    const bool read = (command.flags & command_flag::write) == 0;
    if (read && (command.merge == MergeRule::array_in_key_order || command.merge == MergeRule::integer_sum) &&
        reads_fail_over_for_all_keys(args)) {
        read_keys_with_failover(command, args);
        return;
    }
    // Group keys by backend; each group becomes one sub-request. A write goes to every replica
    // of each key; only the groups of the keys' first replicas count towards a summed reply.
    groups_.clear();
    assignments_.clear();
    for (uint32_t k = 0; k < key_indices_.size(); ++k) {
        const std::string_view key = args[key_indices_[k]];
        const uint32_t pool = listener_->router.pool_for(key);
        if (!is_replicated_write(command, *worker_.topology().pools()[pool].config)) {
            assignments_.push_back({k, group_of(place(key))});
            continue;
        }
        worker_.write_replicas_for(pool, key, id_, replicas_);
        for (size_t r = 0; r < replicas_.size(); ++r) {
            assignments_.push_back({k, group_of(Placement{pool, replicas_[r], r == 0})});
        }
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
    const uint32_t pool = listener_->default_pool;
    const uint32_t servers =
        static_cast<uint32_t>(worker_.topology().pools()[pool].config->servers.size());
    if (servers == 1) {
        send_whole(Placement{pool, 0}, args, request);
        return;
    }
    groups_.clear();
    for (uint32_t server = 0; server < servers; ++server) groups_.push_back(Placement{pool, server});
    assignments_.clear();
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

    const bool keyed = !assignments_.empty();
    const uint32_t stride = command.split_stride;
    if (command.merge == MergeRule::array_in_key_order) {
        // Reads: one assignment per key, in key order.
        child_sizes_.assign(children, 0);
        for (const Assignment& a : assignments_) fan_out.add_key_origin(a.group, child_sizes_[a.group]++);
    }
    for (uint32_t child = 0; child < children; ++child) {
        const Placement target = groups_[child];
        if (!target.counted) fan_out.set_uncounted(child);
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
            for (const Assignment& a : assignments_) count += a.group == child ? stride : 0;
            resp::append_array_header(out, count);
            resp::append_bulk(out, args[0]);
            for (const Assignment& a : assignments_) {
                if (a.group != child) continue;
                for (uint32_t s = 0; s < stride; ++s) resp::append_bulk(out, args[key_indices_[a.key] + s]);
            }
        }
        slot->add_ref();
        backend.await_reply(slot, child, true);
    }
    slot->finish_fan_out_if_ready();  // every child may have failed at once
}

void RedisSession::answer_local(const RedisCommand& command, std::span<const std::string_view> args) {
    ReplySlot* slot = push_slot();
    LocalCommandContext context{worker_, name_, id_, listener_->config->credentials, authenticated_};
    if (answer_local_command(context, command, args, slot->reply) == LocalOutcome::close) {
        stop_after_this_request();  // QUIT: requests pipelined after it are not run
    }
    slot->done = true;
    write_completed();
}

}  // namespace shardproxy::proxy
