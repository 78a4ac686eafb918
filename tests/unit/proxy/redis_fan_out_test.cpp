#include <doctest/doctest.h>
#include <event2/buffer.h>
#include <hiredis/hiredis.h>

#include <string>

#include "proxy/redis_fan_out.h"

using shardproxy::proxy::RedisFanOut;
using shardproxy::proxy::MergeRule;

namespace {

redisReply* reply_from(const std::string& wire) {
    redisReader* reader = redisReaderCreate();
    redisReaderFeed(reader, wire.data(), wire.size());
    void* reply = nullptr;
    REQUIRE(redisReaderGetReply(reader, &reply) == REDIS_OK);
    REQUIRE(reply != nullptr);
    redisReaderFree(reader);
    return static_cast<redisReply*>(reply);
}

std::string merged(RedisFanOut& fan_out) {
    evbuffer* out = evbuffer_new();
    fan_out.merge(out);
    std::string text(evbuffer_get_length(out), '\0');
    evbuffer_remove(out, text.data(), text.size());
    evbuffer_free(out);
    return text;
}

}  // namespace

TEST_CASE("MGET parts are merged back into the order the client asked for") {
    // Keys k0 k1 k2 k3: k0 and k2 went to child 0, k1 and k3 to child 1.
    RedisFanOut fan_out(MergeRule::array_in_key_order, 2, "mget");
    fan_out.add_key_origin(0, 0);
    fan_out.add_key_origin(1, 0);
    fan_out.add_key_origin(0, 1);
    fan_out.add_key_origin(1, 1);
    CHECK_FALSE(fan_out.complete());
    fan_out.set_reply_object(1, reply_from("*2\r\n$2\r\nv1\r\n$-1\r\n"));
    CHECK_FALSE(fan_out.complete());
    fan_out.set_reply_object(0, reply_from("*2\r\n$2\r\nv0\r\n$0\r\n\r\n"));
    CHECK(fan_out.complete());
    CHECK(merged(fan_out) == "*4\r\n$2\r\nv0\r\n$2\r\nv1\r\n$0\r\n\r\n$-1\r\n");
}

TEST_CASE("counts from every backend are summed") {
    RedisFanOut fan_out(MergeRule::integer_sum, 3, "del");
    fan_out.set_reply_object(0, reply_from(":2\r\n"));
    fan_out.set_reply_object(1, reply_from(":0\r\n"));
    fan_out.set_reply_object(2, reply_from(":5\r\n"));
    CHECK(merged(fan_out) == ":7\r\n");
}

TEST_CASE("one failed part fails the whole request with that part's error, never a partial answer") {
    RedisFanOut backend_error(MergeRule::all_ok, 2, "mset");
    backend_error.set_reply_object(0, reply_from("+OK\r\n"));
    backend_error.set_reply_object(1, reply_from("-OOM command not allowed\r\n"));
    CHECK(merged(backend_error) == "-OOM command not allowed\r\n");

    RedisFanOut unreachable(MergeRule::array_in_key_order, 2, "mget");
    unreachable.add_key_origin(0, 0);
    unreachable.add_key_origin(1, 0);
    unreachable.set_reply_object(0, reply_from("*1\r\n$1\r\na\r\n"));
    unreachable.set_error(1, "ERR backend cache-b (127.0.0.1:7002) timed out");
    CHECK(merged(unreachable) == "-ERR backend cache-b (127.0.0.1:7002) timed out\r\n");
}

TEST_CASE("a broadcast that must agree reports backends that answer differently") {
    RedisFanOut agree(MergeRule::same_reply, 2, "script|load");
    agree.set_reply_object(0, reply_from("$3\r\nabc\r\n"));
    agree.set_reply_object(1, reply_from("$3\r\nabc\r\n"));
    CHECK(merged(agree) == "$3\r\nabc\r\n");

    RedisFanOut disagree(MergeRule::same_reply, 2, "script|load");
    disagree.set_reply_object(0, reply_from("$3\r\nabc\r\n"));
    disagree.set_reply_object(1, reply_from("$3\r\nxyz\r\n"));
    CHECK(merged(disagree) == "-ERR backends answered 'script load' differently\r\n");
}

TEST_CASE("a part with the wrong shape of reply is an error, not a garbled merge") {
    RedisFanOut fan_out(MergeRule::array_in_key_order, 2, "mget");
    fan_out.add_key_origin(0, 0);
    fan_out.add_key_origin(1, 0);
    fan_out.set_reply_object(0, reply_from("*1\r\n$1\r\na\r\n"));
    fan_out.set_reply_object(1, reply_from(":1\r\n"));
    CHECK(merged(fan_out) == "-ERR backend returned an unexpected reply to 'mget'\r\n");
}
