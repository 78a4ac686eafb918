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
    RedisSession(Worker& worker, const routing::ListenerTopology& listener, evutil_socket_t fd,
                 uint64_t id);

private:
    struct Placement {
        uint32_t pool = 0;
        uint32_t server = 0;
        bool operator==(const Placement&) const = default;
    };

    void process_input() override;
    void append_error(evbuffer* out, std::string_view error) override;
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

    RespRequestParser parser_;
    size_t bytes_needed_ = 1;
    std::string name_;                // CLIENT SETNAME
    evbuffer* forward_to_ = nullptr;  // set by execute when the request's bytes go out as is

    // Scratch space reused by every request, so routing does not allocate.
    std::vector<uint32_t> key_indices_;
    std::vector<Placement> groups_;
    std::vector<uint32_t> key_group_;
    std::vector<uint32_t> child_sizes_;
    std::string error_;
};

}  // namespace shardproxy::proxy
