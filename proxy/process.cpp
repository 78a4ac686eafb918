#include "proxy/process.h"

#include <event2/event.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include "proxy/admin_server.h"
#include "proxy/config_reloader.h"
#include "proxy/listen_socket.h"
#include "proxy/log.h"
#include "proxy/worker.h"

namespace shardproxy::proxy {
namespace {

constexpr int kKeptFreeHeapBytes = 64 * 1024 * 1024;

struct SignalContext {
    event_base* base;
    std::vector<std::unique_ptr<Worker>>* workers;
    AdminServer* admin;  // null without [proxy] admin
    ConfigReloader* reloader;
};

void on_stop_signal(evutil_socket_t signal, short, void* arg) {
    auto* context = static_cast<SignalContext*>(arg);
    log_info(std::string("received ") + (signal == SIGTERM ? "SIGTERM" : "SIGINT") +
             ", draining and stopping");
    // First, so that no reload is waiting for workers that are about to stop.
    context->reloader->stop();
    if (context->admin != nullptr) context->admin->set_draining();
    for (auto& worker : *context->workers) worker->request_stop();
    event_base_loopbreak(context->base);
}

void on_reopen_log(evutil_socket_t, short, void*) {
    std::string error;
    if (reopen_log(error)) {
        log_info("SIGUSR1 received: log reopened");
    } else {
        log_error(error + "; still writing to the old file");
    }
}

void on_hangup(evutil_socket_t, short, void* reloader) {
    log_info("SIGHUP received: reloading the configuration");
    static_cast<ConfigReloader*>(reloader)->reload();
}

}  // namespace

int run_proxy(conf::Config config) {
    signal(SIGPIPE, SIG_IGN);
    // Until the event loop handles them, reload and log-reopen requests (systemd's ExecReload,
    // logrotate) must not kill a proxy that is still starting, as their default action would.
    signal(SIGHUP, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
    // libevent allocates and frees a buffer chunk for nearly every read and write. With glibc's
    // default trim threshold, freeing them often shrinks a worker's heap (madvise) only for the
    // next read to fault the same pages back in: measured at up to half the proxy's CPU time at
    // one request per read. Keeping up to this much free memory per arena avoids that churn.
    mallopt(M_TRIM_THRESHOLD, kKeptFreeHeapBytes);

    std::string error;
    if (!configure_log(config.proxy.log_level, config.proxy.log_file, error)) {
        log_error(error);
        return 1;
    }
    const uint32_t worker_count = config.proxy.workers;
    const std::optional<conf::Address> admin_address = config.proxy.admin;
    ProxyStats stats(worker_count);
    ConfigReloader reloader(stats);
    // The admin endpoint is bound before the listeners, so that /readyz can be asked as soon
    // as clients can connect.
    std::unique_ptr<AdminServer> admin;
    auto topology = routing::Topology::build(std::move(config), error);
    if (!topology) {
        log_error(error);
        return 1;
    }
    if (admin_address) {
        admin = std::make_unique<AdminServer>(topology, stats);
        if (!admin->bind(error)) {
            log_error(error);
            return 1;
        }
    }
    if (!reloader.start(topology, error)) {
        log_error(error);
        return 1;
    }
    std::vector<std::unique_ptr<Worker>> workers;
    for (uint32_t i = 0; i < worker_count; ++i) {
        workers.push_back(std::make_unique<Worker>(i, worker_count, reloader.serving(), stats));
    }
    reloader.attach(workers, admin.get());
    if (admin) {
        admin->set_reload([&reloader] {
            const ReloadResult result = reloader.reload();
            return std::make_pair(result.ok, result.message);
        });
    }

    event_base* base = event_base_new();
    SignalContext context{base, &workers, admin.get(), &reloader};
    event* term = evsignal_new(base, SIGTERM, on_stop_signal, &context);
    event* interrupt = evsignal_new(base, SIGINT, on_stop_signal, &context);
    event* hangup = evsignal_new(base, SIGHUP, on_hangup, &reloader);
    event* reopen = evsignal_new(base, SIGUSR1, on_reopen_log, nullptr);
    event_add(reopen, nullptr);
    event_add(term, nullptr);
    event_add(interrupt, nullptr);
    event_add(hangup, nullptr);

    for (auto& worker : workers) worker->start();
    if (admin) {
        admin->start();
        log_info("admin endpoint on " + admin_address->to_string());
    }
    // The startup configuration, not reloader.serving(): a POST /reload may replace that already.
    for (const auto& listener : topology->config().listeners) {
        log_info("listening on " + listener.listen.to_string() + " (" + listener.name + ", " +
                 std::string(conf::to_string(listener.protocol)) + ", pool " + listener.pool + ")");
    }
    log_info("shardproxy " SHARDPROXY_VERSION " running with " + std::to_string(worker_count) +
             " worker(s)");

    event_base_dispatch(base);
    // The drain has begun and drain_timeout_ms bounds it: another SIGTERM or SIGINT changes
    // nothing. Blocked from here, it stays pending instead of ending the process by the default
    // action that freeing the signal events below puts back (the workers still running until
    // joined may take it meanwhile; libevent's handler is still theirs then).
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    for (auto& worker : workers) worker->join();
    if (admin) admin->stop();
    workers.clear();
    reloader.close_listeners();
    event_free(term);
    event_free(interrupt);
    event_free(hangup);
    event_free(reopen);
    event_base_free(base);
    log_info("stopped");
    return 0;
}

}  // namespace shardproxy::proxy
