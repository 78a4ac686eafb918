#pragma once
// Turns a configured address (host:port or unix:/path) into a sockaddr, resolving host names
// once, at startup, never on the request path.
#include <sys/socket.h>

#include <string>

#include "conf/config.h"

namespace shardproxy::backends {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;

    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
    int family() const { return storage.ss_family; }
};

// False with a message when the host does not resolve or the unix path is too long.
bool resolve_address(const conf::Address& address, SocketAddress& out, std::string& error);

}  // namespace shardproxy::backends
