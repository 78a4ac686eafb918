// The admin endpoint's status page (/ and /status) as a person sees it: headless Chromium loads it
// from a real shardproxy in front of real redis-servers, runs its script for a few seconds of
// virtual time, and the DOM it rendered is checked: every pool and server, their states, the
// rates, then a killed server shown as down, and a screenshot. A deliberately misbehaving admin
// endpoint then checks the figures computed from per-server and per-listener counters, which it
// can make exact (a real proxy's are not), and what the page says once the endpoint stops
// answering.
//
// Chromium is one of the packages packaging/install-deps.sh installs; without it this test
// fails rather than skipping, so that the page cannot silently go untested.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "proxy/status_page.h"
#include "support/http.h"
#include "support/processes.h"

using namespace shardproxy::testing;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// --- Chromium ------------------------------------------------------------------------------

struct Rendered {
    std::string dom;  // the document after the page's script ran
    std::string log;  // Chromium's stderr, for failure messages
};

// Loads the page in headless Chromium, lets its script run for `virtual_ms` of virtual time (the
// page polls /stats each virtual second; virtual time waits for each fetch), and returns the DOM.
// With `screenshot`, also writes a PNG of a 1280x900 window there.
Rendered render(const std::string& url, int virtual_ms, const std::string& screenshot = "") {
    TempDir dir;
    // --no-sandbox: the sandbox refuses to run as root, as CI does. The resolver rule keeps the
    // browser's own background requests (Google services) from even looking up a name.
    std::string command = "timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run"
                          " --disable-background-networking --disable-component-update"
                          " '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'"
                          " --user-data-dir=" + dir.file("profile") +
                          " --window-size=1280,900 --virtual-time-budget=" + std::to_string(virtual_ms) + " --dump-dom";
    if (!screenshot.empty()) command += " --screenshot=" + screenshot;
    command += " " + url + " > " + dir.file("dom.html") + " 2> " + dir.file("chromium.log");
    const int status = std::system(command.c_str());
    Rendered rendered{read_file(dir.file("dom.html")), ""};
    // Without a D-Bus (as in CI) Chromium complains at length; those lines are noise here.
    std::istringstream log(read_file(dir.file("chromium.log")));
    for (std::string line; std::getline(log, line);) {
        if (line.find("dbus") == std::string::npos) rendered.log += line + "\n";
    }
    if (status != 0) rendered.log += "chromium exit status " + std::to_string(status) + "\n";
    return rendered;
}

// --- Reading the rendered DOM --------------------------------------------------------------
// Chromium serialises attributes as name="value"; the page's hooks are data attributes
// (status_page.html lists them), and its rows and cells never nest inside their own kind.

// The first element, start tag to end tag, whose start tag names `tag` and holds every one of
// `attributes` (each written name="value"); "" when there is none.
std::string element(const std::string& html, const std::string& tag, const std::vector<std::string>& attributes) {
    const std::string open = "<" + tag;
    for (size_t at = html.find(open); at != std::string::npos; at = html.find(open, at + 1)) {
        const size_t start_end = html.find('>', at);
        if (start_end == std::string::npos) break;
        const std::string start = html.substr(at, start_end + 1 - at);
        if (start[open.size()] != ' ' && start[open.size()] != '>') continue;  // <trace> is not <tr>
        bool all = true;
        for (const std::string& attribute : attributes) all = all && start.find(" " + attribute) != std::string::npos;
        if (!all) continue;
        const size_t close = html.find("</" + tag + ">", start_end);
        return close == std::string::npos ? "" : html.substr(at, close + tag.size() + 3 - at);
    }
    return "";
}

// The value of an attribute of the element's start tag.
std::optional<std::string> attribute(const std::string& element_html, const std::string& name) {
    const std::string start = element_html.substr(0, element_html.find('>'));
    const size_t at = start.find(" " + name + "=\"");
    if (at == std::string::npos) return std::nullopt;
    const size_t value = at + name.size() + 3;
    return start.substr(value, start.find('"', value) - value);
}

// The text inside an element, tags dropped.
std::string text_of(const std::string& element_html) {
    std::string text;
    bool in_tag = false;
    for (const char c : element_html.substr(element_html.find('>') + 1)) {
        if (c == '<') in_tag = true;
        if (!in_tag) text += c;
        if (c == '>') in_tag = false;
    }
    return text;
}

// A figure the page shows: data-field="name", its text and its bare number (data-value).
struct Figure {
    std::string text;
    std::optional<std::string> value;
    double number() const { return value ? std::stod(*value) : -1; }
};

