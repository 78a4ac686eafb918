#include "proxy/redis_fan_out.h"

#include <hiredis/hiredis.h>

#include <algorithm>

#include "proxy/resp_writer.h"

namespace shardproxy::proxy {
namespace {

bool is_error(const redisReply* reply) { return reply->type == REDIS_REPLY_ERROR; }

void append_element(evbuffer* out, const redisReply* element) {
    switch (element->type) {
    case REDIS_REPLY_STRING:
        resp::append_bulk(out, std::string_view(element->str, element->len));
        break;
    case REDIS_REPLY_STATUS:
        resp::append_status(out, std::string_view(element->str, element->len));
        break;
    case REDIS_REPLY_INTEGER:
        resp::append_integer(out, element->integer);
        break;
    case REDIS_REPLY_ERROR:
        resp::append_error(out, std::string_view(element->str, element->len));
        break;
    default:
        resp::append_null_bulk(out);
        break;
    }
}

bool same_reply(const redisReply* a, const redisReply* b) {
    if (a->type != b->type) return false;
    if (a->type == REDIS_REPLY_INTEGER) return a->integer == b->integer;
    return std::string_view(a->str ? a->str : "", a->len) ==
           std::string_view(b->str ? b->str : "", b->len);
}

}  // namespace

RedisFanOut::RedisFanOut(MergeRule rule, uint32_t children, std::string_view command)
    : FanOut(children), rule_(rule), command_(command), children_(children) {}

RedisFanOut::~RedisFanOut() {
    for (Child& child : children_) {
        if (child.reply != nullptr) freeReplyObject(child.reply);
    }
}

void RedisFanOut::add_key_origin(uint32_t key_child, uint32_t key_position) {
    key_origins_.push_back(KeyOrigin{key_child, key_position});
}

void RedisFanOut::set_reply_object(uint32_t child, redisReply* reply) {
    children_[child].reply = reply;
    count_answer();
}

// Redis children always ask for parsed replies.
void RedisFanOut::set_reply_bytes(uint32_t child, evbuffer* from, size_t length) {
    evbuffer_drain(from, length);
    set_error(child, "ERR backend reply arrived unparsed");
}

void RedisFanOut::set_error(uint32_t child, std::string error) {
    children_[child].error = std::move(error);
    count_answer();
}

const RedisFanOut::Child* RedisFanOut::first_error() const {
    for (const Child& child : children_) {
        if (child.reply == nullptr || is_error(child.reply)) return &child;
    }
    return nullptr;
}

void RedisFanOut::merge(evbuffer* out) {
    // One failed part fails the whole request: a partial MGET or MSET would be a wrong answer.
    if (const Child* failed = first_error()) {
        if (failed->reply != nullptr) {
            resp::append_error(out, std::string_view(failed->reply->str, failed->reply->len));
        } else {
            resp::append_error(out, failed->error);
        }
        return;
    }
    // Subcommands are named as clients type them: "script load", not "script|load".
    std::string shown(command_);
    std::replace(shown.begin(), shown.end(), '|', ' ');
    const std::string unexpected = "ERR backend returned an unexpected reply to '" + shown + "'";
    switch (rule_) {
    case MergeRule::array_in_key_order: {
        for (const KeyOrigin& origin : key_origins_) {
            const redisReply* reply = children_[origin.child].reply;
            if (reply->type != REDIS_REPLY_ARRAY || origin.position >= reply->elements) {
                resp::append_error(out, unexpected);
                return;
            }
        }
        resp::append_array_header(out, static_cast<int64_t>(key_origins_.size()));
        for (const KeyOrigin& origin : key_origins_) {
            append_element(out, children_[origin.child].reply->element[origin.position]);
        }
        return;
    }
    case MergeRule::integer_sum: {
        int64_t sum = 0;
        for (const Child& child : children_) {
            if (child.reply->type != REDIS_REPLY_INTEGER) {
                resp::append_error(out, unexpected);
                return;
            }
            if (child.counted) sum += child.reply->integer;
        }
        resp::append_integer(out, sum);
        return;
    }
    case MergeRule::all_ok:
        resp::append_status(out, "OK");
        return;
    case MergeRule::same_reply:
    case MergeRule::none: {
        for (const Child& child : children_) {
            if (!same_reply(child.reply, children_.front().reply)) {
                resp::append_error(out, "ERR backends answered '" + shown + "' differently");
                return;
            }
        }
        append_element(out, children_.front().reply);
        return;
    }
    }
}

}  // namespace shardproxy::proxy
