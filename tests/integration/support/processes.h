#pragma once
// Real processes for integration tests: redis-server, memcached, nutcracker and shardproxy on
// free loopback ports, each stopped (and its files removed) when its object goes away.
#include <hiredis/hiredis.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace shardproxy::testing {

// A loopback TCP port the kernel just handed out as free, so parallel tests do not collide.
int free_port();

// A fresh directory for one test's files, removed with everything in it.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }
    std::string write(const std::string& name, const std::string& content) const;

private:
    std::string path_;
};

class Process {
public:
    Process(std::vector<std::string> argv, const std::string& log_path);
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }
    bool running();
    // SIGTERM, then SIGKILL after the grace period; returns the exit status (or -signal).
    int stop(int grace_ms = 5000);
    void kill_hard();
    void pause();   // SIGSTOP: alive but silent, like a hung server
    void resume();  // SIGCONT

private:
    pid_t pid_ = -1;
    int status_ = 0;
};

class RedisServer {
public:
    explicit RedisServer(int port = 0);
    int port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    Process& process() { return *process_; }
    void restart();  // same port, empty data

private:
    void start();
    int port_;
    TempDir dir_;
    std::unique_ptr<Process> process_;
};

class ShardProxy {
public:
    // config may contain "@PORT@", replaced by the listener port picked here.
    explicit ShardProxy(const std::string& config);
    ~ShardProxy();
    int port() const { return port_; }
    Process& process() { return *process_; }
    std::string log() const;
    const std::string& config_path() const { return config_path_; }

private:
    int port_;
    TempDir dir_;
    std::string config_path_;
    std::unique_ptr<Process> process_;
};

class Nutcracker {
public:
    // yaml may contain "@PORT@" for the listen port.
    explicit Nutcracker(const std::string& yaml);
    int port() const { return port_; }

private:
    int port_;
    TempDir dir_;
    std::unique_ptr<Process> process_;
};

// Waits until a TCP connection to the port succeeds.
bool wait_for_port(int port, int timeout_ms = 5000);

using ReplyPtr = std::unique_ptr<redisReply, void (*)(void*)>;

// A blocking hiredis client with a short timeout, for asserting replies.
class Client {
public:
    explicit Client(int port, int timeout_ms = 3000);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    ReplyPtr command(const std::vector<std::string>& args);
    // Sends all, then reads all replies in order: a real pipeline.
    std::vector<ReplyPtr> pipeline(const std::vector<std::vector<std::string>>& commands);
    redisContext* context() { return context_; }

private:
    redisContext* context_;
};

// A connected TCP socket to 127.0.0.1:port, or -1.
int connect_loopback(int port);

// Reads the whole reply or connection close after sending raw bytes; for protocol tests.
std::string raw_exchange(int port, const std::string& bytes, int wait_ms = 300);

// A short description of a reply for failure messages: "status:OK", "error:...", "nil"...
std::string describe(const redisReply* reply);

}  // namespace shardproxy::testing
