#pragma once
// Turns a configuration into what the workers serve (backend addresses resolved, listening
// sockets open) at startup and at every reload (SIGHUP, POST /reload), and hands it to them.
//
// A reload re-reads the file the proxy was started with. A file that fails validation, or a
// configuration that cannot be served (a host that does not resolve, an address that cannot be
// bound), is refused as a whole: logged, counted, and the running configuration keeps serving.
// Otherwise every worker switches at its next loop turn without closing a client connection
// or failing a request already sent (proxy/worker.cpp says how). A listener keeps its socket
// when its address is unchanged, so no connection attempt is refused during the switch.
#include <latch>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "conf/config.h"
#include "proxy/proxy_stats.h"
#include "proxy/worker.h"

namespace shardproxy::proxy {

class AdminServer;

struct ReloadResult {
    bool ok;
    std::string message;  // what changed, or every reason it was refused, one per line
};

class ConfigReloader {
public:
    explicit ConfigReloader(ProxyStats& stats) : stats_(stats) {}
    ~ConfigReloader();
    ConfigReloader(const ConfigReloader&) = delete;
    ConfigReloader& operator=(const ConfigReloader&) = delete;

    // The first configuration; false with `error` set when it cannot be served.
    bool start(std::shared_ptr<const routing::Topology> topology, std::string& error);
    // Before attach() only: a reload then replaces it on another thread.
    const WorkerConfiguration& serving() const { return *serving_; }
    // Where reloads go from now on.
    void attach(std::vector<std::unique_ptr<Worker>>& workers, AdminServer* admin);

    // Any thread; one reload at a time.
    ReloadResult reload();
    // Refuses reloads from now on (shutting down); waits for one in progress.
    void stop();
    // Closes the listening sockets and removes their unix socket files (after the workers
    // stopped).
    void close_listeners();

private:
    struct OpenListener {
        conf::Address address;
        evutil_socket_t fd;
    };
    // Resolves and opens what `topology` needs, keeping the sockets already open for an
    // address; false with `error` set (and nothing new left open) when it cannot.
    bool prepare(std::shared_ptr<const routing::Topology> topology, WorkerConfiguration& out,
                 std::vector<OpenListener>& listeners, std::string& error);
    ReloadResult refuse(const std::string& reasons);

    ProxyStats& stats_;
    std::mutex mutex_;  // one reload at a time, and none once stopping
    bool stopping_ = false;
    std::shared_ptr<const WorkerConfiguration> serving_;
    std::vector<OpenListener> listeners_;  // what serving_.sockets refer to
    std::vector<std::unique_ptr<Worker>>* workers_ = nullptr;
    AdminServer* admin_ = nullptr;
};

}  // namespace shardproxy::proxy
