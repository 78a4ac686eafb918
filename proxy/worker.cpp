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

Worker::Worker(uint32_t index, uint32_t worker_count, const WorkerConfiguration& configuration, ProxyStats& stats)
    : index_(index),
      worker_count_(worker_count),
      stats_(stats),
      base_(nullptr),
      stop_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      reconfigure_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      noreply_sink_(*stats.workers[index]) {
    // Each base is used by one thread only, so libevent's internal locking is not needed.
    event_config* config = event_config_new();
    event_config_set_flag(config, EVENT_BASE_FLAG_NOLOCK);
    base_ = event_base_new_with_config(config);
    event_config_free(config);

    stop_event_ = event_new(base_, stop_fd_, EV_READ, stop_cb, this);
    event_add(stop_event_, nullptr);
    reconfigure_event_ = event_new(base_, reconfigure_fd_, EV_READ | EV_PERSIST, reconfigure_cb, this);
    event_add(reconfigure_event_, nullptr);
    drain_timer_ = evtimer_new(base_, drain_deadline_cb, this);
    publish_timer_ = event_new(base_, -1, EV_PERSIST, publish_cb, this);
    retired_timer_ = event_new(base_, -1, EV_PERSIST, retired_cb, this);
    client_limits_timer_ = event_new(base_, -1, EV_PERSIST, client_limits_cb, this);
    const timeval second{1, 0};
    event_add(client_limits_timer_, &second);
    writes_ = std::make_unique<backends::WriteBatcher>(base_);
    apply(configuration);
}

