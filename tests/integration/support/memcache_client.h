#pragma once
// The memcached clients integration tests speak through: MemcacheClient, libmemcached's C API
// as an application uses it (ASCII protocol, one server), and RawConnection, plain bytes on one
// socket for what no library sends (bad commands, pipelines, noreply, half requests).
#include <libmemcached-1.0/memcached.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace shardproxy::testing {

struct MemcacheClientOptions {
    // Bounds every connect, poll, send and receive, so a test never hangs on a silent server.
    int timeout_ms = 2000;
    bool noreply = false;          // MEMCACHED_BEHAVIOR_NOREPLY: storage, delete, incr... send "noreply"
    bool buffer_requests = false;  // MEMCACHED_BEHAVIOR_BUFFER_REQUESTS: writes wait for flush_buffers()
    bool tcp_nodelay = true;
};

// What one call returned: libmemcached's code and, when the library recorded an error, its
// message (memcached_last_error_message), which is what an application's user sees, e.g.
// "(0x...) CONNECTION FAILURE(Connection refused),  host: 127.0.0.1:PORT -> ./src/libmemcached/io.cc:145"
// or the server's CLIENT_ERROR text. Plain outcomes (NOT FOUND, NOT STORED, DATA EXISTS,
// ITEM TOO BIG...) have rc only.
struct McResult {
    memcached_return_t rc = MEMCACHED_SUCCESS;
    std::string error;

    bool ok() const { return rc == MEMCACHED_SUCCESS; }
    // memcached_strerror of rc, e.g. "SUCCESS", "NOT FOUND", "CONNECTION FAILURE".
    std::string name() const;
    // "NAME" or "NAME: error" for failure messages.
    std::string describe() const;
};

struct McValue : McResult {
    std::optional<std::string> value;  // empty when not found (rc MEMCACHED_NOTFOUND) or failed
    uint32_t flags = 0;
    uint64_t cas = 0;  // only from gets()
};

struct McNumber : McResult {
    uint64_t value = 0;
};

struct McItem {
    std::string value;
    uint32_t flags = 0;
    uint64_t cas = 0;
};

struct McMulti : McResult {
    std::map<std::string, std::string> values;  // the keys that were found
    std::map<std::string, McItem> items;        // the same, with flags (and cas when asked)
};

struct McVersion : McResult {
    std::string version;  // "1.6.18": the server's VERSION reply as libmemcached parsed it
};

class MemcacheClient {
public:
    // One server over TCP.
    MemcacheClient(const std::string& host, int port, const MemcacheClientOptions& options = {});
    explicit MemcacheClient(int port, const MemcacheClientOptions& options = {});
    // One server over a unix socket.
    static MemcacheClient unix_socket(const std::string& path, const MemcacheClientOptions& options = {});

    ~MemcacheClient();
    MemcacheClient(MemcacheClient&& other) noexcept;
    MemcacheClient& operator=(MemcacheClient&&) = delete;
    MemcacheClient(const MemcacheClient&) = delete;
    MemcacheClient& operator=(const MemcacheClient&) = delete;

    McResult set(const std::string& key, const std::string& value, uint32_t flags = 0, time_t exptime = 0);
    McResult add(const std::string& key, const std::string& value, uint32_t flags = 0, time_t exptime = 0);
    McResult replace(const std::string& key, const std::string& value, uint32_t flags = 0, time_t exptime = 0);
    McResult append(const std::string& key, const std::string& value);
    McResult prepend(const std::string& key, const std::string& value);
    McResult cas(const std::string& key, const std::string& value, uint64_t cas, uint32_t flags = 0,
                 time_t exptime = 0);

    // "get KEY" (memcached_get): value and flags, no cas.
    McValue get(const std::string& key);
    // "gets KEY": value, flags and cas.
    McValue gets(const std::string& key);
    // One "get K1 K2 ..." (or "gets" when with_cas) and a fetch loop until the end.
    McMulti mget(const std::vector<std::string>& keys, bool with_cas = false);

    McResult del(const std::string& key);
    McNumber incr(const std::string& key, uint32_t offset = 1);
    McNumber decr(const std::string& key, uint32_t offset = 1);
    McResult touch(const std::string& key, time_t exptime);
    McResult flush(time_t expiration = 0);
    // "version", sent only while libmemcached does not know the server's version: it keeps the
    // first VERSION reply until the connection closes (and refuses one whose major number is 0).
    McVersion version();

    // Sends what buffer_requests held back (memcached_flush_buffers).
    McResult flush_buffers();
    // Closes the connection (libmemcached reconnects on the next call).
    void quit();

    memcached_st* handle() { return memc_; }

private:
    MemcacheClient(const MemcacheClientOptions& options);
    void configure(const MemcacheClientOptions& options);
    McResult result(memcached_return_t rc) const;
    McValue fetch_one(const std::string& key, bool with_cas);

    memcached_st* memc_ = nullptr;
};

// A connected TCP (127.0.0.1:port) or unix socket speaking raw bytes, kept open across
// exchanges so a test can pipeline, send a request in pieces, or see the connection close.
class RawConnection {
public:
    explicit RawConnection(int port);  // 127.0.0.1
    RawConnection(const std::string& ipv4_host, int port);
    explicit RawConnection(const std::string& unix_path);
    ~RawConnection();
    RawConnection(RawConnection&& other) noexcept;
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    bool connected() const { return fd_ >= 0; }
    // False when not everything could be written.
    bool send(const std::string& bytes);
    // Reads until the buffered input contains `terminator`, the peer closes, or timeout_ms passes;
    // returns everything up to and including the terminator (what follows stays buffered).
    // On timeout or close, returns what arrived (check closed() / the text for the terminator).
    std::string read_until(const std::string& terminator, int timeout_ms = 2000);
    // Reads until `count` lines ending in "\r\n" arrived (or timeout/close): the replies to
    // `count` pipelined one-line commands such as set, delete or incr.
    std::string read_lines(size_t count, int timeout_ms = 2000);
    // Everything that arrives within wait_ms (or until close).
    std::string read_for(int wait_ms);
    // send() then read_until().
    std::string exchange(const std::string& bytes, const std::string& terminator, int timeout_ms = 2000);
    // True once the peer closed the connection (a read returned 0 or an error).
    bool closed() const { return closed_; }
    // Waits up to timeout_ms for the peer to close; true when it did.
    bool wait_closed(int timeout_ms = 2000);
    int fd() const { return fd_; }

private:
    bool fill(int timeout_ms);
    int fd_ = -1;
    bool closed_ = false;
    std::string buffer_;
};

// One-shot: connect to 127.0.0.1:port, send, read until the terminator (or timeout/close).
// Unlike raw_exchange (processes.h), returns as soon as the terminator arrives.
std::string raw_exchange_until(int port, const std::string& bytes, const std::string& terminator,
                               int timeout_ms = 2000);

}  // namespace shardproxy::testing
