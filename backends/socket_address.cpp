#include "backends/socket_address.h"

#include <netdb.h>
#include <sys/un.h>

#include <cstring>

namespace shardproxy::backends {

bool resolve_address(const conf::Address& address, SocketAddress& out, std::string& error) {
    out = SocketAddress{};
    if (address.kind == conf::Address::Kind::unix_socket) {
        sockaddr_un un{};
        if (address.path.size() >= sizeof(un.sun_path)) {
            error = "unix socket path is longer than " + std::to_string(sizeof(un.sun_path) - 1) +
                    " bytes: " + address.path;
            return false;
        }
        un.sun_family = AF_UNIX;
        std::memcpy(un.sun_path, address.path.data(), address.path.size());
        std::memcpy(&out.storage, &un, sizeof(un));
        out.length = sizeof(un);
        return true;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(address.port);
    const int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0 || found == nullptr) {
        error = "cannot resolve " + address.host + ": " + gai_strerror(rc);
        return false;
    }
    std::memcpy(&out.storage, found->ai_addr, found->ai_addrlen);
    out.length = found->ai_addrlen;
    freeaddrinfo(found);
    return true;
}

}  // namespace shardproxy::backends
