#include "proxy/log.h"

#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace shardproxy::proxy {

void log(LogLevel level, std::string_view message) {
    timeval now{};
    gettimeofday(&now, nullptr);
    tm utc{};
    gmtime_r(&now.tv_sec, &utc);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
    const char* name = level == LogLevel::info ? "INFO" : level == LogLevel::warning ? "WARN" : "ERROR";
    // One fprintf per line keeps lines from different threads whole.
    std::fprintf(stderr, "%s.%03dZ shardproxy[%d] %s %.*s\n", stamp,
                 static_cast<int>(now.tv_usec / 1000), static_cast<int>(getpid()), name,
                 static_cast<int>(message.size()), message.data());
}

}  // namespace shardproxy::proxy
