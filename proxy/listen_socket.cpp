#include "proxy/listen_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "backends/socket_address.h"

namespace shardproxy::proxy {
namespace {

constexpr int kBacklog = 1024;

bool someone_listens_on(const backends::SocketAddress& address) {
    const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return false;
    const bool answered = connect(probe, address.get(), address.length) == 0;
    close(probe);
    return answered;
}

}  // namespace

evutil_socket_t open_listen_socket(const conf::Address& address, std::optional<uint32_t> unix_mode,
                                   std::string& error) {
    backends::SocketAddress resolved;
    if (!backends::resolve_address(address, resolved, error)) return -1;
    const std::string where = address.to_string();

    if (address.kind == conf::Address::Kind::unix_socket) {
        if (someone_listens_on(resolved)) {
            error = "cannot listen on " + where + ": another process is serving it";
            return -1;
        }
        unlink(address.path.c_str());
    }
    const int fd = socket(resolved.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = "cannot create a socket for " + where + ": " + std::strerror(errno);
        return -1;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, resolved.get(), resolved.length) != 0 || listen(fd, kBacklog) != 0) {
        error = "cannot listen on " + where + ": " + std::strerror(errno);
        close(fd);
        return -1;
    }
    if (unix_mode && chmod(address.path.c_str(), static_cast<mode_t>(*unix_mode)) != 0) {
        error = "cannot set the permissions of " + where + ": " + std::strerror(errno);
        close(fd);
        return -1;
    }
    return fd;
}

}  // namespace shardproxy::proxy
