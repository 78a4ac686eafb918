#include "support/memcache_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

#include "support/processes.h"

namespace shardproxy::testing {
namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

}  // namespace

std::string McResult::name() const { return memcached_strerror(nullptr, rc); }

std::string McResult::describe() const { return error.empty() ? name() : name() + ": " + error; }

MemcacheClient::MemcacheClient(const MemcacheClientOptions& options) {
    memc_ = memcached_create(nullptr);
    if (memc_ == nullptr) throw std::runtime_error("memcached_create failed");
    configure(options);
}

MemcacheClient::MemcacheClient(const std::string& host, int port, const MemcacheClientOptions& options)
    : MemcacheClient(options) {
    const memcached_return_t rc = memcached_server_add(memc_, host.c_str(), static_cast<in_port_t>(port));
    if (rc != MEMCACHED_SUCCESS) {
        throw std::runtime_error("memcached_server_add " + host + ":" + std::to_string(port) + ": " +
                                 memcached_last_error_message(memc_));
    }
}

MemcacheClient::MemcacheClient(int port, const MemcacheClientOptions& options)
    : MemcacheClient("127.0.0.1", port, options) {}

MemcacheClient MemcacheClient::unix_socket(const std::string& path, const MemcacheClientOptions& options) {
    MemcacheClient client(options);
    const memcached_return_t rc = memcached_server_add_unix_socket(client.memc_, path.c_str());
    if (rc != MEMCACHED_SUCCESS) {
        throw std::runtime_error("memcached_server_add_unix_socket " + path + ": " +
                                 memcached_last_error_message(client.memc_));
    }
    return client;
}

MemcacheClient::MemcacheClient(MemcacheClient&& other) noexcept : memc_(other.memc_) { other.memc_ = nullptr; }

MemcacheClient::~MemcacheClient() {
    if (memc_ != nullptr) memcached_free(memc_);
}

void MemcacheClient::configure(const MemcacheClientOptions& options) {
    const auto set = [&](memcached_behavior_t flag, uint64_t value) {
        const memcached_return_t rc = memcached_behavior_set(memc_, flag, value);
        if (rc != MEMCACHED_SUCCESS) {
            throw std::runtime_error(std::string("memcached_behavior_set ") + libmemcached_string_behavior(flag) +
                                     ": " + memcached_last_error_message(memc_));
        }
    };
    const auto timeout_ms = static_cast<uint64_t>(options.timeout_ms);
    set(MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 0);
    set(MEMCACHED_BEHAVIOR_NOREPLY, options.noreply ? 1 : 0);
    set(MEMCACHED_BEHAVIOR_BUFFER_REQUESTS, options.buffer_requests ? 1 : 0);
    set(MEMCACHED_BEHAVIOR_TCP_NODELAY, options.tcp_nodelay ? 1 : 0);
    set(MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, timeout_ms);   // milliseconds
    set(MEMCACHED_BEHAVIOR_POLL_TIMEOUT, timeout_ms);      // milliseconds
    set(MEMCACHED_BEHAVIOR_RCV_TIMEOUT, timeout_ms * 1000);  // microseconds
    set(MEMCACHED_BEHAVIOR_SND_TIMEOUT, timeout_ms * 1000);  // microseconds
    // No surprises after a failure: libmemcached would otherwise put the server "in timeout" on
    // the first error and answer SERVER_TEMPORARILY_DISABLED without trying, for up to
    // retry_timeout (2 s) plus the rest of the current second. With these, every call tries the
    // server for real and reports what happened.
    set(MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 0);
    set(MEMCACHED_BEHAVIOR_SERVER_TIMEOUT_LIMIT, std::numeric_limits<uint32_t>::max());
    set(MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, std::numeric_limits<uint32_t>::max());
    set(MEMCACHED_BEHAVIOR_AUTO_EJECT_HOSTS, 0);
    set(MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 0);
    set(MEMCACHED_BEHAVIOR_SUPPORT_CAS, 0);
}

McResult MemcacheClient::result(memcached_return_t rc) const {
    McResult out;
    out.rc = rc;
    // Only when the library recorded an error: for plain outcomes such as NOT FOUND or ITEM TOO
    // BIG, memcached_last_error_message would just say "SUCCESS".
    if (rc != MEMCACHED_SUCCESS && memcached_last_error(memc_) != MEMCACHED_SUCCESS) {
        const char* message = memcached_last_error_message(memc_);
        if (message != nullptr) out.error = message;
    }
    return out;
}

