#pragma once
// One persistent, pipelined connection from a worker to one backend server (Redis or memcached:
// only the reply framing and the wording of errors differ).
//
// Requests from many client sessions are appended to one output buffer and leave in a single
// write at the end of the event-loop turn (WriteBatcher). Replies come back in send order, so each is matched to the oldest
// waiting entry of `waiting_`:
//
//     request_buffer() + await_reply()          framer finds the end of each reply
//   sessions ──────────────────────► [ waiting_: oldest ... newest ] ◄────── backend socket
//                                        │
//                                        └─ reply (or timeout / failure) ─► ReplySink
//
// A request that times out is answered with an error at once but keeps its place in
// `waiting_` (with no sink) so that its late reply is recognised and dropped: the connection
// stays usable and in sync. Only a backend that answers nothing for a long time is reconnected.
//
// A Redis endpoint with a password or a database gets AUTH and SELECT first on every new
// connection, ahead of anything queued while it connects. Their replies are checked here and go
// to no sink; a refusal fails the connection like any connection error, naming what was refused.
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backends/memcache_get_batch.h"
#include "backends/redis_reply_parser.h"
#include "backends/reply_framer.h"
#include "backends/server_health.h"
#include "backends/reply_sink.h"
#include "backends/ring_queue.h"
#include "backends/socket_address.h"
#include "backends/write_batcher.h"

namespace shardproxy::backends {

enum class BackendProtocol { redis, memcache };

struct BackendEndpoint {
    std::string label;  // "cache-a (127.0.0.1:7001)", or the address alone when unnamed
    SocketAddress address;
    uint32_t timeout_ms = 1000;
    BackendProtocol protocol = BackendProtocol::redis;
    // Redis only, sent on each new connection before any request.
    std::string auth_user;      // "" logs in with the password alone, as the user "default"
    std::string auth_password;  // "" sends no AUTH
    uint32_t db = 0;            // 0 sends no SELECT
};

// A command as a RESP array of bulk strings, for the few the proxy sends of its own accord.
std::string resp_command(std::initializer_list<std::string_view> args);

// Milliseconds on the monotonic clock that request deadlines use.
uint64_t monotonic_ms();

class BackendConnection final : public WriteBatcher::Writer {
public:
    BackendConnection(event_base* base, WriteBatcher& writes, const BackendEndpoint& endpoint,
                      ServerHealth& health, ServerTraffic& traffic);
    ~BackendConnection();
    BackendConnection(const BackendConnection&) = delete;
    BackendConnection& operator=(const BackendConnection&) = delete;

    // Where to append the next request, or nullptr while the backend is down (then
    // unavailable_error() is the reply to give). Every appended request must be followed by
    // await_reply(). `parsed` (Redis only) delivers the reply as a redisReply object.
    //
    // Errors handed to sinks are worded for the backend's protocol, without the line end:
    // "ERR backend ... timed out" for Redis, "SERVER_ERROR backend ... timed out" for memcached.
    evbuffer* request_buffer();
    void await_reply(ReplySink* sink, uint32_t child, bool parsed);
    // The same, with a deadline of the caller's (milliseconds on monotonic_ms()'s clock): a
    // read retried on another replica keeps its first deadline.
    void await_reply_until(ReplySink* sink, uint32_t child, uint64_t deadline_ms);
    uint32_t timeout_ms() const { return endpoint_.timeout_ms; }
    // memcached only: a single-key "get" or "gets" that joins the multi-key get this connection
    // assembles during the loop turn (memcache_get_batch.h); the sink gets the reply to its own
    // key. False while the backend is down. As with any direct write, the bytes of the
    // caller's earlier requests to this backend must already be in request_buffer().
    bool send_batched_get(std::string_view command, std::string_view key, ReplySink* sink);
    // Why request_buffer() refused, worded for the client: the server is marked down, or this
    // connection is being re-established. Call it once per refused request: refusals of a
    // down server are counted here.
    const std::string& unavailable_error();
    bool available() const { return state_ != State::down && !health_.down(); }
    const std::string& label() const { return endpoint_.label; }
    // Requests sent and not yet answered (timed-out ones left out).
    size_t outstanding() const { return waiting_.size() - timed_out_; }
    // Marked down by its health checks (not merely reconnecting).
    bool marked_down() const { return health_.down(); }
    // A health probe (PING, or version for memcached), sent even while the server is marked
    // down; false when the connection itself is not up.
    bool send_probe(ReplySink* sink);

    void flush_writes() override;


private:
    enum class State { connecting, connected, down };

    struct Waiting {
        ReplySink* sink;  // null once answered early (timed out)
        uint32_t child;
        bool parsed;
        bool batched;  // a member of a multi-key get (get_batch_)
        uint64_t deadline_ms;
        bool handshake;  // AUTH or SELECT, answered to the connection itself (sink is null)
        uint64_t sent_us;  // the loop turn it was sent in, for the latency histogram
    };

    // Claimed replies waiting at the front of the input buffer to move to one client buffer.
    struct DirectRun {
        DirectReply target;
        size_t bytes = 0;
    };

    void connect();
    void prepare_handshake();
    void queue_handshake();
    bool handshaking() const { return handshake_answered_ < handshake_steps_.size(); }
    // False when the reply refused the handshake, and the connection was failed for it.
    bool accept_handshake_reply(evbuffer* in, size_t length);
    void push_waiting(ReplySink* sink, uint32_t child, bool parsed, bool batched, uint64_t deadline);
    void on_read();
    void deliver_batch(evbuffer* in, size_t length, uint64_t now_us);
    void flush_run(evbuffer* in, DirectRun& run);
    void close_socket();
    void on_event(short what);
    void on_deadline();
    void on_retry();
    void fail(const std::string& reason);
    // The same, with the error the waiting requests get.
    void fail(const std::string& reason, const std::string& error);
    void fail_all_waiting(const std::string& error);
    void arm_deadline_timer();
    std::string error_text(std::string_view what) const;

    static void readable_cb(evutil_socket_t fd, short, void* self);
    static void write_cb(bufferevent*, void* self);
    static void event_cb(bufferevent*, short what, void* self);
    static void deadline_cb(evutil_socket_t, short, void* self);
    static void retry_cb(evutil_socket_t, short, void* self);

    event_base* base_;
    WriteBatcher& writes_;
    BackendEndpoint endpoint_;
    ServerHealth& health_;
    ServerTraffic& traffic_;  // this worker's counters for the server
    bufferevent* bev_ = nullptr;  // connects and writes
    evbuffer* input_;             // replies not yet handed on
    event* read_event_ = nullptr;
    event* deadline_timer_;
    event* retry_timer_;
    State state_ = State::down;
    std::unique_ptr<ReplyFramer> framer_;
    std::unique_ptr<RedisReplyParser> parser_;  // made when a fan-out first needs it
    MemcacheGetBatch get_batch_;
    evbuffer* batch_part_;  // one member's reply, when its sink cannot take it directly
    RingQueue<Waiting> waiting_;
    size_t timed_out_ = 0;  // the oldest `timed_out_` entries of waiting_ have no sink
    std::string handshake_;  // the AUTH and SELECT commands of each new connection
    std::vector<std::string> handshake_steps_;  // what each one is called in errors: "AUTH", "SELECT 3"
    size_t handshake_answered_ = 0;  // of this connection's steps
    uint64_t timer_due_ms_ = 0;  // when deadline_timer_ fires, while it is pending
    uint32_t retry_delay_ms_;
    std::string unavailable_error_;
    std::string down_error_;
    std::string timeout_error_;
};

}  // namespace shardproxy::backends
