#include "proxy/admin_server.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <string_view>

#include "proxy/admin_stats.h"
#include "proxy/status_page.h"

namespace shardproxy::proxy {
namespace {

void reply(evhttp_request* request, int code, const char* reason, std::string_view content_type,
           std::string_view body) {
    evkeyvalq* headers = evhttp_request_get_output_headers(request);
    evhttp_add_header(headers, "Content-Type", std::string(content_type).c_str());
    evhttp_add_header(headers, "Cache-Control", "no-store");
    evbuffer* out = evbuffer_new();
    evbuffer_add(out, body.data(), body.size());
    evhttp_send_reply(request, code, reason, out);
    evbuffer_free(out);
}

constexpr std::string_view kText = "text/plain; charset=utf-8";

}  // namespace

AdminServer::AdminServer(std::shared_ptr<const routing::Topology> topology, const ProxyStats& stats)
    : topology_(std::move(topology)),
      stats_(stats),
      base_(event_base_new()),
      http_(evhttp_new(base_)),
      stop_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    stop_event_ = event_new(base_, stop_fd_, EV_READ, stop_cb, this);
    event_add(stop_event_, nullptr);
    evhttp_set_gencb(http_, handle_cb, this);
    evhttp_set_allowed_methods(http_, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
    // A scrape is small; a request that is not is not a scrape.
    evhttp_set_max_headers_size(http_, 16 * 1024);
    evhttp_set_max_body_size(http_, 16 * 1024);
    evhttp_set_timeout(http_, 10);
}

AdminServer::~AdminServer() {
    stop();
    evhttp_free(http_);
    event_free(stop_event_);
    close(stop_fd_);
    event_base_free(base_);
}

bool AdminServer::bind(std::string& error) {
    const conf::Address address = *topology()->config().proxy.admin;
    if (evhttp_bind_socket_with_handle(http_, address.host.c_str(), address.port) == nullptr) {
        error = "admin endpoint " + address.to_string() + ": cannot listen: " + std::strerror(errno);
        return false;
    }
    return true;
}

void AdminServer::set_topology(std::shared_ptr<const routing::Topology> topology) {
    const std::lock_guard lock(topology_mutex_);
    topology_ = std::move(topology);
}

std::shared_ptr<const routing::Topology> AdminServer::topology() const {
    const std::lock_guard lock(topology_mutex_);
    return topology_;
}

void AdminServer::start() {
    thread_ = std::thread([this] { event_base_dispatch(base_); });
}

void AdminServer::stop() {
    if (!thread_.joinable()) return;
    // The base is not thread-safe (no evthread locking), so the loop is told through a file
    // descriptor it watches, as the workers are.
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = write(stop_fd_, &one, sizeof(one));
    thread_.join();
}

void AdminServer::handle_cb(evhttp_request* request, void* self) { static_cast<AdminServer*>(self)->handle(request); }

void AdminServer::stop_cb(evutil_socket_t, short, void* self) {
    event_base_loopbreak(static_cast<AdminServer*>(self)->base_);
}

void AdminServer::handle(evhttp_request* request) {
    const evhttp_uri* uri = evhttp_request_get_evhttp_uri(request);
    const char* raw_path = uri != nullptr ? evhttp_uri_get_path(uri) : nullptr;
    const std::string_view path = raw_path != nullptr ? raw_path : "/";
    // Held for the whole request: a reload meanwhile does not free what it reads.
    const std::shared_ptr<const routing::Topology> topology = this->topology();
    const conf::Config& config = topology->config();
    if (path == "/reload") {
        if (evhttp_request_get_command(request) != EVHTTP_REQ_POST || !reload_) {
            reply(request, 405, "Method Not Allowed", kText, "use POST /reload\n");
            return;
        }
        const auto [ok, message] = reload_();
        reply(request, ok ? HTTP_OK : 422, ok ? "OK" : "Unprocessable Entity", kText, message + "\n");
        return;
    }
    if (evhttp_request_get_command(request) == EVHTTP_REQ_POST) {
        reply(request, 405, "Method Not Allowed", kText, "only /reload takes POST\n");
        return;
    }
    if (path == "/" || path == "/status") {
        reply(request, HTTP_OK, "OK", "text/html; charset=utf-8", status_page_html());
    } else if (path == "/metrics") {
        reply(request, HTTP_OK, "OK", "text/plain; version=0.0.4; charset=utf-8", prometheus_metrics(stats_, config));
    } else if (path == "/stats") {
        reply(request, HTTP_OK, "OK", "application/json", stats_json(stats_, config));
    } else if (path == "/healthz") {
        reply(request, HTTP_OK, "OK", kText, "ok\n");
    } else if (path == "/readyz") {
        const Readiness ready = readiness(stats_, config, draining_.load(std::memory_order_relaxed));
        if (ready.ready) {
            reply(request, HTTP_OK, "OK", kText, "ready\n");
        } else {
            reply(request, 503, "Service Unavailable", kText, "not ready: " + ready.reason + "\n");
        }
    } else if (path == "/config") {
        reply(request, HTTP_OK, "OK", "application/toml; charset=utf-8", conf::redacted_config_text(config));
    } else {
        reply(request, HTTP_NOTFOUND, "Not Found", kText,
              "not found; try /, /metrics, /stats, /healthz, /readyz, /config or POST /reload\n");
    }
}

}  // namespace shardproxy::proxy
