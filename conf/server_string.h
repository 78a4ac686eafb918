#pragma once
// One entry of a pool's `servers` list:
//   "host:port[:weight] [name]", "[v6]:port[:weight] [name]" or "unix:/path[:weight] [name]"
// and the identity that places keys on it.
#include <cstdint>
#include <string>
#include <string_view>

#include "conf/config.h"

namespace shardproxy::conf {

// Weights are relative; the cap keeps weight-expanded tables (modula) a sane size.
inline constexpr uint32_t max_server_weight = 65535;

struct ServerParse {
    ServerConfig server;
    std::string error;  // empty on success; otherwise says what is wrong, for an operator
};

ServerParse parse_server(std::string_view text);

// twemproxy's rule: the name if given, else "host:port", else the host alone when the port is
// 11211 (the memcached default, as libmemcached hashed it). Unix sockets without a name use
// "unix:/path".
std::string server_identity(const Address& address, std::string_view name);

}  // namespace shardproxy::conf
