#include "support/processes.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace shardproxy::testing {
namespace {

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

}  // namespace

int free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        close(fd);
        throw std::runtime_error("cannot bind a free port");
    }
    socklen_t length = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
    close(fd);
    return ntohs(addr.sin_port);
}

bool wait_for_port(int port, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
        const int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(port));
        const bool up = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
        close(fd);
        if (up) return true;
        sleep_ms(20);
    }
    return false;
}

TempDir::TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "shardproxy-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
    const std::string path = file(name);
    std::ofstream(path) << content;
    return path;
}

Process::Process(std::vector<std::string> argv, const std::string& log_path) {
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (log >= 0) {
            dup2(log, STDOUT_FILENO);
            dup2(log, STDERR_FILENO);
        }
        std::vector<char*> args;
        for (std::string& arg : argv) args.push_back(arg.data());
        args.push_back(nullptr);
        execvp(args[0], args.data());
        std::fprintf(stderr, "exec %s failed: %s\n", args[0], std::strerror(errno));
        _exit(127);
    }
}

Process::~Process() {
    if (pid_ > 0) stop(2000);
}

bool Process::running() {
    if (pid_ <= 0) return false;
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        pid_ = -1;
        return false;
    }
    return true;
}

int Process::stop(int grace_ms) {
    if (!running()) return status_;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGTERM);
    for (int waited = 0; waited < grace_ms; waited += 10) {
        if (!running()) return status_;
        sleep_ms(10);
    }
    kill_hard();
    return status_;
}

void Process::kill_hard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    pid_ = -1;
}

void Process::pause() {
    ::kill(pid_, SIGSTOP);
    // kill() returns before every thread has stopped; a multi-threaded server (memcached) could
    // still answer a request sent right after. The parent hears when the whole group stopped.
    int status = 0;
    waitpid(pid_, &status, WUNTRACED);
}
void Process::resume() { ::kill(pid_, SIGCONT); }

RedisServer::RedisServer(int port) : port_(port == 0 ? free_port() : port) { start(); }

void RedisServer::start() {
    process_ = std::make_unique<Process>(
        std::vector<std::string>{"redis-server", "--port", std::to_string(port_), "--bind",
                                 "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                                 dir_.path(), "--daemonize", "no"},
        dir_.file("redis.log"));
    if (!wait_for_port(port_)) throw std::runtime_error("redis-server did not start on " + address());
}

void RedisServer::restart() {
    process_->stop();
    start();
}

ShardProxy::ShardProxy(const std::string& config) : port_(free_port()) {
    config_path_ = dir_.write("shardproxy.toml", replace_all(config, "@PORT@", std::to_string(port_)));
    process_ = std::make_unique<Process>(
        std::vector<std::string>{SHARDPROXY_BINARY, "-c", config_path_}, dir_.file("shardproxy.log"));
    if (!wait_for_port(port_)) {
        throw std::runtime_error("shardproxy did not start; its log:\n" + log());
    }
}

ShardProxy::~ShardProxy() {
    if (!process_->running()) return;  // the test stopped it, or saw it die
    // SIGTERM must end in exit status 0. Anything else (a crash on the way out, a sanitizer
    // report, which in a sanitized build also goes to the log) fails the test binary here,
    // since the log is about to be deleted with its directory. A proxy still busy after the
    // grace period is killed (-SIGKILL): slow, not wrong.
    const int status = process_->stop();
    if (status != 0 && status != -SIGKILL) {
        std::fprintf(stderr, "shardproxy exited with status %d after SIGTERM; its log:\n%s\n", status,
                     log().c_str());
        std::abort();
    }
}

std::string ShardProxy::log() const {
    std::ifstream in(dir_.file("shardproxy.log"));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

Nutcracker::Nutcracker(const std::string& yaml) : port_(free_port()) {
    const std::string config = dir_.write("nutcracker.yml", replace_all(yaml, "@PORT@", std::to_string(port_)));
    process_ = std::make_unique<Process>(
        std::vector<std::string>{"nutcracker", "-c", config, "-s", std::to_string(free_port()), "-a", "127.0.0.1",
                                 "-o", dir_.file("nutcracker.log"), "-p", dir_.file("nutcracker.pid")},
        dir_.file("nutcracker.out"));
    if (!wait_for_port(port_)) throw std::runtime_error("nutcracker did not start");
}

Client::Client(int port, int timeout_ms) {
    const timeval timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    context_ = redisConnectWithTimeout("127.0.0.1", port, timeout);
    if (context_ == nullptr || context_->err) {
        throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
    }
    redisSetTimeout(context_, timeout);
}

Client::~Client() { redisFree(context_); }

ReplyPtr Client::command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const std::string& arg : args) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    void* reply = redisCommandArgv(context_, static_cast<int>(args.size()), argv.data(), lengths.data());
    return ReplyPtr(static_cast<redisReply*>(reply), freeReplyObject);
}

std::vector<ReplyPtr> Client::pipeline(const std::vector<std::vector<std::string>>& commands) {
    for (const auto& args : commands) {
        std::vector<const char*> argv;
        std::vector<size_t> lengths;
        for (const std::string& arg : args) {
            argv.push_back(arg.data());
            lengths.push_back(arg.size());
        }
        redisAppendCommandArgv(context_, static_cast<int>(args.size()), argv.data(), lengths.data());
    }
    std::vector<ReplyPtr> replies;
    for (size_t i = 0; i < commands.size(); ++i) {
        void* reply = nullptr;
        if (redisGetReply(context_, &reply) != REDIS_OK) {
            replies.emplace_back(nullptr, freeReplyObject);
            continue;
        }
        replies.emplace_back(static_cast<redisReply*>(reply), freeReplyObject);
    }
    return replies;
}

int connect_loopback(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

std::string raw_exchange(int port, const std::string& bytes, int wait_ms) {
    const int fd = connect_loopback(port);
    if (fd < 0) return "<connect failed>";
    size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
    }
    std::string received;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left)) <= 0) break;
        char buffer[65536];
        const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
        if (n <= 0) {
            received += "<closed>";
            break;
        }
        received.append(buffer, static_cast<size_t>(n));
    }
    close(fd);
    return received;
}

std::string describe(const redisReply* reply) {
    if (reply == nullptr) return "<no reply>";
    switch (reply->type) {
    case REDIS_REPLY_STATUS: return "status:" + std::string(reply->str, reply->len);
    case REDIS_REPLY_ERROR: return "error:" + std::string(reply->str, reply->len);
    case REDIS_REPLY_STRING: return "string:" + std::string(reply->str, reply->len);
    case REDIS_REPLY_INTEGER: return "integer:" + std::to_string(reply->integer);
    case REDIS_REPLY_NIL: return "nil";
    case REDIS_REPLY_ARRAY: {
        std::string text = "array[";
        for (size_t i = 0; i < reply->elements; ++i) text += (i ? "," : "") + describe(reply->element[i]);
        return text + "]";
    }
    default: return "<unknown>";
    }
}

}  // namespace shardproxy::testing