Figure figure(const std::string& scope, const std::string& name) {
    const std::string attr = "data-field=\"" + name + "\"";
    for (const char* tag : {"td", "span"}) {
        const std::string found = element(scope, tag, {attr});
        if (!found.empty()) return {text_of(found), attribute(found, "data-value")};
    }
    return {"<no " + attr + ">", std::nullopt};
}

std::string server_row(const std::string& dom, const std::string& pool, const std::string& server) {
    return element(dom, "tr", {"data-pool=\"" + pool + "\"", "data-server=\"" + server + "\""});
}

const std::string kDash = "\u2014";

// Whether /stats gives the server this per-server counter (the server objects hold no braces).
bool server_has(const std::string& stats, const std::string& server, const std::string& counter) {
    return std::regex_search(stats, std::regex("\\{\"name\":\"" + server + "\"[^{}]*\"" + counter + "\":"));
}

bool is_png(const std::string& path, uint32_t width, uint32_t height) {
    const std::string bytes = read_file(path);
    if (bytes.size() < 24 || bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return false;
    auto big_endian = [&](size_t at) {
        uint32_t value = 0;
        for (size_t i = 0; i < 4; ++i) value = value << 8 | static_cast<unsigned char>(bytes[at + i]);
        return value;
    };
    return bytes.compare(12, 4, "IHDR") == 0 && big_endian(16) == width && big_endian(20) == height;
}

// Steady client traffic on a thread, over keys of every server, so that rates have something
// to measure while Chromium polls.
class Traffic {
public:
    explicit Traffic(int port) : thread_([this, port] { run(port); }) {}
    ~Traffic() {
        stop_ = true;
        thread_.join();
    }

private:
    void run(int port) {
        Client client(port);
        std::vector<std::vector<std::string>> reads;
        for (int i = 0; i < 100; ++i) reads.push_back({"GET", (i % 4 == 0 ? "s:key" : "key") + std::to_string(i)});
        while (!stop_) client.pipeline(reads);
    }
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// --- A fake admin endpoint -----------------------------------------------------------------

// Serves the embedded page at / and, at /stats, `stats(n)` for the n-th call (from 1); after
// `answers` calls it closes its socket, as a proxy that went away.
class FakeAdmin {
public:
    FakeAdmin(int answers, std::function<std::string(int)> stats) : answers_(answers), stats_(std::move(stats)) {
        // Close-on-exec: a copy inherited by Chromium would keep the port open after close().
        listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof(addr);
        if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), length) != 0 || listen(listen_fd_, 16) != 0 ||
            getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
            throw std::runtime_error("fake admin endpoint: cannot listen");
        }
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeAdmin() {
        stop_ = true;
        thread_.join();
        if (listen_fd_ >= 0) close(listen_fd_);
    }
    int port() const { return port_; }
    int stats_calls() const { return calls_; }

private:
    void serve() {
        while (!stop_ && calls_ < answers_) {
            pollfd ready{listen_fd_, POLLIN, 0};
            if (poll(&ready, 1, 50) <= 0) continue;
            const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            answer(fd);
            close(fd);
        }
        close(listen_fd_);  // from now on connections are refused
        listen_fd_ = -1;
    }

    void answer(int fd) {
        std::string request;
        char buffer[4096];
        while (request.find("\r\n\r\n") == std::string::npos) {
            pollfd readable{fd, POLLIN, 0};
            if (poll(&readable, 1, 2000) <= 0) return;
            const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
            if (n <= 0) return;
            request.append(buffer, static_cast<size_t>(n));
        }
        const std::string path = request.substr(4, request.find(' ', 4) - 4);
        std::string status = "200 OK", type = "application/json", body;
        if (path == "/" || path == "/status") {
            type = "text/html; charset=utf-8";
            body = shardproxy::proxy::status_page_html();
        } else if (path == "/stats") {
            body = stats_(++calls_);
        } else {
            status = "404 Not Found";
        }
        const std::string reply = "HTTP/1.1 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " +
                                  std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
        send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
    }

    int answers_;
    std::function<std::string(int)> stats_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<int> calls_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// The fake's n-th /stats answer. Per second, as the page polls once a second: cache-a grows 400
// requests, 3 errors and 1 timeout, answered in 1.5 ms each; cache-b 100 requests and 2 timeouts
// at 0.25 ms; cache-c has only the counters /stats had before those, so its figures are dashes.
// The listener "front" grows 300 requests at 2 ms and errors of two kinds, 1 + 2; "local" has
// requests only.
std::string fake_stats(int n) {
    const auto number = [](const std::string& name, long value) {
        return ",\"" + name + "\":" + std::to_string(value);
    };
    const auto traffic = [&](int requests, int errors, int timeouts, int latency_us) {
        return number("requests", n * requests) + number("errors", n * errors) + number("timeouts", n * timeouts) +
               number("latency_sum_us", n * requests * latency_us) + number("latency_count", n * requests);
    };
    const std::string health = number("failures", 0) + number("downs", 0) + number("probes", 0) +
                               number("probe_failures", 0) + number("refused", 0) + number("failovers", 0);
    const auto server = [&](const std::string& name, const std::string& state, const std::string& counters) {
        return "{\"name\":\"" + name + "\",\"address\":\"127.0.0.1:7000\",\"state\":\"" + state + "\"" + health +
               counters + "}";
    };
    const std::string errors_by_kind =
        "{\"protocol\":" + std::to_string(n) + ",\"backend\":" + std::to_string(2 * n) + "}";
    const std::string front = "{\"name\":\"front\",\"listen\":\"127.0.0.1:6380\"" + number("requests", n * 300) +
                              ",\"errors\":" + errors_by_kind + number("latency_sum_us", n * 300 * 2000) +
                              number("latency_count", n * 300) + "}";
    const std::string local = "{\"name\":\"local\"" + number("requests", n * 200) + "}";
    return "{\"version\":\"9.9.9\"" + number("uptime_seconds", 3600 + n) + number("workers", 4) +
           number("client_connections", 7) + number("requests", n * 500) + ",\"listeners\":[" + front + "," + local +
           "],\"pools\":[{\"name\":\"main\",\"servers\":[" + server("cache-a", "up", traffic(400, 3, 1, 1500)) + "," +
           server("cache-b", "partly_down", traffic(100, 0, 2, 250)) + "," + server("cache-c", "up", "") + "]}]}";
}

}  // namespace

