#pragma once
// One line per event: "2026-01-02T03:04:05.678Z shardproxy[pid] LEVEL message", on stderr or
// in [proxy] log_file. Safe from any thread: each line is one write() to a descriptor that a
// reopen (SIGUSR1, for logrotate) replaces atomically with dup2, so no lock is needed.
#include <string>
#include <string_view>

#include "conf/config.h"

namespace shardproxy::proxy {

using LogLevel = conf::LogLevel;  // [proxy] log_level

// Lines below `level` are dropped; with a non-empty `file`, lines are appended to it instead
// of stderr. False with `error` set when the file cannot be opened.
bool configure_log(LogLevel level, const std::string& file, std::string& error);
// A reload's new log_level (the file can change only at restart).
void set_log_level(LogLevel level);
// Opens the log file again under its name (after logrotate moved it). False with `error` set
// when it cannot; the old file then keeps receiving the lines.
bool reopen_log(std::string& error);

void log(LogLevel level, std::string_view message);
inline void log_info(std::string_view message) { log(LogLevel::info, message); }
inline void log_warning(std::string_view message) { log(LogLevel::warning, message); }
inline void log_error(std::string_view message) { log(LogLevel::error, message); }

}  // namespace shardproxy::proxy
