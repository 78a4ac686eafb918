#include "proxy/worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "proxy/log.h"
#include "proxy/memcache_session.h"
#include "proxy/redis_session.h"

namespace shardproxy::proxy {
namespace {

// Sent as-is before hanging up; each server's own wording.
constexpr std::string_view kTooManyRedisClients = "-ERR max number of clients reached\r\n";
constexpr std::string_view kTooManyMemcacheClients = "ERROR Too many open connections\r\n";

}  // namespace

Worker::Worker(uint32_t index, uint32_t worker_count,
               std::shared_ptr<const routing::Topology> topology, const BackendEndpoints& endpoints,
               const std::vector<ListenSocket>& sockets, ProxyStats& stats)
    : index_(index),
      worker_count_(worker_count),
      topology_(std::move(topology)),
      stats_(stats),
      base_(nullptr),
      stop_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      noreply_sink_(*stats.workers[index]) {
    // Each base is used by one thread only, so libevent's internal locking is not needed.
    event_config* config = event_config_new();
    event_config_set_flag(config, EVENT_BASE_FLAG_NOLOCK);
    base_ = event_base_new_with_config(config);
    event_config_free(config);

    stop_event_ = event_new(base_, stop_fd_, EV_READ, stop_cb, this);
    event_add(stop_event_, nullptr);
    drain_timer_ = evtimer_new(base_, drain_deadline_cb, this);
    publish_timer_ = event_new(base_, -1, EV_PERSIST, publish_cb, this);
    writes_ = std::make_unique<backends::WriteBatcher>(base_);

    for (const ListenSocket& socket : sockets) {
        auto context = std::make_unique<ListenerContext>(ListenerContext{this, socket.listener, nullptr});
        // Every worker watches the same listening socket; whichever wakes first accepts.
        context->handle = evconnlistener_new(base_, accept_cb, context.get(), 0, -1, socket.fd);
        listeners_.push_back(std::move(context));
    }

    const auto& pools = topology_->pools();
    backends_.resize(pools.size());
    health_.resize(pools.size());
    pool_health_.resize(pools.size());
    live_placements_.resize(pools.size());
    hot_keys_.resize(pools.size());
    for (size_t pool = 0; pool < pools.size(); ++pool) {
        const conf::PoolConfig& config = *pools[pool].config;
        any_reads_fail_over_ = any_reads_fail_over_ || reads_fail_over(static_cast<uint32_t>(pool));
        const auto server_count = static_cast<uint32_t>(endpoints[pool].size());
        if (config.hotkey.enabled) {
            hot_keys_[pool] = std::make_unique<HotKeys>(config, index_, worker_count, *stats.hot_keys[pool], base_,
                                                        endpoints[pool]);
            any_hot_keys_ = true;
        }
        pool_health_[pool].max_down = server_count * config.health.max_down_percent / 100;
        const backends::HealthSettings settings{config.health.failure_limit, config.health.probe_interval_ms,
                                                config.health.probe_max_interval_ms};
        backends_[pool].resize(server_count);
        for (size_t server = 0; server < server_count; ++server) {
            health_[pool].push_back(std::make_unique<backends::ServerHealth>(
                base_, settings, pool_health_[pool], *stats.servers[pool][server]));
            for (uint32_t i = 0; i < config.server_connections; ++i) {
                backends_[pool][server].push_back(std::make_unique<backends::BackendConnection>(
                    base_, *writes_, endpoints[pool][server], *health_[pool][server]));
            }
            health_[pool][server]->set_probe_connection(backends_[pool][server].front().get());
            if (config.on_down == conf::OnDown::rehash) {
                health_[pool][server]->set_on_change([this, pool] { on_health_change(static_cast<uint32_t>(pool)); });
            }
        }
    }
    if (any_hot_keys_) {
        const timeval second{1, 0};
        event_add(publish_timer_, &second);
    }
}

Worker::~Worker() {
    for (auto& listener : listeners_) {
        if (listener->handle != nullptr) evconnlistener_free(listener->handle);
    }
    // Backends first: failing their waiting requests releases slots that sessions may share.
    // Their health records next, while the event base their probe timers belong to is alive.
    backends_.clear();
    health_.clear();
    for (ClientSession* session : sessions_) delete session;
    sessions_.clear();
    hot_keys_.clear();
    writes_.reset();
    event_free(stop_event_);
    event_free(drain_timer_);
    event_free(publish_timer_);
    close(stop_fd_);
    event_base_free(base_);
}

void Worker::start() {
    thread_ = std::thread([this] { event_base_dispatch(base_); });
}

void Worker::join() {
    if (thread_.joinable()) thread_.join();
}

void Worker::request_stop() {
    const uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof(one)) != sizeof(one)) {
        log_error(std::string("cannot signal worker ") + std::to_string(index_) + ": " +
                  std::strerror(errno));
    }
}

