#include "backends/socket_reader.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace shardproxy::backends {

ReadOutcome read_once(evutil_socket_t fd, evbuffer* into, size_t max_bytes) {
    evbuffer_iovec space;
    if (evbuffer_reserve_space(into, static_cast<ev_ssize_t>(max_bytes), &space, 1) < 1) {
        errno = ENOMEM;
        return ReadOutcome::failed;
    }
    const ssize_t n = recv(fd, space.iov_base, std::min(space.iov_len, max_bytes), 0);
    if (n > 0) {
        space.iov_len = static_cast<size_t>(n);
        evbuffer_commit_space(into, &space, 1);
        return ReadOutcome::data;
    }
    if (n == 0) return ReadOutcome::closed;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return ReadOutcome::nothing_yet;
    return ReadOutcome::failed;
}

}  // namespace shardproxy::backends