Worker::~Worker() {
    for (auto& listener : listeners_) {
        if (listener->handle != nullptr) evconnlistener_free(listener->handle);
    }
    // Backends first: failing their waiting requests releases slots that sessions may share.
    // Their health records and hot keys go with the pools, after the sessions.
    for (auto* pools : {&pools_, &retired_pools_}) {
        for (auto& pool : *pools) {
            for (WorkerServer& server : pool->servers) server.connections.clear();
        }
    }
    for (ClientSession* session : sessions_) delete session;
    sessions_.clear();
    retired_pools_.clear();
    pools_.clear();
    writes_.reset();
    event_free(stop_event_);
    event_free(reconfigure_event_);
    event_free(drain_timer_);
    event_free(publish_timer_);
    event_free(retired_timer_);
    event_free(client_limits_timer_);
    close(stop_fd_);
    close(reconfigure_fd_);
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

void Worker::reconfigure(std::shared_ptr<const WorkerConfiguration> configuration, std::latch& applied) {
    {
        const std::lock_guard lock(mailbox_mutex_);
        next_configuration_ = std::move(configuration);
        applied_.push_back(&applied);
    }
    const uint64_t one = 1;
    if (write(reconfigure_fd_, &one, sizeof(one)) != sizeof(one)) {
        log_error("cannot signal worker " + std::to_string(index_) + ": " + std::strerror(errno));
    }
}

void Worker::on_reconfigure() {
    std::shared_ptr<const WorkerConfiguration> configuration;
    std::vector<std::latch*> applied;
    {
        const std::lock_guard lock(mailbox_mutex_);
        configuration = std::move(next_configuration_);
        applied.swap(applied_);
    }
    if (configuration) apply(*configuration);
    for (std::latch* latch : applied) latch->count_down();
}

// Sessions stay open through a reload: each carries on with its listener of the new
// configuration. Requests already sent stay with their connections: a server the new
// configuration keeps with the same connection settings keeps its connections, the others
// are retired and freed once they have answered.
void Worker::apply(const WorkerConfiguration& configuration) {
    topology_ = configuration.topology;
    ++generation_;
    apply_pools(configuration);
    if (!draining_) apply_listeners(configuration);
    rebind_sessions();
}

void Worker::apply_pools(const WorkerConfiguration& configuration) {
    const WorkerPoolContext context{base_, *writes_, stats_, index_, worker_count_};
    std::vector<std::unique_ptr<WorkerPool>> previous = std::move(pools_);
    pools_.clear();
    any_reads_fail_over_ = false;
    any_hot_keys_ = false;
    const auto& pools = topology_->pools();
    for (uint32_t pool = 0; pool < pools.size(); ++pool) {
        const conf::PoolConfig& config = *pools[pool].config;
        const PoolEndpoints& endpoints = configuration.endpoints[pool];
        auto old = std::find_if(previous.begin(), previous.end(), [&](const auto& candidate) {
            return candidate && candidate->config().name == config.name;
        });
        if (old != previous.end() && (*old)->serves(config, endpoints)) {
            pools_.push_back(std::move(*old));
        } else {
            WorkerPool* from = old != previous.end() ? old->get() : nullptr;
            pools_.push_back(std::make_unique<WorkerPool>(context, topology_, pool, endpoints, from));
        }
        WorkerPool& state = *pools_.back();
        if (config.on_down == conf::OnDown::rehash) {
            state.set_on_health_change([this, pool] { on_health_change(pool); });
            on_health_change(pool);
        } else {
            state.set_on_health_change(nullptr);
            state.live_placement.reset();
        }
        any_reads_fail_over_ = any_reads_fail_over_ || reads_fail_over(pool);
        any_hot_keys_ = any_hot_keys_ || state.hot_keys != nullptr;
    }
    for (auto& old : previous) {
        if (!old) continue;
        old->retire();
        retired_pools_.push_back(std::move(old));
    }
    free_idle_retired_pools();
    const timeval second{1, 0};
    if (!retired_pools_.empty()) event_add(retired_timer_, &second);
    if (any_hot_keys_) {
        event_add(publish_timer_, &second);
    } else {
        event_del(publish_timer_);
    }
}

// Listening sockets are matched by descriptor: the process keeps a listener's socket open
// through a reload unless its address changed.
void Worker::apply_listeners(const WorkerConfiguration& configuration) {
    std::vector<std::unique_ptr<ListenerContext>> previous = std::move(listeners_);
    listeners_.clear();
    for (const ListenSocket& socket : configuration.sockets) {
        auto kept = std::find_if(previous.begin(), previous.end(), [&](const auto& context) {
            return context && evconnlistener_get_fd(context->handle) == socket.fd;
        });
        if (kept != previous.end()) {
            (*kept)->listener = socket.listener;
            listeners_.push_back(std::move(*kept));
            continue;
        }
        auto context = std::make_unique<ListenerContext>(ListenerContext{this, socket.listener, nullptr});
        // Every worker watches the same listening socket; whichever wakes first accepts.
        context->handle = evconnlistener_new(base_, accept_cb, context.get(), 0, -1, socket.fd);
        listeners_.push_back(std::move(context));
    }
    for (auto& old : previous) {
        if (old) evconnlistener_free(old->handle);
    }
}

// A session keeps the listener of its name; one whose listener is gone, or now speaks the
// other protocol, finishes the requests it has and closes.
void Worker::rebind_sessions() {
    const std::vector<ClientSession*> open(sessions_.begin(), sessions_.end());
    for (ClientSession* session : open) {
        const routing::ListenerTopology* match = nullptr;
        for (const routing::ListenerTopology& listener : topology_->listeners()) {
            if (listener.config->name == session->listener().config->name &&
                listener.config->protocol == session->listener().config->protocol) {
                match = &listener;
            }
        }
        if (match != nullptr) {
            session->rebind(topology_, *match);
        } else {
            session->stop_reading();
        }
    }
}

void Worker::free_idle_retired_pools() {
    std::erase_if(retired_pools_, [](const auto& pool) { return pool->idle(); });
    if (retired_pools_.empty()) event_del(retired_timer_);
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
    listener_traffic(*serving.config).connections.bump();
    if (serving.config->listen.kind == conf::Address::Kind::tcp) {
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    const uint64_t id = ++next_client_ * worker_count_ + index_;
    if (memcache) {
        sessions_.insert(new MemcacheSession(*this, topology_, serving, fd, id));
    } else {
        sessions_.insert(new RedisSession(*this, topology_, serving, fd, id));
    }
}

// on_down = "rehash": rebuild the pool's placement from the servers that are up. Rare (a
// server going down or coming back), so a full rebuild is fine.
void Worker::on_health_change(uint32_t pool) {
    WorkerPool& state = *pools_[pool];
    const std::vector<bool> up = state.servers_up();
    if (std::find(up.begin(), up.end(), false) == up.end()) {
        state.live_placement.reset();
        return;
    }
    state.live_placement = routing::LivePlacement::build(state.config(), up);
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
    for (const auto& pool : static_cast<Worker*>(self)->pools_) {
        if (pool->hot_keys) pool->hot_keys->publish();
    }
}

void Worker::reconfigure_cb(evutil_socket_t fd, short, void* self) {
    uint64_t value = 0;
    [[maybe_unused]] ssize_t n = read(fd, &value, sizeof(value));
    static_cast<Worker*>(self)->on_reconfigure();
}

void Worker::retired_cb(evutil_socket_t, short, void* self) { static_cast<Worker*>(self)->free_idle_retired_pools(); }

void Worker::client_limits_cb(evutil_socket_t, short, void* self) {
    auto* worker = static_cast<Worker*>(self);
    const uint64_t now = coarse_monotonic_ms();
    const conf::ProxyConfig& limits = worker->topology_->config().proxy;
    // Closing edits sessions_.
    const std::vector<ClientSession*> open(worker->sessions_.begin(), worker->sessions_.end());
    for (ClientSession* session : open) {
        if (session->check_limits(now, limits) == ClientSession::Limit::close_now) worker->close_session(session);
    }
}

}  // namespace shardproxy::proxy
