#pragma once
// The admin HTTP endpoint ([proxy] admin), on a thread and event base of its own so that a slow
// scraper never delays a worker: the status page for people (/), /metrics (Prometheus), /stats
// (JSON), /healthz, /readyz, /config (the running config, secrets redacted) and POST /reload.
// It reads the workers' counters, never locks them (admin_stats.h).
#include <event2/event.h>
#include <event2/http.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "conf/config.h"
#include "proxy/proxy_stats.h"
#include "routing/topology.h"

namespace shardproxy::proxy {

class AdminServer {
public:
    AdminServer(std::shared_ptr<const routing::Topology> topology, const ProxyStats& stats);
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    // Binds the configured address; false with `error` set when it cannot.
    bool bind(std::string& error);
    void start();  // serves on a new thread
    // POST /reload calls this (on the admin thread) and answers with what it returns.
    void set_reload(std::function<std::pair<bool, std::string>()> reload) { reload_ = std::move(reload); }
    // Any thread: the configuration the pages show from now on (after a reload).
    void set_topology(std::shared_ptr<const routing::Topology> topology);
    // Any thread: /readyz answers 503 from now on, so that load balancers stop sending clients.
    void set_draining() { draining_.store(true, std::memory_order_relaxed); }
    // Any thread: stops serving and joins the thread.
    void stop();

private:
    void handle(evhttp_request* request);
    static void handle_cb(evhttp_request* request, void* self);
    static void stop_cb(evutil_socket_t, short, void* self);

    std::shared_ptr<const routing::Topology> topology() const;

    mutable std::mutex topology_mutex_;
    std::shared_ptr<const routing::Topology> topology_;  // under topology_mutex_
    const ProxyStats& stats_;
    std::function<std::pair<bool, std::string>()> reload_;
    event_base* base_;
    evhttp* http_;
    int stop_fd_;
    event* stop_event_;
    std::atomic<bool> draining_{false};
    std::thread thread_;
};

}  // namespace shardproxy::proxy
