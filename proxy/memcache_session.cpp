#include "proxy/memcache_session.h"

#include <algorithm>

#include "backends/backend_connection.h"
#include "proxy/hot_keys.h"
#include "proxy/memcache_fan_out.h"
#include "proxy/memcache_local_commands.h"
#include "proxy/replica_read.h"
#include "proxy/replica_write.h"
#include "proxy/reply_slot.h"
#include "proxy/worker.h"
#include "routing/topology.h"

namespace shardproxy::proxy {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kTooLarge = "SERVER_ERROR object too large for cache";

bool is_meta(MemcacheCommand command) {
    switch (command) {
    case MemcacheCommand::meta_get:
    case MemcacheCommand::meta_set:
    case MemcacheCommand::meta_delete:
    case MemcacheCommand::meta_arithmetic:
    case MemcacheCommand::meta_noop:
    case MemcacheCommand::meta_debug:
        return true;
    default:
        return false;
    }
}

// Text noreply: the client hears nothing about the request, not even an error. (Meta quiet
// mode is different: errors are still answered.)
bool silent(const MemcacheRequest& request) {
    return request.quiet_token != 0 && !is_meta(request.command);
}

// memcached answers each text get with its own write but a multi-key get with one, so single-key
// gets to one server are sent together (backends/memcache_get_batch.h).
bool single_key_get(const MemcacheRequest& request) {
    return (request.command == MemcacheCommand::get || request.command == MemcacheCommand::gets) &&
           request.key_count == 1;
}

// Requests that change data, and so go to every replica.
bool is_write(MemcacheCommand command) {
    switch (command) {
    case MemcacheCommand::set:
    case MemcacheCommand::add:
    case MemcacheCommand::replace:
    case MemcacheCommand::append:
    case MemcacheCommand::prepend:
    case MemcacheCommand::cas:
    case MemcacheCommand::delete_key:
    case MemcacheCommand::incr:
    case MemcacheCommand::decr:
    case MemcacheCommand::touch:
    case MemcacheCommand::meta_set:
    case MemcacheCommand::meta_delete:
    case MemcacheCommand::meta_arithmetic:
        return true;
    default:
        return false;
    }
}

// An mg whose reply depends on the item alone, so one client's reply may answer another's:
// no opaque or quiet flag, nothing that changes the item or reads its access history.
bool cacheable_meta_get(const MemcacheRequest& request) {
    if (request.quiet_token != 0) return false;
    for (size_t t = 2; t < request.tokens.size(); ++t) {
        const std::string_view flag = request.tokens[t];
        if (flag.size() != 1 || std::string_view("bcfkstv").find(flag[0]) == std::string_view::npos) return false;
    }
    return true;
}

// An mg that sets a time to live or creates the item (T, N) changes it like a write.
bool meta_get_writes(const MemcacheRequest& request) {
    for (size_t t = 2; t < request.tokens.size(); ++t) {
        if (request.tokens[t].starts_with('T') || request.tokens[t].starts_with('N')) return true;
    }
    return false;
}

// The parser must hold a whole data block before the request can be forwarded, so it refuses
// blocks larger than the largest item any pool of this listener accepts.
uint64_t largest_item(const routing::Topology& topology, const routing::ListenerTopology& listener) {
    uint64_t largest = topology.pools()[listener.default_pool].config->item_size_max;
    for (const auto& route : listener.config->routes) {
        for (const auto& pool : topology.pools()) {
            if (pool.config->name == route.pool) largest = std::max<uint64_t>(largest, pool.config->item_size_max);
        }
    }
    return largest;
}

void add(evbuffer* out, std::string_view text) { evbuffer_add(out, text.data(), text.size()); }

}  // namespace

MemcacheSession::MemcacheSession(Worker& worker, std::shared_ptr<const routing::Topology> topology,
                                 const routing::ListenerTopology& listener, evutil_socket_t fd, uint64_t id)
    : ClientSession(worker, std::move(topology), listener, fd, id),
      parser_(largest_item(worker.topology(), listener),
              worker.topology().config().proxy.max_request_bytes,
              listener.config->key_rules == conf::KeyRules::memcached) {}

