#pragma once
// One client connection, whatever protocol it speaks: the socket, the request bytes not yet
// parsed, and the order replies leave in. The protocol sessions (redis_session.h,
// memcache_session.h) parse requests and send them to backends; this class puts the replies
// back in order and keeps what one client can make the proxy hold bounded.
//
// Ordering rule: replies leave in request order, whatever order backends answer in.
//
//   client ──requests──► parse ─► route ─► backend A ──┐     (any order)
//                                    └───► backend B ──┤
//                                                      ▼
//   client ◄──replies── [ head slot ] [ slot ] [ slot ] ... [ tail slot ]
//                        only a done head slot is written out; the replies of head slots
//                        go straight from the backend buffer to the client buffer, several
//                        at a time when a backend answers a pipeline (claim_direct_reply).
//
// Every request that expects a reply gets a ReplySlot appended at the tail when it is parsed;
// local answers and errors fill their slot at once. The session stops reading while too many
// requests are in flight, and a client that leaves more than max_client_output_bytes of replies
// unread is disconnected, so what one client can make the proxy hold is bounded: at most
// kMaxInFlightRequests replies, plus the output limit.
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backends/reply_sink.h"
#include "backends/write_batcher.h"
#include "proxy/hot_keys.h"
#include "proxy/listener_traffic.h"
#include "proxy/reply_slot.h"

#include "routing/topology.h"

namespace shardproxy::proxy {

class Worker;

class ClientSession : public backends::ReplyStream, public backends::WriteBatcher::Writer {
public:
    ClientSession(Worker& worker, std::shared_ptr<const routing::Topology> topology,
                  const routing::ListenerTopology& listener, evutil_socket_t fd, uint64_t id);
    virtual ~ClientSession();
    ClientSession(const ClientSession&) = delete;
    ClientSession& operator=(const ClientSession&) = delete;

    // Called by slots (see reply_slot.h).
    backends::DirectReply claim_direct_reply(ReplySlot* slot);
    void on_direct_replies_appended() override;
    void flush_writes() override;
    virtual void on_reply_bytes(ReplySlot* slot, evbuffer* from, size_t length);
    void on_reply_error(ReplySlot* slot, std::string_view error);
    void on_slot_done(ReplySlot* slot);

    // The client limits of [proxy] (conf/README.md), checked once a second by the worker. A
    // request taking too long to arrive is answered with an error here and the session closes
    // once it is out; close_now asks the worker to close the session at once.
    enum class Limit { within, close_now };
    Limit check_limits(uint64_t now_ms, const conf::ProxyConfig& limits);

    // Counts the request being dispatched.
    void count(RequestClass kind) { traffic_->count(kind); }

    // Graceful stop: no new requests; close once every reply is out.
    void stop_reading();

    const routing::ListenerTopology& listener() const { return *listener_; }
    // A reload: the session's next requests are routed by `listener` of the new configuration.
    void rebind(std::shared_ptr<const routing::Topology> topology, const routing::ListenerTopology& listener);

protected:
    // What handling the request at the front of the unparsed input came to.
    struct Handled {
        enum class Kind {
            consumed,   // `bytes` input bytes used up (their fate is in the input run)
            need_more,  // incomplete: bytes_needed_ says how much input to wait for
            closed,     // the connection is closing and its input was dropped
        };
        Kind kind;
        size_t bytes = 0;
    };
    // Parses and dispatches one request at the start of `unparsed` (at least bytes_needed_
    // bytes, never empty).
    virtual Handled handle_next(std::string_view unparsed) = 0;
    // `error` is a protocol error line body, as backends word it ("ERR ...", "SERVER_ERROR ...").
    virtual void append_error(evbuffer* out, std::string_view error) = 0;
    // The error for a request not completed within client_request_timeout_ms, in the protocol's words.
    virtual std::string request_timeout_error(uint32_t timeout_ms) const = 0;

    // Input bytes already parsed that leave together: moved to a backend, or dropped (null
    // target). Consecutive requests forwarded unchanged to the same backend move in one call.
    struct InputRun {
        evbuffer* target = nullptr;
        size_t bytes = 0;
    };
    // Adds the next `bytes` parsed bytes to the run, flushing it first if they go elsewhere.
    void extend_input_run(evbuffer* target, size_t bytes);
    // Moves the run's bytes out; also needed before anything else is written to a backend, or
    // replies would be matched to the wrong requests.
    void flush_input_run();

    ReplySlot* push_slot();
    void reply_error(std::string_view error);
    void write_completed();
    void update_flow_control();
    void close_when_flushed();

    // Hot-key handling (proxy/hot_keys.h). The request being dispatched writes a key, or every
    // key of a pool: once it is answered, no read through this proxy gets an older value
    // (routing/key_versions.h).
    void guard_write(HotKeys& hot, std::string_view key);
    void guard_flush(HotKeys& hot);
    // Guards of a request that took no slot (noreply) take effect at once.
    void end_unclaimed_guards();
    // Writes of this client not answered yet: its reads of hot keys must then follow them to
    // the server rather than use the near cache or another client's read.
    bool writes_unanswered() const { return unanswered_writes_ > 0; }
    // A read of a hot key that needs no backend: answered from the near cache, or joined to an
    // identical read in flight. False for the other kinds of read.
    bool answer_without_backend(const HotKeys::Read& read);
    void join(PendingRead& read);

    bool accepting_requests() const { return !closing_ && !reading_paused_; }
    bool closing() const { return closing_; }
    void stop_after_this_request() { closing_ = true; }  // QUIT

    Worker& worker_;
    std::shared_ptr<const routing::Topology> topology_;  // holds listener_
    const routing::ListenerTopology* listener_;
    ListenerTraffic* traffic_;  // this worker's counters for the listener
    uint64_t max_output_bytes_;   // replies waiting for the client beyond this close it
    bool overflowed_ = false;     // it went past max_output_bytes_: to be closed
    uint64_t last_activity_ms_;   // the last byte read from or written to the client
    uint64_t partial_since_ms_ = 0;  // when the request not yet complete began; 0: none
    evbuffer* input_;  // what the client sent and the parser has not used up
    uint64_t id_;
    size_t bytes_needed_ = 1;  // input below this cannot make a request complete

private:
    void run_input();
    // Parses and dispatches what input_ holds, as far as flow control allows.
    void process_input();
    // The slot's reply leaves for the client: its writes count as answered.
    void retire(ReplySlot* slot);
    evbuffer* output() const { return bufferevent_get_output(bev_); }

    static void readable_cb(evutil_socket_t fd, short, void* self);
    static void count_sent(evbuffer*, const evbuffer_cb_info* info, void* self);
    static void write_cb(bufferevent*, void* self);
    static void event_cb(bufferevent*, short what, void* self);

    bufferevent* bev_;  // the socket, for writing
    event* read_event_;
    ReplySlot* head_ = nullptr;
    ReplySlot* tail_ = nullptr;
    uint32_t in_flight_ = 0;
    bool reading_paused_ = false;
    bool draining_for_reload_ = false;  // paused until what was sent before a reload is answered
    bool processing_ = false;  // inside process_input: do not re-enter it
    bool closing_ = false;     // QUIT, protocol error or shutdown: no more requests
    InputRun input_run_;       // parsed requests whose bytes have not left input_ yet
    std::vector<WriteGuard> write_guards_;  // of the request being dispatched, until its slot
    uint32_t unanswered_writes_ = 0;         // slots with write guards, not answered yet
};

}  // namespace shardproxy::proxy
