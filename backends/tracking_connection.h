#pragma once
// The connection a worker's near cache reads hot keys through, in pools with
// invalidation = "tracking": one per worker per server. It speaks RESP3 with client-side
// caching on (HELLO 3, CLIENT TRACKING ON), so Redis remembers the keys read on it and sends an
// invalidation push when one changes, on this same connection:
//
//     GET k ──►                                     redis
//          ◄── $1 v   ◄── >2 invalidate [k]   ◄──   (one ordered stream)
//
// Because the push and the replies share one ordered stream, a read's reply always comes
// before the invalidation of what it read: the cache cannot keep a value that changed while
// it was being fetched. Replies are matched to requests in send order; pushes come between
// them at any point and answer no request.
//
// These reads are rare (one per hot key per cache lifetime), so nothing is batched, and a
// request that times out is not worth keeping the stream in sync for: the connection is
// replaced, as it is after any failure, and the listener told to forget everything.
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backends/backend_connection.h"
#include "backends/reply_sink.h"
#include "backends/resp3_framer.h"
#include "backends/ring_queue.h"

namespace shardproxy::backends {

// Told about invalidations; called on the connection's event loop thread.
class TrackingListener {
public:
    virtual void on_invalidate(std::string_view key) = 0;  // the key changed on the server
    // Anything read through this connection may be stale: the server flushed (a push with a
    // null key list), or the connection was lost or (re)established, so invalidations may have
    // been missed.
    virtual void on_invalidate_all() = 0;

protected:
    ~TrackingListener() = default;
};

class TrackingConnection {
public:
    // Connects at once, and again after each failure, backing off.
    TrackingConnection(event_base* base, const BackendEndpoint& endpoint, TrackingListener& listener);
    // Fails waiting requests with "ERR backend <label> connection closed: proxy shutting down";
    // the listener is not called.
    ~TrackingConnection();
    TrackingConnection(const TrackingConnection&) = delete;
    TrackingConnection& operator=(const TrackingConnection&) = delete;

    // Connected, and HELLO 3 (with AUTH when the endpoint has a password), SELECT (when it has
    // a database) and CLIENT TRACKING ON all answered successfully. A server that refuses any
    // (older than Redis 6, or a wrong password) never gets here; it is retried, backing off.
    bool ready() const { return state_ == State::ready; }
    // Sends GET key; false (and nothing sent) unless ready(). The reply reaches the sink exactly
    // once, then sink->release():
    //  - on_reply_bytes with the reply as RESP2: "$<n>\r\n<data>\r\n", "$-1\r\n" for null,
    //    "-<error>\r\n" for an error; any other type becomes
    //    "-ERR backend <label> unexpected reply type\r\n";
    //  - or on_failure with "ERR backend <label> timed out" or "... connection closed: <reason>".
    // claim_direct and on_reply_object are never called.
    bool send_get(std::string_view key, ReplySink* sink, uint32_t child);
    const std::string& label() const { return endpoint_.label; }

private:
    enum class State {
        down,         // waiting to reconnect
        connecting,
        handshaking,  // the handshake sent, not all of it answered
        ready,
    };

    struct Waiting {
        ReplySink* sink;
        uint32_t child;
        uint64_t deadline_ms;
    };

    void prepare_handshake();
    void connect();
    void on_connected();
    void on_read();
    // False when the frame cost the connection.
    bool on_frame(evbuffer* in, size_t length);
    void on_push();
    bool on_handshake_reply();
    void deliver(evbuffer* in, size_t length);
    void on_deadline();
    void arm_deadline(uint64_t when);
    void fail(const std::string& request_error);
    void fail_all_waiting(const std::string& error);
    void close_socket();
    std::string error_text(std::string_view what) const;

    static void read_cb(bufferevent*, void* self);
    static void event_cb(bufferevent*, short what, void* self);
    static void deadline_cb(evutil_socket_t, short, void* self);
    static void retry_cb(evutil_socket_t, short, void* self);

    event_base* base_;
    BackendEndpoint endpoint_;
    TrackingListener& listener_;
    bufferevent* bev_ = nullptr;
    event* deadline_timer_;  // the oldest request's deadline, or the handshake's
    event* retry_timer_;
    evbuffer* converted_;    // a reply rewritten for the sink
    State state_ = State::down;
    std::string handshake_;  // HELLO 3 [AUTH], SELECT, CLIENT TRACKING ON
    std::vector<std::string> handshake_steps_;  // what each command is called in errors
    size_t handshake_answered_ = 0;
    Resp3Framer framer_;
    RingQueue<Waiting> waiting_;
    uint32_t retry_delay_ms_;
    std::string timeout_error_;
    std::string unexpected_reply_;  // the RESP2 error line for a reply of another type
};

}  // namespace shardproxy::backends