ClientSession::Handled MemcacheSession::handle_next(std::string_view unparsed) {
    MemcacheRequest request;
    const auto status = parser_.parse(unparsed, request);
    if (status == MemcacheRequestParser::Status::need_more) {
        bytes_needed_ = parser_.bytes_needed();
        return {Handled::Kind::need_more};
    }
    bytes_needed_ = 1;
    if (status != MemcacheRequestParser::Status::request) {
        // An error, or part of a data block being swallowed: the bytes are dropped.
        extend_input_run(nullptr, parser_.consumed());
        if (status == MemcacheRequestParser::Status::error) {
            traffic_->count(ErrorKind::request);
            if (!parser_.error_reply().empty()) reply_line(parser_.error_reply());
            if (parser_.must_close()) {
                flush_input_run();
                evbuffer_drain(input_, evbuffer_get_length(input_));
                close_when_flushed();
                return {Handled::Kind::closed};
            }
        }
        return {Handled::Kind::consumed, parser_.consumed()};
    }
    forward_to_ = nullptr;
    line_rewritten_ = false;
    worker_.stats().bump_commands();
    wire_ = unparsed.substr(0, request.wire_bytes);
    if (worker_.any_hot_keys()) guard_writes(request);
    execute(request);
    end_unclaimed_guards();
    if (line_rewritten_) {
        extend_input_run(nullptr, request.line_bytes);
        if (request.data_bytes > 0) extend_input_run(forward_to_, request.data_bytes);
    } else {
        extend_input_run(forward_to_, request.wire_bytes);
    }
    return {Handled::Kind::consumed, request.wire_bytes};
}

std::string MemcacheSession::request_timeout_error(uint32_t timeout_ms) const {
    return "CLIENT_ERROR request not completed within " + std::to_string(timeout_ms) + " ms";
}

void MemcacheSession::append_error(evbuffer* out, std::string_view error) {
    add(out, error);
    add(out, kCrlf);
}

RequestClass MemcacheSession::request_class(MemcacheCommand command) {
    switch (command) {
    case MemcacheCommand::get:
    case MemcacheCommand::gets:
    case MemcacheCommand::meta_get:
        return RequestClass::read;
    case MemcacheCommand::version:
    case MemcacheCommand::verbosity:
    case MemcacheCommand::stats:
    case MemcacheCommand::quit:
    case MemcacheCommand::meta_noop:
        return RequestClass::local;
    case MemcacheCommand::meta_debug:
        return RequestClass::other;
    default:  // gat and gats too: they change the time to live
        return RequestClass::write;
    }
}

void MemcacheSession::execute(const MemcacheRequest& request) {
    count(request_class(request.command));
    switch (request.command) {
    case MemcacheCommand::get:
    case MemcacheCommand::gets:
    case MemcacheCommand::gat:
    case MemcacheCommand::gats:
        route_retrieval(request);
        return;
    case MemcacheCommand::flush_all:
        route_flush_all(request);
        return;
    case MemcacheCommand::version:
    case MemcacheCommand::verbosity:
    case MemcacheCommand::stats:
    case MemcacheCommand::quit:
    case MemcacheCommand::meta_noop:
        reply_local(request);
        return;
    default:
        route_keyed(request);
        return;
    }
}

// Writes of keys in pools with hot-key handling (gat and gats count: they change the time to
// live); flush_all changes every key of the listener's pool.
void MemcacheSession::guard_writes(const MemcacheRequest& request) {
    switch (request.command) {
    case MemcacheCommand::flush_all:
        if (HotKeys* hot = worker_.hot_keys(listener_->default_pool)) guard_flush(*hot);
        return;
    case MemcacheCommand::gat:
    case MemcacheCommand::gats:
        for (uint32_t k = 0; k < request.key_count; ++k) {
            const std::string_view key = request.tokens[request.first_key + k];
            if (HotKeys* hot = worker_.hot_keys(listener_->router.pool_for(key))) guard_write(*hot, key);
        }
        return;
    case MemcacheCommand::meta_get:
        if (!meta_get_writes(request)) return;
        break;
    default:
        if (!is_write(request.command)) return;
        break;
    }
    if (HotKeys* hot = worker_.hot_keys(listener_->router.pool_for(request.hash_key))) guard_write(*hot, request.hash_key);
}

