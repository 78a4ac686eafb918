#include "proxy/config_reloader.h"

#include <unistd.h>

#include <algorithm>
#include <set>

#include "proxy/admin_server.h"
#include "proxy/listen_socket.h"
#include "proxy/log.h"

namespace shardproxy::proxy {
namespace {

std::string endpoint_label(const conf::ServerConfig& server) {
    const std::string address = server.address.to_string();
    return server.name.empty() ? address : server.name + " (" + address + ")";
}

bool resolve_backends(const routing::Topology& topology, BackendEndpoints& endpoints, std::string& error) {
    for (const auto& pool : topology.pools()) {
        PoolEndpoints& servers = endpoints.emplace_back();
        for (const conf::ServerConfig& server : pool.config->servers) {
            auto endpoint = std::make_shared<backends::BackendEndpoint>();
            endpoint->label = endpoint_label(server);
            endpoint->timeout_ms = pool.config->timeout_ms;
            endpoint->protocol = pool.config->protocol == conf::Protocol::memcache ? backends::BackendProtocol::memcache
                                                                                   : backends::BackendProtocol::redis;
            endpoint->auth_user = pool.config->auth_user;
            endpoint->auth_password = pool.config->auth_password;
            endpoint->db = pool.config->db;
            std::string reason;
            if (!backends::resolve_address(server.address, endpoint->address, reason)) {
                error += (error.empty() ? "" : "\n") + ("pool " + pool.config->name + ", server " + endpoint->label +
                                                       ": " + reason);
            }
            servers.push_back(std::move(endpoint));
        }
    }
    return error.empty();
}

// "pools +sessions -old; pool main: servers +c -a; listeners +admin2", or "" when only
// settings changed.
std::string describe_changes(const conf::Config& before, const conf::Config& after) {
    std::string text;
    auto names = [](const auto& items) {
        std::set<std::string> out;
        for (const auto& item : items) out.insert(item.name);
        return out;
    };
    auto diff = [&](const std::string& what, const std::set<std::string>& old, const std::set<std::string>& now) {
        std::string part;
        for (const auto& name : now) {
            if (!old.contains(name)) part += " +" + name;
        }
        for (const auto& name : old) {
            if (!now.contains(name)) part += " -" + name;
        }
        if (!part.empty()) text += (text.empty() ? "" : "; ") + what + part;
    };
    diff("pools", names(before.pools), names(after.pools));
    for (const conf::PoolConfig& pool : after.pools) {
        const conf::PoolConfig* old = before.find_pool(pool.name);
        if (old == nullptr) continue;
        std::set<std::string> old_servers;
        std::set<std::string> servers;
        for (const auto& server : old->servers) old_servers.insert(server.identity);
        for (const auto& server : pool.servers) servers.insert(server.identity);
        diff("pool " + pool.name + ": servers", old_servers, servers);
    }
    diff("listeners", names(before.listeners), names(after.listeners));
    return text;
}

}  // namespace

ConfigReloader::~ConfigReloader() { close_listeners(); }

bool ConfigReloader::start(std::shared_ptr<const routing::Topology> topology, std::string& error) {
    auto serving = std::make_shared<WorkerConfiguration>();
    std::vector<OpenListener> listeners;
    if (!prepare(topology, *serving, listeners, error)) return false;
    listeners_ = std::move(listeners);
    stats_.prepare(topology->config());
    serving_ = std::move(serving);
    return true;
}

void ConfigReloader::attach(std::vector<std::unique_ptr<Worker>>& workers, AdminServer* admin) {
    const std::lock_guard lock(mutex_);
    workers_ = &workers;
    admin_ = admin;
}

bool ConfigReloader::prepare(std::shared_ptr<const routing::Topology> topology, WorkerConfiguration& out,
                             std::vector<OpenListener>& listeners, std::string& error) {
    if (!resolve_backends(*topology, out.endpoints, error)) return false;
    const auto& configs = topology->config().listeners;
    for (uint32_t i = 0; i < configs.size(); ++i) {
        const conf::ListenerConfig& listener = configs[i];
        auto open = std::find_if(listeners_.begin(), listeners_.end(),
                                 [&](const OpenListener& running) { return running.address == listener.listen; });
        evutil_socket_t fd = open != listeners_.end() ? open->fd : -1;
        if (fd < 0) fd = open_listen_socket(listener.listen, listener.unix_mode, error);
        if (fd < 0) {
            error = "listener " + listener.name + ": " + error;
            for (const OpenListener& opened : listeners) {
                const bool new_here = std::none_of(listeners_.begin(), listeners_.end(),
                                                   [&](const OpenListener& running) { return running.fd == opened.fd; });
                if (new_here) close(opened.fd);
            }
            listeners.clear();
            return false;
        }
        listeners.push_back(OpenListener{listener.listen, fd});
        out.sockets.push_back(ListenSocket{fd, i});
    }
    out.topology = std::move(topology);
    return true;
}

ReloadResult ConfigReloader::refuse(const std::string& reasons) {
    stats_.reload_failures.fetch_add(1, std::memory_order_relaxed);
    stats_.last_reload_ok.store(false, std::memory_order_relaxed);
    log_error("configuration reload refused, still serving the previous configuration:\n" + reasons);
    return {false, reasons};
}

ReloadResult ConfigReloader::reload() {
    const std::lock_guard lock(mutex_);
    if (stopping_ || workers_ == nullptr) return {false, "shutting down"};
    const conf::Config& running = serving_->topology->config();
    conf::ConfigLoad load = conf::load_config_file(running.source);
    if (!load.errors.empty()) {
        std::string reasons;
        for (const conf::ConfigError& error : load.errors) reasons += error.to_string() + "\n";
        reasons.pop_back();
        return refuse(reasons);
    }
    conf::Config config = std::move(*load.config);
    // These need a restart: the workers and the admin socket exist once per process.
    std::string restart_only;
    if (config.proxy.workers != running.proxy.workers) restart_only += " workers";
    if (config.proxy.admin != running.proxy.admin) restart_only += " admin";
    if (config.proxy.log_file != running.proxy.log_file) restart_only += " log_file";
    config.proxy.workers = running.proxy.workers;
    config.proxy.admin = running.proxy.admin;
    config.proxy.log_file = running.proxy.log_file;

    std::string error;
    auto topology = routing::Topology::build(std::move(config), error);
    if (!topology) return refuse(error);
    auto next = std::make_shared<WorkerConfiguration>();
    std::vector<OpenListener> listeners;
    if (!prepare(topology, *next, listeners, error)) return refuse(error);

    stats_.prepare(topology->config());
    std::latch applied(static_cast<std::ptrdiff_t>(workers_->size()));
    for (auto& worker : *workers_) worker->reconfigure(next, applied);
    applied.wait();

    // No worker watches the sockets left behind any more.
    for (const OpenListener& old : listeners_) {
        const bool kept = std::any_of(listeners.begin(), listeners.end(),
                                      [&](const OpenListener& now) { return now.fd == old.fd; });
        if (kept) continue;
        close(old.fd);
        if (old.address.kind == conf::Address::Kind::unix_socket) unlink(old.address.path.c_str());
    }
    listeners_ = std::move(listeners);
    std::string changes = describe_changes(running, topology->config());
    set_log_level(topology->config().proxy.log_level);
    serving_ = std::move(next);
    if (admin_ != nullptr) admin_->set_topology(serving_->topology);
    stats_.reloads.fetch_add(1, std::memory_order_relaxed);
    stats_.last_reload_ok.store(true, std::memory_order_relaxed);
    std::string message = "configuration reloaded" + (changes.empty() ? std::string() : ": " + changes);
    if (!restart_only.empty()) message += "; changes to" + restart_only + " take effect at restart";
    log_info(message);
    return {true, message};
}

void ConfigReloader::stop() {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
}

void ConfigReloader::close_listeners() {
    for (const OpenListener& listener : listeners_) {
        close(listener.fd);
        if (listener.address.kind == conf::Address::Kind::unix_socket) unlink(listener.address.path.c_str());
    }
    listeners_.clear();
}

}  // namespace shardproxy::proxy
