#pragma once
// A request split into one sub-request per backend (MGET, MSET, DEL, ... across servers) or
// sent to every server of a pool (FLUSHDB, SCRIPT LOAD, ...): one slot per child and the rule
// that merges the children's replies into the single reply the client expects.
#include <event2/buffer.h>

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/redis_command.h"

struct redisReply;

namespace shardproxy::proxy {

class FanOut {
public:
    FanOut(MergeRule rule, uint32_t children);
    ~FanOut();
    FanOut(const FanOut&) = delete;
    FanOut& operator=(const FanOut&) = delete;

    // MGET: the reply's element i is element key_position of child key_child.
    void add_key_origin(uint32_t key_child, uint32_t key_position);

    void set_reply(uint32_t child, redisReply* reply);  // takes ownership
    void set_error(uint32_t child, std::string error);
    // True when every child has answered.
    bool complete() const { return answered_ == children_.size(); }
    // Writes the merged reply.
    void merge(evbuffer* out, std::string_view command) const;

private:
    struct Child {
        redisReply* reply = nullptr;
        std::string error;  // set when the backend could not answer
    };
    struct KeyOrigin {
        uint32_t child;
        uint32_t position;
    };

    const Child* first_error() const;

    MergeRule rule_;
    std::vector<Child> children_;
    std::vector<KeyOrigin> key_origins_;
    uint32_t answered_ = 0;
};

}  // namespace shardproxy::proxy