McResult MemcacheClient::set(const std::string& key, const std::string& value, uint32_t flags, time_t exptime) {
    return result(memcached_set(memc_, key.data(), key.size(), value.data(), value.size(), exptime, flags));
}

McResult MemcacheClient::add(const std::string& key, const std::string& value, uint32_t flags, time_t exptime) {
    return result(memcached_add(memc_, key.data(), key.size(), value.data(), value.size(), exptime, flags));
}

McResult MemcacheClient::replace(const std::string& key, const std::string& value, uint32_t flags,
                                 time_t exptime) {
    return result(memcached_replace(memc_, key.data(), key.size(), value.data(), value.size(), exptime, flags));
}

McResult MemcacheClient::append(const std::string& key, const std::string& value) {
    return result(memcached_append(memc_, key.data(), key.size(), value.data(), value.size(), 0, 0));
}

McResult MemcacheClient::prepend(const std::string& key, const std::string& value) {
    return result(memcached_prepend(memc_, key.data(), key.size(), value.data(), value.size(), 0, 0));
}

McResult MemcacheClient::cas(const std::string& key, const std::string& value, uint64_t cas, uint32_t flags,
                             time_t exptime) {
    return result(
        memcached_cas(memc_, key.data(), key.size(), value.data(), value.size(), exptime, flags, cas));
}

McValue MemcacheClient::get(const std::string& key) {
    size_t length = 0;
    uint32_t flags = 0;
    memcached_return_t rc = MEMCACHED_SUCCESS;
    char* value = memcached_get(memc_, key.data(), key.size(), &length, &flags, &rc);
    McValue out;
    static_cast<McResult&>(out) = result(rc);
    if (value != nullptr) {
        out.value = std::string(value, length);
        out.flags = flags;
        std::free(value);
    } else if (rc == MEMCACHED_SUCCESS) {
        out.value = std::string();  // an empty value comes back as NULL with SUCCESS
        out.flags = flags;
    }
    return out;
}

McValue MemcacheClient::gets(const std::string& key) { return fetch_one(key, true); }

McValue MemcacheClient::fetch_one(const std::string& key, bool with_cas) {
    McMulti many = mget({key}, with_cas);
    McValue out;
    static_cast<McResult&>(out) = static_cast<const McResult&>(many);
    if (const auto found = many.items.find(key); found != many.items.end()) {
        out.value = found->second.value;
        out.flags = found->second.flags;
        out.cas = found->second.cas;
    } else if (out.ok()) {
        out.rc = MEMCACHED_NOTFOUND;
    }
    return out;
}

McMulti MemcacheClient::mget(const std::vector<std::string>& keys, bool with_cas) {
    McMulti out;
    std::vector<const char*> pointers;
    std::vector<size_t> lengths;
    for (const std::string& key : keys) {
        pointers.push_back(key.data());
        lengths.push_back(key.size());
    }
    memcached_behavior_set(memc_, MEMCACHED_BEHAVIOR_SUPPORT_CAS, with_cas ? 1 : 0);
    memcached_return_t rc = memcached_mget(memc_, pointers.data(), lengths.data(), keys.size());
    if (rc != MEMCACHED_SUCCESS) {
        memcached_behavior_set(memc_, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 0);
        static_cast<McResult&>(out) = result(rc);
        return out;
    }
    while (true) {
        memcached_result_st* item = memcached_fetch_result(memc_, nullptr, &rc);
        if (item == nullptr) break;
        const std::string key(memcached_result_key_value(item), memcached_result_key_length(item));
        McItem entry;
        entry.value.assign(memcached_result_value(item), memcached_result_length(item));
        entry.flags = memcached_result_flags(item);
        entry.cas = memcached_result_cas(item);
        out.values[key] = entry.value;
        out.items[key] = std::move(entry);
        memcached_result_free(item);
    }
    memcached_behavior_set(memc_, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 0);
    // The fetch loop ends with END (or NOTFOUND when nothing matched): the request succeeded.
    if (rc == MEMCACHED_END || rc == MEMCACHED_NOTFOUND || rc == MEMCACHED_SUCCESS) rc = MEMCACHED_SUCCESS;
    static_cast<McResult&>(out) = result(rc);
    return out;
}

McResult MemcacheClient::del(const std::string& key) {
    return result(memcached_delete(memc_, key.data(), key.size(), 0));
}

McNumber MemcacheClient::incr(const std::string& key, uint32_t offset) {
    McNumber out;
    uint64_t value = 0;
    static_cast<McResult&>(out) = result(memcached_increment(memc_, key.data(), key.size(), offset, &value));
    out.value = value;
    return out;
}

