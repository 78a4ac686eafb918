#include "proxy/miss_write_back.h"

#include <hiredis/hiredis.h>

#include <charconv>

#include "backends/backend_connection.h"
#include "proxy/worker.h"

namespace shardproxy::proxy {
namespace {

constexpr uint32_t kTtlQuery = 0;
constexpr uint32_t kWrite = 1;

}  // namespace

MissWriteBack::MissWriteBack(Worker& worker, MissedRead read)
    : worker_(worker), generation_(worker.generation()), read_(std::move(read)) {}

void MissWriteBack::start(Worker& worker, MissedRead read) {
    auto* repair = new MissWriteBack(worker, std::move(read));
    const std::string query = repair->read_.memcache ? "mg " + repair->read_.key + " t\r\n"
                                                     : "*2\r\n$4\r\nPTTL\r\n$" + std::to_string(repair->read_.key.size()) +
                                                           "\r\n" + repair->read_.key + "\r\n";
    if (!repair->send(repair->read_.source, query, kTtlQuery)) {
        worker.stats().bump_background_write_failures();
        delete repair;
    }
}

bool MissWriteBack::send(uint32_t server, const std::string& request, uint32_t child) {
    if (worker_.generation() != generation_) return false;  // a reload renumbered the servers
    backends::BackendConnection& backend = worker_.backend(read_.pool, server, read_.client_id);
    evbuffer* out = backend.request_buffer();
    if (out == nullptr) return false;
    evbuffer_add(out, request.data(), request.size());
    ++pending_;
    backend.await_reply(this, child, false);
    return true;
}

void MissWriteBack::on_reply_bytes(uint32_t child, evbuffer* from, size_t length) {
    std::string reply(length, '\0');
    evbuffer_remove(from, reply.data(), length);
    if (child != kTtlQuery) return;
    // Redis ":<ms>" (-1: no expiry, -2: gone meanwhile); memcached "HD t<seconds>" (t-1: none).
    int64_t ttl = -2;
    const size_t at = read_.memcache ? reply.find(" t") : (reply.starts_with(":") ? 0 : std::string::npos);
    if (at != std::string::npos) {
        const char* first = reply.data() + at + (read_.memcache ? 2 : 1);
        std::from_chars(first, reply.data() + reply.size(), ttl);
    }
    if (ttl == -2 || ttl == 0) return;  // gone, or about to be: nothing to repair
    write_back(ttl);
}

// Only where the key is still missing (memcached add, Redis SET NX): a client's write can reach
// the replica during the TTL query's round trip, and the older value must not overwrite it.
void MissWriteBack::write_back(int64_t ttl) {
    std::string request;
    if (read_.memcache) {
        request = "add " + read_.key + " " + std::to_string(read_.flags) + " " + std::to_string(ttl < 0 ? 0 : ttl) +
                  " " + std::to_string(read_.value.size()) + "\r\n" + read_.value + "\r\n";
    } else {
        const bool expires = ttl > 0;
        request = "*" + std::string(expires ? "6" : "4") + "\r\n$3\r\nSET\r\n$" + std::to_string(read_.key.size()) +
                  "\r\n" + read_.key + "\r\n$" + std::to_string(read_.value.size()) + "\r\n" + read_.value +
                  "\r\n$2\r\nNX\r\n";
        if (expires) {
            const std::string ms = std::to_string(ttl);
            request += "$2\r\nPX\r\n$" + std::to_string(ms.size()) + "\r\n" + ms + "\r\n";
        }
    }
    for (uint32_t server : read_.missed) {
        if (!send(server, request, kWrite)) worker_.stats().bump_background_write_failures();
    }
}

void MissWriteBack::on_reply_object(uint32_t, redisReply* reply) { freeReplyObject(reply); }

void MissWriteBack::on_failure(uint32_t, std::string_view) { worker_.stats().bump_background_write_failures(); }

void MissWriteBack::release() {
    if (--pending_ == 0) delete this;
}

}  // namespace shardproxy::proxy