// A single-key get or gets, or an mg, of a key in a pool with hot-key handling
// (proxy/hot_keys.h); false when it takes the normal path.
bool MemcacheSession::read_hot(HotKeys& hot, uint32_t pool, const MemcacheRequest& request) {
    const std::string_view key = request.hash_key;
    if (!hot.record(key)) return false;
    // Replies differ by command and meta flags; a line end cannot occur in either, so it
    // separates them from the key.
    signature_.assign(request.tokens[0]);
    for (size_t t = 2; t < request.tokens.size(); ++t) signature_.append(" ").append(request.tokens[t]);
    signature_ += '\n';
    const HotKeys::Read read = hot.look_up(signature_, key, writes_unanswered());
    if (read.kind == HotKeys::Read::Kind::normal) return false;
    if (answer_without_backend(read)) return true;
    if (read.kind == HotKeys::Read::Kind::spread) {
        worker_.hot_replicas_for(hot, pool, key, id_, replicas_);
        read_replicas_in_order(pool, request);
        return true;
    }
    backends::BackendConnection& backend =
        worker_.backend(pool, worker_.hot_read_server(hot, pool, key, id_, replicas_), id_);
    if (!backend.available()) return false;
    flush_input_run();  // the client's earlier requests first
    PendingRead& fill = hot.start_fill();
    join(fill);
    if (request.command == MemcacheCommand::meta_get) {
        evbuffer_add(backend.request_buffer(), wire_.data(), wire_.size());
        backend.await_reply(&fill, 0, false);
    } else {
        backend.send_batched_get(request.tokens[0], key, &fill);
    }
    return true;
}

// Where a read of the key goes (with replicas, the first one in service).
MemcacheSession::Placement MemcacheSession::place(std::string_view key) {
    const uint32_t pool = listener_->router.pool_for(key);
    return Placement{pool, worker_.read_server_for(pool, key, id_, replicas_)};
}

void MemcacheSession::route_keyed(const MemcacheRequest& request) {
    const uint32_t pool = listener_->router.pool_for(request.hash_key);
    const conf::PoolConfig& config = *worker_.topology().pools()[pool].config;
    if (request.data_bytes > 0 && request.data_bytes - kCrlf.size() > config.item_size_max) {
        if (!silent(request)) reply_line(kTooLarge);
        return;
    }
    if (config.replicas > 1 && is_write(request.command)) {
        worker_.write_replicas_for(pool, request.hash_key, id_, replicas_);
        replicate(pool, request);
        return;
    }
    if (request.command == MemcacheCommand::meta_get && cacheable_meta_get(request)) {
        if (HotKeys* hot = worker_.hot_keys(pool); hot != nullptr && read_hot(*hot, pool, request)) return;
    }
    if (request.command == MemcacheCommand::meta_get && config.replicas > 1) {
        // A T flag sets a new time to live: the other replicas get it too.
        for (uint32_t t = 2; t < request.tokens.size(); ++t) {
            if (!request.tokens[t].starts_with('T')) continue;
            const bool base64 = std::find(request.tokens.begin() + 2, request.tokens.end(), "b") != request.tokens.end();
            touch_other_replicas(request.hash_key, "mg " + std::string(request.tokens[1]) + " " +
                                                       std::string(request.tokens[t]) + (base64 ? " b" : "") + "\r\n");
            break;
        }
    }
    if (worker_.reads_fail_over(pool) && request.quiet_token == 0) {
        read_with_failover(pool, request);
        return;
    }
    send(Placement{pool, worker_.read_server_for(pool, request.hash_key, id_, replicas_)}, request);
}

// A read that also sets a time to live (gat, gats, mg with T) is sent to one replica; the
// key's other replicas in service get the new time to live as a request of their own, whose
// answer nobody waits for (failures are counted as noreply failures).
bool MemcacheSession::reads_fail_over_for_all_keys(const MemcacheRequest& request) const {
    if (!worker_.any_reads_fail_over()) return false;
    for (uint32_t k = 0; k < request.key_count; ++k) {
        if (!worker_.reads_fail_over(listener_->router.pool_for(request.tokens[request.first_key + k]))) return false;
    }
    return true;
}