TEST_CASE("the page is served at / and /status, self-contained, as the file in the repository") {
    RedisServer redis;
    const int admin = free_port();
    ShardProxy proxy("[proxy]\nworkers = 1\nadmin = \"127.0.0.1:" + std::to_string(admin) +
                     "\"\n[[listener]]\nlisten = \"127.0.0.1:@PORT@\"\npool = \"main\"\n"
                     "[pool.main]\nservers = [\"" + redis.address() + ":1 cache-a\"]\n");
    const std::string source = read_file(SHARDPROXY_SOURCE_DIR "/proxy/status_page.html");
    REQUIRE(!source.empty());
    for (const char* path : {"/", "/status"}) {
        INFO(path);
        const HttpReply page = http_get(admin, path);
        CHECK(page.status == 200);
        CHECK(page.headers.find("\r\ncontent-type: text/html; charset=utf-8") != std::string::npos);
        CHECK(page.headers.find("\r\ncache-control: no-store") != std::string::npos);
        CHECK(page.body == source);
    }
    // Nothing from the internet: the admin endpoint often sits on a network without it.
    CHECK(source.find("http://") == std::string::npos);
    CHECK(source.find("https://") == std::string::npos);
}

TEST_CASE("Chromium renders every pool and server with its state and rates, then a killed server as down") {
    REQUIRE_MESSAGE(std::system("command -v chromium >/dev/null 2>&1") == 0,
                    "chromium is not installed: run packaging/install-deps.sh");
    std::vector<std::unique_ptr<RedisServer>> redis;
    for (int i = 0; i < 4; ++i) redis.push_back(std::make_unique<RedisServer>());
    const int admin = free_port();
    // failure_limit 1 and quick probes: the killed server is down after its first failure in
    // each worker, and stays down.
    ShardProxy proxy("[proxy]\nworkers = 2\nadmin = \"127.0.0.1:" + std::to_string(admin) + "\"\n\n"
                     "[[listener]]\nname = \"front\"\nlisten = \"127.0.0.1:@PORT@\"\npool = \"main\"\n"
                     "routes = [ { prefix = \"s:\", pool = \"sessions\" } ]\n\n"
                     "[pool.main]\nservers = [\"" + redis[0]->address() + ":1 cache-a\", \"" + redis[1]->address() +
                     ":1 cache-b\", \"" + redis[2]->address() + ":1 cache-c\"]\ntimeout_ms = 500\n\n"
                     "[pool.main.health]\nfailure_limit = 1\nprobe_interval_ms = 100\nprobe_max_interval_ms = 400\n\n"
                     "[pool.sessions]\nservers = [\"" + redis[3]->address() + ":1 sess-a\"]\n");
    const std::string url = "http://127.0.0.1:" + std::to_string(admin) + "/";
    const std::vector<std::pair<std::string, std::string>> servers = {
        {"main", "cache-a"}, {"main", "cache-b"}, {"main", "cache-c"}, {"sessions", "sess-a"}};

    Client client(proxy.port());
    std::vector<std::vector<std::string>> writes;
    for (int i = 0; i < 200; ++i) writes.push_back({"SET", (i % 4 == 0 ? "s:key" : "key") + std::to_string(i), "v"});
    for (const auto& reply : client.pipeline(writes)) REQUIRE(describe(reply.get()) == "status:OK");

    {
        // Everything up, with traffic running while the page polls.
        Rendered page;
        {
            Traffic traffic(proxy.port());
            page = render(url, 4000);
        }
        const std::string stats = http_get(admin, "/stats").body;
        INFO(page.log);
        INFO(page.dom);
        REQUIRE(attribute(element(page.dom, "span", {"id=\"connection\""}), "data-state") == "live");

        const std::string summary = element(page.dom, "section", {"id=\"summary\""});
        CHECK(figure(summary, "version").value == SHARDPROXY_VERSION);
        CHECK(figure(summary, "workers").value == "2");
        CHECK(figure(summary, "connections").number() >= 1);
        CHECK(figure(summary, "requests").number() >= 200);
        CHECK(figure(summary, "rate").number() >= 0);
        // The chart's line goes through several samples, and traffic ran all along, so some are
        // above zero (the bottom edge, y = 100).
        const std::string chart = element(page.dom, "svg", {"id=\"proxy-chart\""});
        const std::optional<std::string> line = attribute(element(chart, "path", {"class=\"line\""}), "d");
        REQUIRE(line.has_value());
        CHECK(std::count(line->begin(), line->end(), 'L') >= 2);
        bool above_zero = false;
        const std::regex point("[ML][0-9.]+ ([0-9.]+)");
        for (auto it = std::sregex_iterator(line->begin(), line->end(), point); it != std::sregex_iterator(); ++it) {
            above_zero = above_zero || std::stod((*it)[1]) < 100;
        }
        CHECK(above_zero);

        for (const auto& [pool, server] : servers) {
            const std::string where = pool + "/" + server;  // clang 14 cannot capture a structured binding
            INFO(where);
            CHECK(!element(page.dom, "section", {"data-pool=\"" + pool + "\""}).empty());
            const std::string row = server_row(page.dom, pool, server);
            REQUIRE(!row.empty());
            CHECK(attribute(row, "data-state") == "up");
            CHECK(attribute(row, "class").value_or("").find("state-up") != std::string::npos);
            CHECK(text_of(element(row, "span", {"class=\"badge\""})) == "up");
            CHECK(figure(row, "failures").value == "0");
            // A rate where /stats has the server's counter, a dash where it has not (yet).
            if (server_has(stats, server, "requests")) {
                CHECK(figure(row, "rate").number() >= 0);
            } else {
                CHECK(figure(row, "rate").text == kDash);
            }
            if (server_has(stats, server, "errors")) {
                CHECK(figure(row, "error-rate").number() >= 0);
            } else {
                CHECK(figure(row, "error-rate").text == kDash);
            }
            if (!server_has(stats, server, "latency_count")) CHECK(figure(row, "latency").text == kDash);
        }
    }

    redis[1]->process().kill_hard();
    // Each worker marks it down on its own first failure: new connections until both have
    // met one (a connection is served by whichever worker accepts it).
    const std::regex down("\\{\"name\":\"cache-b\"[^{}]*\"state\":\"down\"");
    std::string stats;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!std::regex_search(stats = http_get(admin, "/stats").body, down) &&
           std::chrono::steady_clock::now() < deadline) {
        Client another(proxy.port());
        std::vector<std::vector<std::string>> reads;
        for (int i = 0; i < 40; ++i) reads.push_back({"GET", "key" + std::to_string(i)});
        another.pipeline(reads);
    }
    INFO(stats);
    REQUIRE(std::regex_search(stats, down));

    {
        // The page loaded anew: the same proxy, cache-b down.
        TempDir shots;
        const std::string png = shots.file("status.png");
        const Rendered page = render(url, 2500, png);
        INFO(page.log);
        INFO(page.dom);
        REQUIRE(attribute(element(page.dom, "span", {"id=\"connection\""}), "data-state") == "live");
        for (const auto& [pool, server] : servers) {
            const std::string where = pool + "/" + server;  // clang 14 cannot capture a structured binding
            INFO(where);
            const std::string row = server_row(page.dom, pool, server);
            const std::string state = server == "cache-b" ? "down" : "up";
            CHECK(attribute(row, "data-state") == state);
            CHECK(attribute(row, "class").value_or("").find("state-" + state) != std::string::npos);
            CHECK(text_of(element(row, "span", {"class=\"badge\""})) == state);
        }
        CHECK(figure(server_row(page.dom, "main", "cache-b"), "failures").number() >= 1);
        CHECK(figure(server_row(page.dom, "main", "cache-b"), "downs").number() >= 1);
        const std::string pool = element(page.dom, "section", {"data-pool=\"main\""});
        CHECK(text_of(element(pool, "span", {"class=\"pool-summary"})).starts_with("2 of 3 servers up"));
        CHECK(is_png(png, 1280, 900));
    }
}

