#pragma once
// One Redis client connection: RESP requests in, routed by key to the pool's backends, split
// and merged where a command spans servers (see client_session.h for the reply order).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/client_session.h"
#include "proxy/resp_request_parser.h"

namespace shardproxy::proxy {

struct RedisCommand;

class RedisSession final : public ClientSession {
public:
    RedisSession(Worker& worker, std::shared_ptr<const routing::Topology> topology,
                 const routing::ListenerTopology& listener, evutil_socket_t fd,
                 uint64_t id);

private:
    struct Placement {
        uint32_t pool = 0;
        uint32_t server = 0;
        // Whether the sub-request's count is the client's: false for a DEL sent to the keys'
        // other replicas, which must succeed but would count every key again.
        bool counted = true;
        bool operator==(const Placement&) const = default;
    };
    // A key of a split request and the group (sub-request) it goes in; a written key goes in
    // one group per replica.
    struct Assignment {
        uint32_t key;  // position in key_indices_
        uint32_t group;
    };

    Handled handle_next(std::string_view unparsed) override;
    std::string request_timeout_error(uint32_t timeout_ms) const override;
    void append_error(evbuffer* out, std::string_view error) override;
    void execute(std::span<const std::string_view> args, const RespRequest& request);
    Placement place(std::string_view key);
    void route_keyed(const RedisCommand& command, std::span<const std::string_view> args,
                     const RespRequest& request);
    void route_split(const RedisCommand& command, std::span<const std::string_view> args,
                     const RespRequest& request);
    void route_broadcast(const RedisCommand& command, std::span<const std::string_view> args,
                         const RespRequest& request);
    void send_whole(Placement target, std::span<const std::string_view> args,
                    const RespRequest& request);
    void replicate(uint32_t pool, std::span<const std::string_view> args);
    void guard_writes(const RedisCommand& command, std::span<const std::string_view> args);
    bool read_hot(HotKeys& hot, uint32_t pool, const RedisCommand& command, std::span<const std::string_view> args);
    void read_with_failover(uint32_t pool, const RedisCommand& command, std::span<const std::string_view> args);
    bool reads_fail_over_for_all_keys(std::span<const std::string_view> args) const;
    bool keys_share_replica_set(uint32_t pool, std::span<const std::string_view> args);
    void read_keys_with_failover(const RedisCommand& command, std::span<const std::string_view> args);
    uint32_t group_of(Placement placement);
    void fan_out(const RedisCommand& command, std::span<const std::string_view> args,
                 uint32_t children);
    void answer_local(const RedisCommand& command, std::span<const std::string_view> args);

    RespRequestParser parser_;
    std::string name_;                // CLIENT SETNAME
    bool authenticated_;              // AUTH passed, or the listener needs none
    evbuffer* forward_to_ = nullptr;  // set by execute when the request's bytes go out as is
    std::string_view wire_;           // the request being executed, as the client sent it

    // Scratch space reused by every request, so routing does not allocate.
    std::vector<uint32_t> key_indices_;
    std::vector<Placement> groups_;
    std::vector<Assignment> assignments_;
    std::vector<uint32_t> replicas_;
    std::vector<uint32_t> other_replicas_;
    std::vector<uint32_t> child_sizes_;
    std::string error_;
};

}  // namespace shardproxy::proxy