// A get of several keys in pools with replicas: a get per key, each failing over on its own
// (MultiReplicaRead), the hits joined in key order under one END.
void MemcacheSession::read_keys_with_failover(const MemcacheRequest& request) {
    flush_input_run();
    std::vector<std::unique_ptr<ReplicaRead>> reads;
    reads.reserve(request.key_count);
    for (uint32_t k = 0; k < request.key_count; ++k) {
        const std::string_view key = request.tokens[request.first_key + k];
        const uint32_t pool = listener_->router.pool_for(key);
        worker_.replicas_for(pool, key, replicas_);
        worker_.order_for_read(pool, id_, replicas_);
        std::string line(request.tokens[0]);
        line.append(" ").append(key).append("\r\n");
        reads.push_back(std::make_unique<ReplicaRead>(worker_, pool, id_, replicas_, std::move(line), true));
        if (worker_.topology().pools()[pool].config->miss_failover) reads.back()->fail_over_misses(key);
    }
    ReplySlot* slot = push_slot();
    auto owned = std::make_unique<MultiReplicaRead>(std::move(reads), true);
    MultiReplicaRead& read = *owned;
    slot->fan_out = std::move(owned);
    read.start(slot);
    slot->finish_fan_out_if_ready();  // every child may have failed at once
}

bool MemcacheSession::replicated(std::string_view key) const {
    return worker_.topology().pools()[listener_->router.pool_for(key)].config->replicas > 1;
}

void MemcacheSession::touch_other_replicas(std::string_view key, const std::string& touch) {
    const uint32_t pool = listener_->router.pool_for(key);
    flush_input_run();  // earlier requests first, as for any request written directly
    const uint32_t read_server = place(key).server;
    worker_.replicas_for(pool, key, replicas_);
    for (uint32_t server : replicas_) {
        if (server == read_server) continue;
        backends::BackendConnection& backend = worker_.backend(pool, server, id_);
        evbuffer* out = backend.request_buffer();
        if (out == nullptr) {
            worker_.stats().bump_noreply_failures();
            continue;
        }
        evbuffer_add(out, touch.data(), touch.size());
        backend.await_reply(&worker_.noreply_sink(), 0, false);
    }
}

// A read that moves on to the key's next replica when one fails or times out
// (proxy/replica_read.h), with a copy of its line to send again.
void MemcacheSession::read_with_failover(uint32_t pool, const MemcacheRequest& request) {
    worker_.replicas_for(pool, request.hash_key, replicas_);
    worker_.order_for_read(pool, id_, replicas_);
    read_replicas_in_order(pool, request);
}

// The same, trying the replicas in the order replicas_ holds.
void MemcacheSession::read_replicas_in_order(uint32_t pool, const MemcacheRequest& request) {
    flush_input_run();
    std::string line;
    for (uint32_t t = 0; t < request.tokens.size(); ++t) {
        if (t > 0) line += ' ';
        line.append(request.tokens[t]);
    }
    line += "\r\n";
    ReplySlot* slot = push_slot();
    auto owned = std::make_unique<ReplicaRead>(worker_, pool, id_, replicas_, std::move(line), true);
    ReplicaRead& read = *owned;
    slot->fan_out = std::move(owned);
    if (single_key_get(request) && worker_.topology().pools()[pool].config->miss_failover) {
        read.fail_over_misses(request.hash_key);
    }
    read.start(slot);
    slot->finish_fan_out_if_ready();  // every child may have failed at once
}

// The same request to every replica of its key; the write policy decides when the client
// hears back (proxy/replica_write.h). The line is rewritten without noreply/q, as for one
// server, and the data block copied to each replica.
void MemcacheSession::replicate(uint32_t pool, const MemcacheRequest& request) {
    flush_input_run();
    const conf::PoolConfig& config = *worker_.topology().pools()[pool].config;
    const auto replicas = static_cast<uint32_t>(replicas_.size());
    ReplySlot* slot = nullptr;
    ReplicaWrite* write = nullptr;
    if (!silent(request)) {
        slot = push_slot();
        auto owned = std::make_unique<ReplicaWrite>(config.write_policy, replicas, true, worker_.stats());
        write = owned.get();
        if (request.quiet_token != 0) write->set_quiet(request.command);
        slot->fan_out = std::move(owned);
    }
    // The data block, when there is one, follows the line in the input buffer.
    const char* block = reinterpret_cast<const char*>(evbuffer_pullup(input_, static_cast<ev_ssize_t>(request.wire_bytes)));
    for (uint32_t child = 0; child < replicas; ++child) {
        backends::BackendConnection& backend = worker_.backend(pool, replicas_[child], id_);
        if (write != nullptr) write->set_label(child, backend.label());
        evbuffer* out = backend.request_buffer();
        if (out == nullptr) {
            if (write != nullptr) {
                write->set_error(child, backend.unavailable_error());
            } else {
                worker_.stats().bump_noreply_failures();
            }
            continue;
        }
        append_line_without_quiet(out, request);
        if (request.data_bytes > 0) evbuffer_add(out, block + request.line_bytes, request.data_bytes);
        if (write == nullptr) {
            backend.await_reply(&worker_.noreply_sink(), 0, false);
        } else {
            slot->add_ref();
            backend.await_reply(slot, child, false);
        }
    }
    if (slot != nullptr) slot->finish_fan_out_if_ready();  // every child failed at once
}