TEST_CASE("per-server counters become rates, error rates and latency; an endpoint that stops answering is shown") {
    REQUIRE_MESSAGE(std::system("command -v chromium >/dev/null 2>&1") == 0,
                    "chromium is not installed: run packaging/install-deps.sh");
    FakeAdmin admin(4, fake_stats);
    const Rendered page = render("http://127.0.0.1:" + std::to_string(admin.port()) + "/status", 8000);
    INFO(page.log);
    INFO(page.dom);
    REQUIRE(admin.stats_calls() == 4);

    // The figures of the last answer stay on screen, marked stale, under the notice.
    const std::string banner = element(page.dom, "span", {"id=\"connection\""});
    CHECK(attribute(banner, "data-state") == "unreachable");
    CHECK(text_of(banner).find("proxy unreachable") != std::string::npos);
    CHECK(attribute(element(page.dom, "body", {}), "class") == "stale");

    const std::string summary = element(page.dom, "section", {"id=\"summary\""});
    CHECK(figure(summary, "version").text == "9.9.9");
    CHECK(figure(summary, "uptime").text == "1h 00m");
    CHECK(figure(summary, "requests").value == "2000");
    // Virtual seconds between polls are close to, not exactly, one.
    CHECK(figure(summary, "rate").number() == doctest::Approx(500).epsilon(0.05));
    const std::string listeners = element(page.dom, "section", {"id=\"listeners\""});
    CHECK(attribute(listeners, "hidden") == std::nullopt);
    const std::string front = element(listeners, "tr", {"data-listener=\"front\""});
    CHECK(text_of(element(front, "td", {"data-field=\"address\""})) == "127.0.0.1:6380");
    CHECK(figure(front, "rate").number() == doctest::Approx(300).epsilon(0.05));
    CHECK(figure(front, "error-rate").number() == doctest::Approx(3).epsilon(0.05));
    CHECK(figure(front, "latency").value == "2");
    CHECK(figure(front, "requests").value == "1200");
    const std::string local = element(listeners, "tr", {"data-listener=\"local\""});
    CHECK(figure(local, "rate").number() == doctest::Approx(200).epsilon(0.05));
    CHECK(figure(local, "error-rate").text == kDash);
    CHECK(figure(local, "latency").text == kDash);

    const std::string a = server_row(page.dom, "main", "cache-a");
    CHECK(figure(a, "rate").number() == doctest::Approx(400).epsilon(0.05));
    CHECK(figure(a, "error-rate").number() == doctest::Approx(4).epsilon(0.05));
    CHECK(figure(a, "latency").value == "1.5");
    CHECK(figure(a, "latency").text == "1.50 ms");
    const std::string b = server_row(page.dom, "main", "cache-b");
    CHECK(attribute(b, "data-state") == "partly_down");
    CHECK(attribute(b, "class").value_or("").find("state-partly_down") != std::string::npos);
    CHECK(figure(b, "rate").number() == doctest::Approx(100).epsilon(0.05));
    CHECK(figure(b, "error-rate").number() == doctest::Approx(2).epsilon(0.05));
    CHECK(figure(b, "latency").value == "0.25");
    const std::string c = server_row(page.dom, "main", "cache-c");
    for (const char* name : {"rate", "error-rate", "latency"}) {
        CHECK(figure(c, name).text == kDash);
        CHECK(figure(c, name).value == std::nullopt);
    }
    CHECK(figure(c, "failures").value == "0");
    // The pool's rate is its servers' only when all of them have one.
    CHECK(text_of(element(page.dom, "span", {"class=\"pool-summary"})) == "2 of 3 servers up");
}
