#pragma once
// One worker's counters for the clients of one listener (see backends/traffic_counters.h for
// how per-worker counters are written and read).
#include <array>
#include <cstdint>
#include <string_view>

#include "backends/traffic_counters.h"

namespace shardproxy::proxy {

// What a request asks for, for the request counters.
enum class RequestClass : uint8_t {
    read,   // reads keys (GET, MGET, get, mg, ...)
    write,  // writes keys (SET, DEL, set, delete, incr, ...), FLUSHALL and flush_all included
    local,  // answered by the proxy itself (PING, INFO, version, stats, ...)
    other,  // refused (unknown, unsupported, wrong arity, not authenticated) or keyless commands sent to servers
};
inline constexpr std::array<std::string_view, 4> kRequestClassNames{"read", "write", "local", "other"};

// Who an error reply sent to a client comes from.
enum class ErrorKind : uint8_t {
    request,  // the proxy refused the request: protocol error, unknown command, arity, NOAUTH...
    backend,  // the proxy could not get an answer: server down, connection lost, timed out
};
inline constexpr std::array<std::string_view, 2> kErrorKindNames{"request", "backend"};

struct alignas(64) ListenerTraffic {
    void count(RequestClass kind) { requests[static_cast<size_t>(kind)].bump(); }
    void count(ErrorKind kind) { errors[static_cast<size_t>(kind)].bump(); }

    std::array<backends::WorkerCounter, kRequestClassNames.size()> requests;
    std::array<backends::WorkerCounter, kErrorKindNames.size()> errors;
    backends::WorkerCounter connections;  // accepted
    backends::WorkerCounter bytes_received;
    backends::WorkerCounter bytes_sent;
    backends::LatencyHistogram latency;  // from the turn a request was read to the turn its reply was written
};

}  // namespace shardproxy::proxy
