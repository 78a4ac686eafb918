// The admin HTTP endpoint ([proxy] admin) of a real shardproxy in front of real redis-servers:
// /healthz, /readyz (ready, not ready when a pool has no server up, not ready while draining),
// /metrics in valid Prometheus text (checked line by line here, and by promtool when it is
// installed), /stats as JSON, /config with secrets redacted, 404 for anything else.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "support/http.h"
#include "support/redis_cluster.h"

using namespace shardproxy::testing;

namespace {

// The exposition format's rules that promtool checks too: every sample belongs to a family
// announced by HELP and TYPE before it, names are valid, counters end in _total, values parse.
std::string exposition_problems(const std::string& text) {
    static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*)");
    static const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))");
    static const std::regex sample(
        R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+|NaN|[+-]Inf))");
    std::istringstream lines(text);
    std::string line, problems, family, family_type;
    std::set<std::string> seen;
    std::smatch match;
    while (std::getline(lines, line)) {
        if (std::regex_match(line, match, help)) {
            family = match[1];
            family_type.clear();
            if (!seen.insert(family).second) problems += "family announced twice: " + line + "\n";
        } else if (std::regex_match(line, match, type)) {
            if (match[1] != family) problems += "TYPE without HELP: " + line + "\n";
            family_type = match[2];
            if (family_type == "counter" && !family.ends_with("_total")) problems += "counter without _total: " + line + "\n";
        } else if (std::regex_match(line, match, sample)) {
            const std::string name = match[1];
            const bool histogram_part = family_type == "histogram" &&
                                        (name == family + "_bucket" || name == family + "_sum" || name == family + "_count");
            if ((name != family && !histogram_part) || family_type.empty()) {
                problems += "sample outside its family: " + line + "\n";
            }
        } else {
            problems += "not exposition format: " + line + "\n";
        }
    }
    return problems;
}

// promtool's verdict on the text, or "" when promtool is not installed.
std::string promtool_verdict(const std::string& text) {
    if (std::system("command -v promtool >/dev/null 2>&1") != 0) return "";
    TempDir dir;
    const std::string file = dir.write("metrics.txt", text);
    const int status = std::system(("promtool check metrics < " + file + " > " + dir.file("out") + " 2>&1").c_str());
    return status == 0 ? "ok" : "promtool failed";
}

std::string admin_config(int admin_port) {
    return "admin = \"127.0.0.1:" + std::to_string(admin_port) + "\"\n";
}

