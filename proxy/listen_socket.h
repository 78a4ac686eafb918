#pragma once
// Opens the listening sockets of the configured listeners, before any worker starts.
#include <event2/util.h>

#include <optional>
#include <string>

#include "conf/config.h"

namespace shardproxy::proxy {

// A bound, listening, non-blocking socket, or -1 with a message. A unix socket path left behind
// by a process that is gone is replaced; one that still accepts connections is an error.
// unix_mode: the permissions of a unix socket, when set.
evutil_socket_t open_listen_socket(const conf::Address& address, std::optional<uint32_t> unix_mode,
                                   std::string& error);

}  // namespace shardproxy::proxy
