// The binary as an operator meets it: command line, listeners, limits, signals.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "support/redis_cluster.h"

using namespace shardproxy::testing;

namespace {

struct CommandResult {
    int status;
    std::string output;  // stdout and stderr
};

CommandResult run(const std::string& command_line) {
    CommandResult result{0, {}};
    FILE* pipe = popen((command_line + " 2>&1").c_str(), "r");
    std::array<char, 4096> buffer{};
    size_t n;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
    const int status = pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

std::string pool_config(const RedisServer& server) {
    return "[pool.main]\nprotocol = \"redis\"\nservers = [\"" + server.address() + " cache-a\"]\n";
}

}  // namespace

TEST_CASE("--version and --help answer and exit 0") {
    const auto version = run(std::string(SHARDPROXY_BINARY) + " --version");
    CHECK(version.status == 0);
    CHECK(version.output.starts_with("shardproxy "));
    const auto help = run(std::string(SHARDPROXY_BINARY) + " --help");
    CHECK(help.status == 0);
    CHECK(help.output.find("--check") != std::string::npos);
    const auto bad = run(std::string(SHARDPROXY_BINARY) + " --frobnicate");
    CHECK(bad.status == 2);
    CHECK(bad.output.find("unknown option '--frobnicate'") != std::string::npos);
}

TEST_CASE("--check accepts a valid file and lists every problem of a bad one as FILE:LINE:COL") {
    TempDir dir;
    const std::string good = dir.write("good.toml",
        "[[listener]]\nlisten = \"127.0.0.1:6390\"\nprotocol = \"redis\"\npool = \"main\"\n"
        "[pool.main]\nprotocol = \"redis\"\nservers = [\"127.0.0.1:7001\"]\n");
    const auto ok = run(std::string(SHARDPROXY_BINARY) + " --check -c " + good);
    CHECK(ok.status == 0);

    const std::string bad = dir.write("bad.toml",
        "[[listener]]\nlisten = \"127.0.0.1:6390\"\nprotocol = \"redis\"\npool = \"main\"\n"
        "[pool.main]\nprotocol = \"redis\"\nservers = [\"127.0.0.1:7001\"]\nhsah = \"md5\"\n"
        "timeout_ms = \"soon\"\n");
    const auto failed = run(std::string(SHARDPROXY_BINARY) + " --check -c " + bad);
    CHECK(failed.status == 1);
    CHECK(failed.output.find(bad + ":8:1: ") != std::string::npos);
    CHECK(failed.output.find("did you mean 'hash'") != std::string::npos);
    CHECK(failed.output.find(bad + ":9:14: pool.main.timeout_ms must be an integer") != std::string::npos);
}

TEST_CASE("a unix socket listener serves clients") {
    RedisServer server;
    TempDir dir;
    const std::string socket_path = dir.file("proxy.sock");
    ShardProxy proxy("[proxy]\nworkers = 1\n[[listener]]\nname = \"tcp\"\nlisten = \"127.0.0.1:@PORT@\"\n"
                     "protocol = \"redis\"\npool = \"main\"\n[[listener]]\nname = \"local\"\n"
                     "listen = \"unix:" + socket_path + "\"\nunix_mode = \"0660\"\nprotocol = \"redis\"\n"
                     "pool = \"main\"\n" + pool_config(server));
    struct stat info{};
    REQUIRE(stat(socket_path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0660);
    redisContext* context = redisConnectUnix(socket_path.c_str());
    REQUIRE(context != nullptr);
    REQUIRE(context->err == 0);
    auto* reply = static_cast<redisReply*>(redisCommand(context, "SET unix-key v"));
    CHECK(describe(reply) == "status:OK");
    freeReplyObject(reply);
    redisFree(context);
    Client direct(server.port());
    CHECK(describe(direct.command({"GET", "unix-key"}).get()) == "string:v");
}

TEST_CASE("max_client_connections is enforced with Redis's error") {
    RedisServer server;
    ShardProxy proxy("[proxy]\nworkers = 2\nmax_client_connections = 2\n[[listener]]\n"
                     "listen = \"127.0.0.1:@PORT@\"\nprotocol = \"redis\"\npool = \"main\"\n" +
                     pool_config(server));
    Client first(proxy.port());
    // The start-up probe's connection may not be counted out yet; wait until it is.
    for (int i = 0; i < 500; ++i) {
        if (describe(first.command({"INFO", "clients"}).get()).find("connected_clients:1\r\n") != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Client second(proxy.port());
    CHECK(describe(first.command({"PING"}).get()) == "status:PONG");
    CHECK(describe(second.command({"PING"}).get()) == "status:PONG");
    // Nothing is sent: a refused client's unread bytes would make the close a reset, which can
    // discard the error before it is read (redis-server behaves the same).
    CHECK(raw_exchange(proxy.port(), "", 2000) == "-ERR max number of clients reached\r\n<closed>");
}

TEST_CASE("SIGTERM finishes in-flight requests and exits 0") {
    RedisServer server;
    ShardProxy proxy("[proxy]\nworkers = 2\n[[listener]]\nlisten = \"127.0.0.1:@PORT@\"\n"
                     "protocol = \"redis\"\npool = \"main\"\n" + pool_config(server));
    Client client(proxy.port());
    CHECK(describe(client.command({"SET", "drain", "1"}).get()) == "status:OK");
    // A slow request is in flight when the signal arrives; its reply must still come.
    redisAppendCommand(client.context(), "EVAL %s 0", "local t = redis.call('TIME') while true do local n = redis.call('TIME') if (n[1] - t[1]) * 1000000 + n[2] - t[2] > 300000 then break end end return 'done'");
    Client observer(proxy.port());
    auto commands_processed = [&] {
        const std::string info = describe(observer.command({"INFO", "stats"}).get());
        const size_t at = info.find("total_commands_processed:");
        return at == std::string::npos ? 0L : std::stol(info.substr(at + 25));
    };
    const long before = commands_processed();
    int written = 0;
    while (!written) REQUIRE(redisBufferWrite(client.context(), &written) == REDIS_OK);
    // Signal only once the proxy has the EVAL (each poll counts one INFO of its own).
    for (long polls = 1; commands_processed() - before - polls < 1 && polls < 500; ++polls) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill(proxy.process().pid(), SIGTERM);
    void* reply = nullptr;
    REQUIRE(redisGetReply(client.context(), &reply) == REDIS_OK);
    CHECK(describe(static_cast<redisReply*>(reply)) == "string:done");
    freeReplyObject(reply);
    // An impatient operator (or a service manager) signals again and again while it drains
    // and exits: it still exits 0, never ended by a signal on its way out.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (proxy.process().running() && std::chrono::steady_clock::now() < deadline) {
        if (const pid_t pid = proxy.process().pid(); pid > 0) kill(pid, SIGTERM);  // never kill(-1)
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    CHECK_FALSE(proxy.process().running());
    CHECK(proxy.process().stop(0) == 0);  // collects the exit status
    CHECK(proxy.log().find("stopped") != std::string::npos);
}

TEST_CASE("log_file takes the log lines, log_level drops the lesser ones, SIGUSR1 reopens the file") {
    RedisServer redis;
    TempDir dir;
    const std::string log = dir.file("shardproxy.log");
    auto file_text = [](const std::string& path) {
        std::string text;
        if (FILE* file = std::fopen(path.c_str(), "r")) {
            char buffer[4096];
            for (size_t n; (n = std::fread(buffer, 1, sizeof(buffer), file)) > 0;) text.append(buffer, n);
            std::fclose(file);
        }
        return text;
    };
    auto wait_for = [&](const std::string& path, const std::string& text) {
        for (int i = 0; i < 100 && file_text(path).find(text) == std::string::npos; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return file_text(path).find(text) != std::string::npos;
    };
    {
        ShardProxy proxy("[proxy]\nworkers = 1\nlog_file = \"" + log + "\"\n[[listener]]\nlisten = \"127.0.0.1:@PORT@\"\n"
                         "pool = \"main\"\n[pool.main]\nservers = [\"" + redis.address() + "\"]\n");
        REQUIRE(wait_for(log, "INFO shardproxy " SHARDPROXY_VERSION " running"));
        CHECK(proxy.log().find("running") == std::string::npos);  // not on stderr
        // What logrotate does: move the file away, then signal.
        REQUIRE(std::rename(log.c_str(), (log + ".1").c_str()) == 0);
        kill(proxy.process().pid(), SIGUSR1);
        REQUIRE(wait_for(log, "SIGUSR1 received"));
        kill(proxy.process().pid(), SIGHUP);
        CHECK(wait_for(log, "INFO configuration reloaded"));
        CHECK(file_text(log + ".1").find("SIGHUP") == std::string::npos);
        CHECK(file_text(log).find(" running with ") == std::string::npos);
    }
    const std::string quiet = dir.file("quiet.log");
    ShardProxy proxy("[proxy]\nworkers = 1\nlog_level = \"warning\"\nlog_file = \"" + quiet + "\"\n[[listener]]\n"
                     "listen = \"127.0.0.1:@PORT@\"\npool = \"main\"\n[pool.main]\nservers = [\"" + redis.address() +
                     "\"]\n");
    // Answering means the workers run, so the signal handlers are in place.
    Client client(proxy.port());
    REQUIRE(describe(client.command({"PING"}).get()) == "status:PONG");
    // A reload of a broken file: refused, which is an error line; the info lines stay out.
    std::FILE* config = std::fopen(proxy.config_path().c_str(), "a");
    REQUIRE(config != nullptr);
    std::fputs("not toml at all\n", config);
    std::fclose(config);
    kill(proxy.process().pid(), SIGHUP);
    CHECK(wait_for(quiet, "ERROR configuration reload refused"));
    CHECK(file_text(quiet).find("INFO") == std::string::npos);
}
