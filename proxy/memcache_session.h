#pragma once
// One memcached client connection: text and meta commands in, routed by key to the pool's
// backends (see client_session.h for the reply order).
//
// A request's bytes go to its backend unchanged whenever possible. Two kinds are rewritten:
// - noreply (text) and q (meta) requests lose that token, so the backend answers every
//   request and its reply stream stays countable. The proxy then drops the answer (noreply)
//   or withholds it where memcached's quiet mode would (q).
// - a get whose keys live on several servers becomes one get per server (memcache_fan_out.h).
#include <cstdint>
#include <string>
#include <vector>

#include "proxy/client_session.h"
#include "proxy/memcache_request_parser.h"

namespace shardproxy::backends {
class BackendConnection;
}

namespace shardproxy::proxy {

class MemcacheSession final : public ClientSession {
public:
    MemcacheSession(Worker& worker, std::shared_ptr<const routing::Topology> topology,
                    const routing::ListenerTopology& listener, evutil_socket_t fd,
                    uint64_t id);

    void on_reply_bytes(ReplySlot* slot, evbuffer* from, size_t length) override;

private:
    static RequestClass request_class(MemcacheCommand command);
    struct Placement {
        uint32_t pool = 0;
        uint32_t server = 0;
        bool operator==(const Placement&) const = default;
    };

    Handled handle_next(std::string_view unparsed) override;
    std::string request_timeout_error(uint32_t timeout_ms) const override;
    void append_error(evbuffer* out, std::string_view error) override;

    void execute(const MemcacheRequest& request);
    void guard_writes(const MemcacheRequest& request);
    bool read_hot(HotKeys& hot, uint32_t pool, const MemcacheRequest& request);
    Placement place(std::string_view key);
    void route_keyed(const MemcacheRequest& request);
    void route_retrieval(const MemcacheRequest& request);
    void route_flush_all(const MemcacheRequest& request);
    void send(Placement target, const MemcacheRequest& request);
    void replicate(uint32_t pool, const MemcacheRequest& request);
    void read_with_failover(uint32_t pool, const MemcacheRequest& request);
    void read_replicas_in_order(uint32_t pool, const MemcacheRequest& request);
    bool replicated(std::string_view key) const;
    bool reads_fail_over_for_all_keys(const MemcacheRequest& request) const;
    void read_keys_with_failover(const MemcacheRequest& request);
    // For a key of a pool with replicas.
    void touch_other_replicas(std::string_view key, const std::string& touch);
    void split_retrieval(const MemcacheRequest& request);
    // Writes the command line without its noreply/q token.
    void append_line_without_quiet(evbuffer* out, const MemcacheRequest& request) const;
    void reply_line(std::string_view line);
    void reply_local(const MemcacheRequest& request);

    MemcacheRequestParser parser_;
    // Set by execute: where the request's bytes go (null: dropped), and whether its command
    // line was already written in rewritten form, so that only the data block is forwarded.
    evbuffer* forward_to_ = nullptr;
    bool line_rewritten_ = false;
    std::string_view wire_;  // the request being executed, as the client sent it
    std::string signature_;  // hot-key reads: the command and meta flags

    // Scratch space reused by every request, so routing does not allocate.
    std::vector<Placement> groups_;
    std::vector<uint32_t> key_group_;
    std::vector<uint32_t> replicas_;
};

}  // namespace shardproxy::proxy
