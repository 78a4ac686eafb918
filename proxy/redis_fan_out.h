#pragma once
// A Redis request split into one sub-request per backend (MGET, MSET, DEL, ... across servers)
// or sent to every server of a pool (FLUSHDB, SCRIPT LOAD, ...). Children's replies arrive
// parsed; the command table's merge rule makes them one reply.
#include <event2/buffer.h>

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/fan_out.h"
#include "proxy/redis_command.h"

struct redisReply;

namespace shardproxy::proxy {

class RedisFanOut final : public FanOut {
public:
    // `command` names the command in merge errors; it points into the command table.
    RedisFanOut(MergeRule rule, uint32_t children, std::string_view command);
    ~RedisFanOut() override;

    // MGET: the reply's element i is element key_position of child key_child.
    void add_key_origin(uint32_t key_child, uint32_t key_position);
    // A child whose count is not summed (DEL sent to a key's other replicas): its reply only
    // has to succeed.
    void set_uncounted(uint32_t child) { children_[child].counted = false; }

    void set_reply_object(uint32_t child, redisReply* reply) override;
    void set_reply_bytes(uint32_t child, evbuffer* from, size_t length) override;
    void set_error(uint32_t child, std::string error) override;
    void merge(evbuffer* out) override;

private:
    struct Child {
        redisReply* reply = nullptr;
        std::string error;  // set when the backend could not answer
        bool counted = true;
    };
    struct KeyOrigin {
        uint32_t child;
        uint32_t position;
    };

    const Child* first_error() const;

    MergeRule rule_;
    std::string_view command_;
    std::vector<Child> children_;
    std::vector<KeyOrigin> key_origins_;
};

}  // namespace shardproxy::proxy
