#pragma once
// One recv() into an evbuffer. libevent's own buffered read first asks the kernel how much is
// waiting (ioctl FIONREAD) before every read; at one request per read that is a third more
// system calls, so client and backend sockets are read with this instead.
#include <event2/buffer.h>
#include <event2/util.h>

#include <cstddef>

namespace shardproxy::backends {

enum class ReadOutcome {
    data,
    nothing_yet,  // a spurious wake-up
    closed,       // the peer closed the connection
    failed,       // a socket error; errno says which
};

// Appends what one recv returns, at most max_bytes.
ReadOutcome read_once(evutil_socket_t fd, evbuffer* into, size_t max_bytes);

}  // namespace shardproxy::backends