void MemcacheSession::route_retrieval(const MemcacheRequest& request) {
    if (request.command == MemcacheCommand::gat || request.command == MemcacheCommand::gats) {
        for (uint32_t k = 0; k < request.key_count; ++k) {
            const std::string_view key = request.tokens[request.first_key + k];
            if (!replicated(key)) continue;
            touch_other_replicas(key, "touch " + std::string(key) + " " + std::string(request.tokens[1]) + "\r\n");
        }
    }
    if (single_key_get(request) && worker_.any_hot_keys()) {
        const uint32_t pool = listener_->router.pool_for(request.hash_key);
        if (HotKeys* hot = worker_.hot_keys(pool); hot != nullptr && read_hot(*hot, pool, request)) return;
    }
    groups_.clear();
    key_group_.clear();
    for (uint32_t k = 0; k < request.key_count; ++k) {
        const Placement placement = place(request.tokens[request.first_key + k]);
        uint32_t group = 0;
        while (group < groups_.size() && groups_[group] != placement) ++group;
        if (group == groups_.size()) groups_.push_back(placement);
        key_group_.push_back(group);
    }
    const bool plain_get = request.command == MemcacheCommand::get || request.command == MemcacheCommand::gets;
    if (plain_get && request.key_count > 1 && reads_fail_over_for_all_keys(request)) {
        read_keys_with_failover(request);
        return;
    }
    if (groups_.size() == 1) {
        if (request.key_count == 1 && worker_.reads_fail_over(groups_[0].pool)) {
            read_with_failover(groups_[0].pool, request);
            return;
        }
        send(groups_[0], request);
        return;
    }
    split_retrieval(request);
}

void MemcacheSession::send(Placement target, const MemcacheRequest& request) {
    backends::BackendConnection& backend = worker_.backend(target.pool, target.server, id_);
    if (!backend.available()) {
        if (silent(request)) {
            worker_.stats().bump_noreply_failures();
        } else {
            reply_error(backend.unavailable_error());
        }
        return;
    }
    if (single_key_get(request)) {
        // Joins the multi-key get the connection assembles this turn; the request's own bytes
        // are dropped. Earlier requests still waiting in the input run must be sent first.
        flush_input_run();
        ReplySlot* slot = push_slot();
        slot->add_ref();
        backend.send_batched_get(request.tokens[0], request.hash_key, slot);
        return;
    }
    evbuffer* out = backend.request_buffer();
    if (request.quiet_token != 0) {
        // Earlier requests still waiting in the input run must reach the backend first.
        flush_input_run();
        append_line_without_quiet(out, request);
        line_rewritten_ = true;
    }
    forward_to_ = out;
    if (silent(request)) {
        backend.await_reply(&worker_.noreply_sink(), 0, false);
        return;
    }
    ReplySlot* slot = push_slot();
    if (request.quiet_token != 0) {
        slot->inspect_reply = true;
        slot->request_kind = static_cast<uint8_t>(request.command);
    }
    slot->add_ref();
    backend.await_reply(slot, 0, false);
}

