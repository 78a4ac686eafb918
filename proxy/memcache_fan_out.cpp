#include "proxy/memcache_fan_out.h"

#include <hiredis/hiredis.h>

#include <charconv>

namespace shardproxy::proxy {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kUnexpected = "SERVER_ERROR backend returned an unexpected reply";

bool is_error_line(std::string_view line) {
    return line == "ERROR" || line.starts_with("SERVER_ERROR") || line.starts_with("CLIENT_ERROR");
}

// The child's reply as one contiguous view (replies to be merged are small enough to copy).
std::string_view contiguous(evbuffer* reply) {
    const size_t length = evbuffer_get_length(reply);
    return {reinterpret_cast<const char*>(evbuffer_pullup(reply, -1)), length};
}

struct Value {
    std::string_view key;
    std::string_view bytes;  // the VALUE line, the data and its CRLF
};

// Splits a get reply into its VALUE entries; false unless it is VALUE entries then END.
bool index_values(std::string_view reply, std::vector<Value>& values) {
    size_t at = 0;
    while (at < reply.size()) {
        const size_t eol = reply.find(kCrlf, at);
        if (eol == std::string_view::npos) return false;
        const std::string_view line = reply.substr(at, eol - at);
        if (line == "END") return eol + 2 == reply.size();
        if (!line.starts_with("VALUE ")) return false;
        // VALUE <key> <flags> <bytes> [<cas>]
        const size_t key_end = line.find(' ', 6);
        if (key_end == std::string_view::npos) return false;
        const size_t flags_end = line.find(' ', key_end + 1);
        if (flags_end == std::string_view::npos) return false;
        size_t bytes_end = line.find(' ', flags_end + 1);
        if (bytes_end == std::string_view::npos) bytes_end = line.size();
        uint64_t bytes = 0;
        const char* first = line.data() + flags_end + 1;
        const char* last = line.data() + bytes_end;
        if (std::from_chars(first, last, bytes).ptr != last) return false;
        const size_t end = eol + 2 + bytes + 2;
        if (end > reply.size() || reply.substr(end - 2, 2) != kCrlf) return false;
        values.push_back(Value{line.substr(6, key_end - 6), reply.substr(at, end - at)});
        at = end;
    }
    return false;
}

void append_line(evbuffer* out, std::string_view line) {
    evbuffer_add(out, line.data(), line.size());
    evbuffer_add(out, kCrlf.data(), kCrlf.size());
}

}  // namespace

MemcacheFanOut::MemcacheFanOut(Merge rule, uint32_t children)
    : FanOut(children), rule_(rule), children_(children) {}

MemcacheFanOut::~MemcacheFanOut() {
    for (Child& child : children_) {
        if (child.reply != nullptr) evbuffer_free(child.reply);
    }
}

void MemcacheFanOut::add_key(std::string_view key, uint32_t child) {
    key_origins_.push_back(KeyOrigin{child, static_cast<uint32_t>(keys_.size()),
                                     static_cast<uint32_t>(key.size())});
    keys_.append(key);
}

// memcached children always ask for raw replies.
void MemcacheFanOut::set_reply_object(uint32_t child, redisReply* reply) {
    freeReplyObject(reply);
    set_error(child, std::string(kUnexpected));
}

void MemcacheFanOut::set_reply_bytes(uint32_t child, evbuffer* from, size_t length) {
    children_[child].reply = evbuffer_new();
    evbuffer_remove_buffer(from, children_[child].reply, length);
    count_answer();
}

void MemcacheFanOut::set_error(uint32_t child, std::string error) {
    children_[child].error = std::move(error);
    count_answer();
}

void MemcacheFanOut::merge(evbuffer* out) {
    for (const Child& child : children_) {
        if (child.reply == nullptr) {
            append_line(out, child.error);
            return;
        }
    }
    if (rule_ == Merge::all_ok) {
        for (const Child& child : children_) {
            const std::string_view reply = contiguous(child.reply);
            if (reply == "OK\r\n") continue;
            const std::string_view line = reply.substr(0, reply.find(kCrlf));
            append_line(out, is_error_line(line) ? line : kUnexpected);
            return;
        }
        append_line(out, "OK");
        return;
    }

    std::vector<std::vector<Value>> values(children_.size());
    for (size_t child = 0; child < children_.size(); ++child) {
        const std::string_view reply = contiguous(children_[child].reply);
        if (!index_values(reply, values[child])) {
            // An error instead of END (memcached may give up mid-get): pass the error on.
            const size_t last_line = reply.rfind(kCrlf, reply.size() >= 2 ? reply.size() - 3 : 0);
            const size_t from = last_line == std::string_view::npos ? 0 : last_line + 2;
            const std::string_view line = reply.substr(from, reply.size() - from - 2);
            append_line(out, is_error_line(line) ? line : kUnexpected);
            return;
        }
    }
    // A server answers a get with its hits in the order of the keys it was sent, which is the
    // client's order restricted to that server: walking the client's keys with one cursor per
    // server puts every hit back in place, and each miss is simply not there.
    std::vector<size_t> cursor(children_.size(), 0);
    auto matches = [&](const KeyOrigin& origin) {
        const std::vector<Value>& found = values[origin.child];
        const std::string_view key(keys_.data() + origin.key_offset, origin.key_length);
        return cursor[origin.child] < found.size() && found[cursor[origin.child]].key == key;
    };
    for (const KeyOrigin& origin : key_origins_) {
        if (matches(origin)) ++cursor[origin.child];
    }
    for (size_t child = 0; child < children_.size(); ++child) {
        if (cursor[child] != values[child].size()) {  // a value for a key that was not asked for
            append_line(out, kUnexpected);
            return;
        }
    }
    cursor.assign(children_.size(), 0);
    for (const KeyOrigin& origin : key_origins_) {
        if (!matches(origin)) continue;
        const std::string_view bytes = values[origin.child][cursor[origin.child]++].bytes;
        evbuffer_add(out, bytes.data(), bytes.size());
    }
    append_line(out, "END");
}

}  // namespace shardproxy::proxy