void Worker::on_accept(evutil_socket_t fd, uint32_t listener) {
    const routing::ListenerTopology& serving = topology_->listeners()[listener];
    const bool memcache = serving.config->protocol == conf::Protocol::memcache;
    const uint32_t limit = topology_->config().proxy.max_client_connections;
    if (stats_.connected_clients.fetch_add(1, std::memory_order_relaxed) >= limit) {
        stats_.connected_clients.fetch_sub(1, std::memory_order_relaxed);
        stats_.rejected_connections.fetch_add(1, std::memory_order_relaxed);
        // Best effort: the socket is fresh, so the short reply fits its send buffer.
        const std::string_view refusal = memcache ? kTooManyMemcacheClients : kTooManyRedisClients;
        [[maybe_unused]] ssize_t sent = send(fd, refusal.data(), refusal.size(), MSG_NOSIGNAL);
        evutil_closesocket(fd);
        return;
    }
    stats().bump_connections();
    if (serving.config->listen.kind == conf::Address::Kind::tcp) {
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    const uint64_t id = ++next_client_ * worker_count_ + index_;
    if (memcache) {
        sessions_.insert(new MemcacheSession(*this, serving, fd, id));
    } else {
        sessions_.insert(new RedisSession(*this, serving, fd, id));
    }
}

// on_down = "rehash": rebuild the pool's placement from the servers that are up. Rare (a
// server going down or coming back), so a full rebuild is fine.
void Worker::on_health_change(uint32_t pool) {
    std::vector<bool> up;
    for (const auto& health : health_[pool]) up.push_back(!health->down());
    if (std::find(up.begin(), up.end(), false) == up.end()) {
        live_placements_[pool].reset();
        return;
    }
    live_placements_[pool] = routing::LivePlacement::build(*topology_->pools()[pool].config, up);
}

void Worker::close_session(ClientSession* session) {
    if (sessions_.erase(session) == 0) return;
    delete session;
    stats_.connected_clients.fetch_sub(1, std::memory_order_relaxed);
    if (draining_ && sessions_.empty()) event_base_loopbreak(base_);
}

void Worker::on_stop() {
    if (draining_) return;
    draining_ = true;
    for (auto& listener : listeners_) {
        evconnlistener_free(listener->handle);
        listener->handle = nullptr;
    }
    if (sessions_.empty()) {
        event_base_loopbreak(base_);
        return;
    }
    // stop_reading() may close idle sessions right away, which edits sessions_.
    const std::vector<ClientSession*> open(sessions_.begin(), sessions_.end());
    for (ClientSession* session : open) session->stop_reading();
    const uint32_t drain_ms = topology_->config().proxy.drain_timeout_ms;
    const timeval limit{static_cast<time_t>(drain_ms / 1000),
                        static_cast<suseconds_t>((drain_ms % 1000) * 1000)};
    evtimer_add(drain_timer_, &limit);
}

void Worker::accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* context) {
    auto* listener = static_cast<ListenerContext*>(context);
    listener->worker->on_accept(fd, listener->listener);
}

void Worker::stop_cb(evutil_socket_t fd, short, void* self) {
    uint64_t value = 0;
    [[maybe_unused]] ssize_t n = read(fd, &value, sizeof(value));
    static_cast<Worker*>(self)->on_stop();
}

void Worker::drain_deadline_cb(evutil_socket_t, short, void* self) {
    auto* worker = static_cast<Worker*>(self);
    log_warning("worker " + std::to_string(worker->index_) + ": drain timeout, closing " +
                std::to_string(worker->sessions_.size()) + " client connection(s)");
    event_base_loopbreak(worker->base_);
}

void Worker::publish_cb(evutil_socket_t, short, void* self) {
    for (const auto& hot : static_cast<Worker*>(self)->hot_keys_) {
        if (hot) hot->publish();
    }
}

}  // namespace shardproxy::proxy