McNumber MemcacheClient::decr(const std::string& key, uint32_t offset) {
    McNumber out;
    uint64_t value = 0;
    static_cast<McResult&>(out) = result(memcached_decrement(memc_, key.data(), key.size(), offset, &value));
    out.value = value;
    return out;
}

McResult MemcacheClient::touch(const std::string& key, time_t exptime) {
    return result(memcached_touch(memc_, key.data(), key.size(), exptime));
}

McResult MemcacheClient::flush(time_t expiration) { return result(memcached_flush(memc_, expiration)); }

McVersion MemcacheClient::version() {
    McVersion out;
    static_cast<McResult&>(out) = result(memcached_version(memc_));
    const memcached_instance_st* server = memcached_server_instance_by_position(memc_, 0);
    if (out.ok() && server != nullptr && memcached_server_major_version(server) != UINT8_MAX) {
        out.version = std::to_string(memcached_server_major_version(server)) + "." +
                      std::to_string(memcached_server_minor_version(server)) + "." +
                      std::to_string(memcached_server_micro_version(server));
    }
    return out;
}

McResult MemcacheClient::flush_buffers() { return result(memcached_flush_buffers(memc_)); }

void MemcacheClient::quit() { memcached_quit(memc_); }

RawConnection::RawConnection(int port) : fd_(connect_loopback(port)) {}

RawConnection::RawConnection(const std::string& ipv4_host, int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, ipv4_host.c_str(), &addr.sin_addr) != 1) return;
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        close(fd_);
        fd_ = -1;
    }
}

RawConnection::RawConnection(RawConnection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), closed_(other.closed_), buffer_(std::move(other.buffer_)) {}

RawConnection::RawConnection(const std::string& unix_path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (unix_path.size() >= sizeof(addr.sun_path)) return;
    std::memcpy(addr.sun_path, unix_path.c_str(), unix_path.size() + 1);
    fd_ = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        close(fd_);
        fd_ = -1;
    }
}

RawConnection::~RawConnection() {
    if (fd_ >= 0) close(fd_);
}

bool RawConnection::send(const std::string& bytes) {
    if (fd_ < 0) return false;
    size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            return false;
        }
        sent += static_cast<size_t>(n);
    }
    return true;
}

bool RawConnection::fill(int timeout_ms) {
    if (fd_ < 0 || closed_) return false;
    pollfd p{fd_, POLLIN, 0};
    const int ready = poll(&p, 1, timeout_ms);
    if (ready <= 0) return false;
    char chunk[65536];
    const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) {
        if (n < 0 && errno == EINTR) return true;
        closed_ = true;
        return false;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
}

std::string RawConnection::read_until(const std::string& terminator, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
        if (const size_t at = buffer_.find(terminator); at != std::string::npos) {
            std::string out = buffer_.substr(0, at + terminator.size());
            buffer_.erase(0, at + terminator.size());
            return out;
        }
        const int left = ms_left(deadline);
        if (closed_ || fd_ < 0 || left == 0) break;
        fill(left);
    }
    return std::exchange(buffer_, std::string());
}

std::string RawConnection::read_lines(size_t count, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
        size_t end = 0;
        size_t found = 0;
        while (found < count) {
            const size_t at = buffer_.find("\r\n", end);
            if (at == std::string::npos) break;
            end = at + 2;
            ++found;
        }
        if (found == count) {
            std::string out = buffer_.substr(0, end);
            buffer_.erase(0, end);
            return out;
        }
        const int left = ms_left(deadline);
        if (closed_ || fd_ < 0 || left == 0) break;
        fill(left);
    }
    return std::exchange(buffer_, std::string());
}

std::string RawConnection::read_for(int wait_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
    while (!closed_ && fd_ >= 0) {
        const int left = ms_left(deadline);
        if (left == 0) break;
        fill(left);
    }
    return std::exchange(buffer_, std::string());
}

std::string RawConnection::exchange(const std::string& bytes, const std::string& terminator, int timeout_ms) {
    if (!send(bytes)) return "<send failed>";
    return read_until(terminator, timeout_ms);
}

bool RawConnection::wait_closed(int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!closed_ && fd_ >= 0) {
        const int left = ms_left(deadline);
        if (left == 0) break;
        fill(left);
    }
    return closed_ || fd_ < 0;
}

std::string raw_exchange_until(int port, const std::string& bytes, const std::string& terminator,
                               int timeout_ms) {
    RawConnection connection(port);
    if (!connection.connected()) return "<connect failed>";
    return connection.exchange(bytes, terminator, timeout_ms);
}

}  // namespace shardproxy::testing
