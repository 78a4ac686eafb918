#pragma once
// One Redis client connection.
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
// Every request gets a ReplySlot appended at the tail when it is parsed; local answers and
// errors fill their slot at once. The session stops reading while too many requests are in
// flight or too many reply bytes wait for a slow client, so what one client can make the proxy
// hold is bounded: at most kMaxInFlightRequests replies, plus the output limit.
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backends/reply_sink.h"
#include "backends/write_batcher.h"
#include "proxy/resp_request_parser.h"

namespace shardproxy::routing {
struct ListenerTopology;
}

namespace shardproxy::proxy {

class ReplySlot;
class Worker;
struct RedisCommand;

class RedisSession final : public backends::ReplyStream, public backends::WriteBatcher::Writer {
public:
    RedisSession(Worker& worker, const routing::ListenerTopology& listener, evutil_socket_t fd,
                 uint64_t id);
    ~RedisSession();
    RedisSession(const RedisSession&) = delete;
    RedisSession& operator=(const RedisSession&) = delete;

    // Called by slots (see reply_slot.h).
    backends::DirectReply claim_direct_reply(ReplySlot* slot);
    void on_direct_replies_appended() override;
    void flush_writes() override;
    void on_reply_bytes(ReplySlot* slot, evbuffer* from, size_t length);
    void on_reply_error(ReplySlot* slot, std::string_view error);
    void on_slot_done(ReplySlot* slot);

    // Graceful stop: no new requests; close once every reply is out.
    void stop_reading();

private:
    struct Placement {
        uint32_t pool = 0;
        uint32_t server = 0;
        bool operator==(const Placement&) const = default;
    };

    // Input bytes already parsed that leave together: moved to a backend, or dropped (null).
    struct InputRun {
        evbuffer* target = nullptr;
        size_t bytes = 0;
    };

    void process_input();
    // Moves the run's bytes out; also needed before anything else is written to a backend.
    void flush_input_run();
    void execute(std::span<const std::string_view> args, const RespRequest& request);
    Placement place(std::string_view key) const;
    void route_keyed(std::span<const std::string_view> args, const RespRequest& request);
    void route_split(const RedisCommand& command, std::span<const std::string_view> args,
                     const RespRequest& request);
    void route_broadcast(const RedisCommand& command, std::span<const std::string_view> args,
                         const RespRequest& request);
    void send_whole(Placement target, std::span<const std::string_view> args,
                    const RespRequest& request);
    void fan_out(const RedisCommand& command, std::span<const std::string_view> args,
                 uint32_t children);
    void answer_local(const RedisCommand& command, std::span<const std::string_view> args);

    ReplySlot* push_slot();
    void reply_error(std::string_view error);
    void write_completed();
    void update_flow_control();
    void close_when_flushed();

    static void readable_cb(evutil_socket_t fd, short, void* self);
    static void write_cb(bufferevent*, void* self);
    static void event_cb(bufferevent*, short what, void* self);

    Worker& worker_;
    const routing::ListenerTopology& listener_;
    bufferevent* bev_;     // the socket, for writing
    evbuffer* input_;      // what the client sent and the parser has not used up
    event* read_event_;
    uint64_t id_;
    RespRequestParser parser_;
    size_t bytes_needed_ = 1;
    ReplySlot* head_ = nullptr;
    ReplySlot* tail_ = nullptr;
    uint32_t in_flight_ = 0;
    bool reading_paused_ = false;
    bool processing_ = false;  // inside process_input: do not re-enter it
    bool closing_ = false;     // QUIT, protocol error or shutdown: no more requests
    std::string name_;         // CLIENT SETNAME
    evbuffer* forward_to_ = nullptr;  // set by execute when the request's bytes go out as is
    InputRun input_run_;              // parsed requests whose bytes have not left input_ yet

    // Scratch space reused by every request, so routing does not allocate.
    std::vector<uint32_t> key_indices_;
    std::vector<Placement> groups_;
    std::vector<uint32_t> key_group_;
    std::vector<uint32_t> child_sizes_;
    std::string error_;
};

}  // namespace shardproxy::proxy
