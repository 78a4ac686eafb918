#pragma once
// One line per event on stderr: "2026-01-02T03:04:05.678Z shardproxy[pid] LEVEL message".
#include <string_view>

namespace shardproxy::proxy {

enum class LogLevel { info, warning, error };

void log(LogLevel level, std::string_view message);
inline void log_info(std::string_view message) { log(LogLevel::info, message); }
inline void log_warning(std::string_view message) { log(LogLevel::warning, message); }
inline void log_error(std::string_view message) { log(LogLevel::error, message); }

}  // namespace shardproxy::proxy
