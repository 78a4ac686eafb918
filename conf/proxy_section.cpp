#include "conf/address.h"
#include "conf/sections.h"

namespace shardproxy::conf {
namespace {

const KeySpec<ProxyConfig> proxy_table[] = {
    {.name = "workers",
     .type = ValueType::integer,
     .default_value = "(number of CPUs)",
     .help = "Event-loop threads, from 1 to 1024. When absent, one per CPU.",
     .apply = [](const Setting& workers, ProxyConfig& proxy) { workers.read(proxy.workers, 1, 1024); }},
    {.name = "admin",
     .type = ValueType::string,
     .default_value = "(unset)",
     .help = "\"host:port\" of the admin HTTP endpoint: /metrics (Prometheus), /stats (JSON), /healthz, "
             "/readyz and /config. Unset: no endpoint. Bind it to a loopback or management address: it has "
             "no authentication.",
     .apply =
         [](const Setting& admin, ProxyConfig& proxy) {
             AddressParse parsed = parse_address(admin.string());
             if (!parsed.error.empty()) {
                 admin.error(admin.path + ": " + parsed.error);
             } else if (parsed.address.kind != Address::Kind::tcp) {
                 admin.error(admin.path + ": the admin endpoint listens on TCP only (got a unix socket)");
             } else {
                 proxy.admin = std::move(parsed.address);
             }
         }},
    {.name = "max_client_connections",
     .type = ValueType::integer,
     .default_value = "10000",
     .help = "Client connections open at once, over all listeners; at least 1. Connections beyond it are "
             "closed as soon as they are accepted.",
     .apply = [](const Setting& limit,
                 ProxyConfig& proxy) { limit.read_at_least(proxy.max_client_connections, 1); }},
    {.name = "max_request_bytes",
     .type = ValueType::integer,
     .default_value = "536870912",
     .help = "Largest request a client may send, in bytes (default 512 MiB, Redis's own limit); at least "
             "1024. A larger request gets an error and its connection is closed.",
     .apply = [](const Setting& limit,
                 ProxyConfig& proxy) { limit.read_at_least(proxy.max_request_bytes, 1024); }},
    {.name = "drain_timeout_ms",
     .type = ValueType::integer,
     .default_value = "5000",
     .help = "On SIGTERM or SIGINT, how long in-flight requests may take to finish before the process exits "
             "anyway, in milliseconds; 0 exits at once.",
     .apply = [](const Setting& timeout,
                 ProxyConfig& proxy) { timeout.read_at_least(proxy.drain_timeout_ms, 0); }},
    {.name = "max_client_output_bytes",
     .type = ValueType::integer,
     .default_value = "67108864",
     .help = "Replies one client may leave unread in the proxy, in bytes (default 64 MiB); at least 4096. "
             "A client whose unread replies exceed it is disconnected.",
     .apply = [](const Setting& limit,
                 ProxyConfig& proxy) { limit.read_at_least(proxy.max_client_output_bytes, 4096); }},
    {.name = "client_request_timeout_ms",
     .type = ValueType::integer,
     .default_value = "30000",
     .help = "How long a client may take to send one request, from its first byte to its last, in "
             "milliseconds; 0: no limit. A client that takes longer gets an error and is disconnected.",
     .apply = [](const Setting& timeout,
                 ProxyConfig& proxy) { timeout.read_at_least(proxy.client_request_timeout_ms, 0); }},
    {.name = "client_idle_timeout_ms",
     .type = ValueType::integer,
     .default_value = "0",
     .help = "Closes a client connection that neither sent a byte nor took a byte of its replies for this "
             "long, in milliseconds; 0 (the default, as Redis's timeout 0): never.",
     .apply = [](const Setting& timeout,
                 ProxyConfig& proxy) { timeout.read_at_least(proxy.client_idle_timeout_ms, 0); }},
    {.name = "log_level",
     .type = ValueType::string,
     .default_value = "\"info\"",
     .help = "The least severe log lines written: \"info\" (everything), \"warning\" or \"error\".",
     .apply =
         [](const Setting& level, ProxyConfig& proxy) {
             static constexpr std::string_view names[] = {"info", "warning", "error"};
             if (level.string() == "info") {
                 proxy.log_level = LogLevel::info;
             } else if (level.string() == "warning") {
                 proxy.log_level = LogLevel::warning;
             } else if (level.string() == "error") {
                 proxy.log_level = LogLevel::error;
             } else {
                 level.unknown_name("log level", names);
             }
         }},
    {.name = "log_file",
     .type = ValueType::string,
     .default_value = "(unset: stderr)",
     .help = "Append log lines to this file instead of stderr. SIGUSR1 reopens it under the same name, for "
             "logrotate (no copytruncate needed).",
     .apply =
         [](const Setting& file, ProxyConfig& proxy) {
             if (file.string().empty()) {
                 file.error(file.path + " must not be empty; leave it out to log to stderr");
             } else {
                 proxy.log_file = file.string();
             }
         }},
};

}  // namespace

std::span<const KeySpec<ProxyConfig>> proxy_keys() { return proxy_table; }

}  // namespace shardproxy::conf
