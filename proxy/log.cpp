#include "proxy/log.h"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace shardproxy::proxy {
namespace {

std::atomic<LogLevel> minimum_level{LogLevel::info};
// The descriptor lines go to. Its number never changes once logging to a file: a reopen dup2s
// the new file onto it, so a thread writing meanwhile writes to the old file or the new one.
std::atomic<int> log_fd{STDERR_FILENO};
std::string log_path;  // set once at start, before the workers run

int open_log_file(const std::string& path, std::string& error) {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) error = "cannot open log file " + path + ": " + std::strerror(errno);
    return fd;
}

}  // namespace

bool configure_log(LogLevel level, const std::string& file, std::string& error) {
    minimum_level.store(level, std::memory_order_relaxed);
    if (file.empty()) return true;
    const int fd = open_log_file(file, error);
    if (fd < 0) return false;
    log_path = file;
    log_fd.store(fd, std::memory_order_release);
    return true;
}

void set_log_level(LogLevel level) { minimum_level.store(level, std::memory_order_relaxed); }

bool reopen_log(std::string& error) {
    if (log_path.empty()) return true;  // stderr belongs to whoever started us
    const int fd = open_log_file(log_path, error);
    if (fd < 0) return false;
    const bool moved = dup2(fd, log_fd.load(std::memory_order_acquire)) >= 0;
    if (!moved) error = "cannot reopen log file " + log_path + ": " + std::strerror(errno);
    close(fd);
    return moved;
}

void log(LogLevel level, std::string_view message) {
    if (level < minimum_level.load(std::memory_order_relaxed)) return;
    timeval now{};
    gettimeofday(&now, nullptr);
    tm utc{};
    gmtime_r(&now.tv_sec, &utc);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
    const char* name = level == LogLevel::info ? "INFO" : level == LogLevel::warning ? "WARN" : "ERROR";
    char line[4096];
    int length = std::snprintf(line, sizeof(line), "%s.%03dZ shardproxy[%d] %s %.*s\n", stamp,
                               static_cast<int>(now.tv_usec / 1000), static_cast<int>(getpid()), name,
                               static_cast<int>(message.size()), message.data());
    if (length < 0) return;
    if (static_cast<size_t>(length) >= sizeof(line)) {  // cut, but still one line
        length = sizeof(line) - 1;
        line[length - 1] = '\n';
    }
    // One write per line keeps lines from different threads whole (O_APPEND for files).
    [[maybe_unused]] const ssize_t written = write(log_fd.load(std::memory_order_acquire), line, static_cast<size_t>(length));
}

}  // namespace shardproxy::proxy