uint64_t sample_value(const std::string& metrics, const std::string& series) {
    const size_t at = metrics.find("\n" + series + " ");
    return at == std::string::npos ? UINT64_MAX : std::stoull(metrics.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE("healthz, readyz, metrics, stats and config describe the running proxy") {
    const int admin = free_port();
    RedisCluster cluster({.servers = 2,
                          .workers = 2,
                          .extra_proxy = admin_config(admin),
                          .extra_pool = "[pool.main.hotkey]\nnear_cache = true\nmin_rate = 10\n"});
    HttpReply health = http_get(admin, "/healthz");
    CHECK(health.status == 200);
    CHECK(health.body == "ok\n");
    HttpReply ready = http_get(admin, "/readyz");
    CHECK(ready.status == 200);
    CHECK(ready.body == "ready\n");

    Client client(cluster.proxy_port());
    REQUIRE(describe(client.command({"SET", "popular", "yes"}).get()) == "status:OK");
    std::vector<std::vector<std::string>> reads(500, {"GET", "popular"});
    for (int round = 0; round < 4; ++round) client.pipeline(reads);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // hot keys are published once a second
    client.pipeline(reads);

    const HttpReply metrics = http_get(admin, "/metrics");
    REQUIRE(metrics.status == 200);
    INFO(metrics.body);
    CHECK(exposition_problems(metrics.body).empty());
    const std::string promtool = promtool_verdict(metrics.body);
    if (!promtool.empty()) CHECK(promtool == "ok");
    CHECK(sample_value(metrics.body, "shardproxy_requests_total") >= 2501);
    CHECK(sample_value(metrics.body, "shardproxy_client_connections") == 1);
    CHECK(sample_value(metrics.body, "shardproxy_server_up{pool=\"main\",server=\"cache-a\",address=\"" +
                                         cluster.server(0).address() + "\"}") == 1);
    CHECK(sample_value(metrics.body, "shardproxy_hotkey_cache_hits_total{pool=\"main\"}") > 1000);
    CHECK(metrics.body.find("shardproxy_hotkey_reads_per_second{pool=\"main\",key=\"popular\"} ") != std::string::npos);
    // The request path's own counters: by listener and class, by server, with latencies.
    CHECK(sample_value(metrics.body, "shardproxy_listener_requests_total{listener=\"front\",class=\"read\"}") == 2500);
    CHECK(sample_value(metrics.body, "shardproxy_listener_requests_total{listener=\"front\",class=\"write\"}") == 1);
    CHECK(sample_value(metrics.body, "shardproxy_listener_connections_accepted_total{listener=\"front\"}") >= 1);
    CHECK(sample_value(metrics.body, "shardproxy_listener_received_bytes_total{listener=\"front\"}") > 2500 * 20);
    CHECK(sample_value(metrics.body, "shardproxy_listener_sent_bytes_total{listener=\"front\"}") > 2500 * 9);
    CHECK(sample_value(metrics.body,
                       "shardproxy_listener_request_duration_seconds_count{listener=\"front\"}") >= 2500);
    CHECK(sample_value(metrics.body,
                       "shardproxy_listener_request_duration_seconds_bucket{listener=\"front\",le=\"+Inf\"}") >= 2500);
    const std::string server_a = "{pool=\"main\",server=\"cache-a\",address=\"" + cluster.server(0).address() + "\"}";
    const std::string server_b = "{pool=\"main\",server=\"cache-b\",address=\"" + cluster.server(1).address() + "\"}";
    const uint64_t sent = sample_value(metrics.body, "shardproxy_server_requests_total" + server_a) +
                          sample_value(metrics.body, "shardproxy_server_requests_total" + server_b);
    CHECK(sent >= 1);  // the SET, and whatever the near cache did not answer
    CHECK(sent < 2500);
    CHECK(sample_value(metrics.body, "shardproxy_server_timeouts_total" + server_a) == 0);

    const HttpReply stats = http_get(admin, "/stats");
    REQUIRE(stats.status == 200);
    INFO(stats.body);
    CHECK(stats.body.starts_with("{\"version\":"));
    CHECK(stats.body.find("\"pools\":[{\"name\":\"main\",\"servers\":[{\"name\":\"cache-a\"") != std::string::npos);
    CHECK(stats.body.find("\"state\":\"up\"") != std::string::npos);
    CHECK(stats.body.find("\"keys\":[{\"key\":\"popular\",\"rate\":") != std::string::npos);

    const HttpReply config = http_get(admin, "/config");
    REQUIRE(config.status == 200);
    CHECK(config.body.find("[pool.main]") != std::string::npos);
    CHECK(config.body.find(cluster.server(1).address()) != std::string::npos);

    CHECK(http_get(admin, "/nothing").status == 404);
}

TEST_CASE("readyz is 503 when a pool has no server up, and while draining") {
    const int admin = free_port();
    RedisCluster cluster({.servers = 1,
                          .workers = 1,
                          .timeout_ms = 2000,
                          .extra_proxy = admin_config(admin),
                          .extra_pool = "[pool.main.health]\nfailure_limit = 1\nmax_down_percent = 100\n"
                                        "probe_interval_ms = 100\n"});
    CHECK(http_get(admin, "/readyz").status == 200);
    Client client(cluster.proxy_port());
    cluster.server(0).process().kill_hard();
    HttpReply ready;
    for (int i = 0; i < 50; ++i) {
        client.command({"GET", "k"});  // failures mark the server down
        ready = http_get(admin, "/readyz");
        if (ready.status == 503) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(ready.status == 503);
    CHECK(ready.body == "not ready: pool main has no server up\n");
    CHECK(http_get(admin, "/healthz").status == 200);  // alive all the same
    cluster.server(0).restart();
    for (int i = 0; i < 50 && ready.status != 200; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        ready = http_get(admin, "/readyz");
    }
    CHECK(ready.status == 200);

    // A request held in flight keeps the proxy draining after SIGTERM: not ready meanwhile.
    cluster.server(0).process().pause();
    Client waiting(cluster.proxy_port());
    REQUIRE(redisAppendCommand(waiting.context(), "GET k") == REDIS_OK);
    int done = 0;
    REQUIRE(redisBufferWrite(waiting.context(), &done) == REDIS_OK);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    kill(cluster.proxy().process().pid(), SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ready = http_get(admin, "/readyz");
    CHECK(ready.status == 503);
    CHECK(ready.body == "not ready: draining: shutting down\n");
    cluster.server(0).process().resume();
}