void MemcacheSession::split_retrieval(const MemcacheRequest& request) {
    // Earlier requests still waiting in the input run must reach their backend before the
    // sub-requests do, or replies would be matched to the wrong requests.
    flush_input_run();
    ReplySlot* slot = push_slot();
    const auto children = static_cast<uint32_t>(groups_.size());
    auto owned = std::make_unique<MemcacheFanOut>(MemcacheFanOut::Merge::values_in_key_order, children);
    MemcacheFanOut& fan_out = *owned;
    slot->fan_out = std::move(owned);
    for (uint32_t k = 0; k < request.key_count; ++k) {
        fan_out.add_key(request.tokens[request.first_key + k], key_group_[k]);
    }
    for (uint32_t child = 0; child < children; ++child) {
        backends::BackendConnection& backend = worker_.backend(groups_[child].pool, groups_[child].server, id_);
        evbuffer* out = backend.request_buffer();
        if (out == nullptr) {
            fan_out.set_error(child, backend.unavailable_error());
            continue;
        }
        // "get k1 k3", or "gat <exptime> k1 k3": the command and what precedes the keys.
        for (uint32_t t = 0; t < request.first_key; ++t) {
            if (t > 0) add(out, " ");
            add(out, request.tokens[t]);
        }
        for (uint32_t k = 0; k < request.key_count; ++k) {
            if (key_group_[k] != child) continue;
            add(out, " ");
            add(out, request.tokens[request.first_key + k]);
        }
        add(out, kCrlf);
        slot->add_ref();
        backend.await_reply(slot, child, false);
    }
    slot->finish_fan_out_if_ready();  // every child may have failed at once
}

void MemcacheSession::route_flush_all(const MemcacheRequest& request) {
    // Every server of the listener's pool, each sent the line without noreply; the merged
    // answer is OK only when all of them said OK.
    flush_input_run();
    const uint32_t pool = listener_->default_pool;
    const auto servers = static_cast<uint32_t>(worker_.topology().pools()[pool].config->servers.size());
    ReplySlot* slot = nullptr;
    MemcacheFanOut* fan_out = nullptr;
    if (!silent(request)) {
        slot = push_slot();
        auto owned = std::make_unique<MemcacheFanOut>(MemcacheFanOut::Merge::all_ok, servers);
        fan_out = owned.get();
        slot->fan_out = std::move(owned);
    }
    for (uint32_t server = 0; server < servers; ++server) {
        backends::BackendConnection& backend = worker_.backend(pool, server, id_);
        evbuffer* out = backend.request_buffer();
        if (out == nullptr) {
            if (fan_out != nullptr) {
                fan_out->set_error(server, backend.unavailable_error());
            } else {
                worker_.stats().bump_noreply_failures();
            }
            continue;
        }
        append_line_without_quiet(out, request);
        if (fan_out == nullptr) {
            backend.await_reply(&worker_.noreply_sink(), 0, false);
        } else {
            slot->add_ref();
            backend.await_reply(slot, server, false);
        }
    }
    if (slot != nullptr) slot->finish_fan_out_if_ready();  // every child failed at once
}

void MemcacheSession::append_line_without_quiet(evbuffer* out, const MemcacheRequest& request) const {
    bool first = true;
    for (uint32_t t = 0; t < request.tokens.size(); ++t) {
        if (t == request.quiet_token && t != 0) continue;
        if (!first) add(out, " ");
        add(out, request.tokens[t]);
        first = false;
    }
    add(out, kCrlf);
}

void MemcacheSession::reply_line(std::string_view line) {
    ReplySlot* slot = push_slot();
    append_error(slot->reply, line);
    on_slot_done(slot);
}

void MemcacheSession::reply_local(const MemcacheRequest& request) {
    switch (request.command) {
    case MemcacheCommand::quit:
        // Requests pipelined after quit are not run; earlier ones are still answered.
        stop_reading();
        return;
    case MemcacheCommand::verbosity:
        if (!silent(request)) reply_line("OK");
        return;
    case MemcacheCommand::meta_noop:
        reply_line("MN");
        return;
    default:
        break;
    }
    ReplySlot* slot = push_slot();
    if (request.command == MemcacheCommand::version) {
        append_memcache_version(slot->reply);
    } else {
        append_memcache_stats(worker_, request.tokens, slot->reply);
    }
    on_slot_done(slot);
}

void MemcacheSession::on_reply_bytes(ReplySlot* slot, evbuffer* from, size_t length) {
    if (slot->inspect_reply) {
        // Quiet mode: the status line decides whether memcached would have said anything.
        char head[64];
        const size_t copied = static_cast<size_t>(evbuffer_copyout(from, head, std::min(length, sizeof(head))));
        std::string_view line(head, copied);
        line = line.substr(0, line.find(kCrlf));
        if (meta_quiet_withholds(static_cast<MemcacheCommand>(slot->request_kind), line)) {
            evbuffer_drain(from, length);
            on_slot_done(slot);
            return;
        }
    }
    ClientSession::on_reply_bytes(slot, from, length);
}

}  // namespace shardproxy::proxy
