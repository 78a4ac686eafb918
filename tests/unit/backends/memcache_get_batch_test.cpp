#include <doctest/doctest.h>
#include <event2/buffer.h>

#include <string>

#include "backends/memcache_get_batch.h"

using shardproxy::backends::MemcacheGetBatch;

namespace {

std::string drain(evbuffer* buffer) {
    std::string text(evbuffer_get_length(buffer), '\0');
    evbuffer_remove(buffer, text.data(), text.size());
    return text;
}

}  // namespace

TEST_CASE("memcache single-key gets of one turn leave as one multi-key get per command") {
    MemcacheGetBatch batch;
    evbuffer* out = evbuffer_new();
    CHECK(batch.accepts("get", "a"));
    batch.add("get", "a");
    batch.add("get", "bb");
    CHECK(batch.accepts("get", "a"));
    CHECK_FALSE(batch.accepts("gets", "c"));  // another command starts another batch
    batch.emit(out);
    batch.add("gets", "c");
    batch.emit(out);
    batch.emit(out);  // nothing assembled: nothing written
    CHECK(drain(out) == "get a bb\r\ngets c\r\n");
    CHECK(batch.oldest_members() == 2);

    // At most 100 keys per get, so that one reply stays a reasonable size.
    for (int i = 0; i < 100; ++i) batch.add("get", "k" + std::to_string(i));
    CHECK_FALSE(batch.accepts("get", "one-more"));
    evbuffer_free(out);
}

TEST_CASE("memcache multi-key get replies are cut into each member's VALUE block, misses empty") {
    MemcacheGetBatch batch;
    evbuffer* out = evbuffer_new();
    for (const char* key : {"a", "miss", "b", "a"}) batch.add("get", key);
    batch.emit(out);
    evbuffer* in = evbuffer_new();
    const std::string a = "VALUE a 0 5\r\nEND\r\n\r\n";  // data that looks like a reply
    const std::string b = "VALUE b 7 1 99\r\nx\r\n";
    const std::string reply = a + b + a + "END\r\n";
    evbuffer_add(in, reply.data(), reply.size());

    REQUIRE(batch.oldest_members() == 4);
    size_t block = batch.next_member_block(in);
    CHECK(block == a.size());
    evbuffer_drain(in, block);
    CHECK(batch.next_member_block(in) == 0);  // "miss" was not found
    block = batch.next_member_block(in);
    CHECK(block == b.size());
    evbuffer_drain(in, block);
    block = batch.next_member_block(in);
    CHECK(block == a.size());
    evbuffer_drain(in, block);
    CHECK(drain(in) == "END\r\n");
    batch.finish_oldest();
    CHECK(batch.oldest_members() == 0);

    // A key that is a prefix of the VALUE's key is not a hit.
    batch.add("get", "k");
    batch.emit(out);
    const std::string longer = "VALUE kk 0 1\r\nz\r\nEND\r\n";
    evbuffer_add(in, longer.data(), longer.size());
    CHECK(batch.next_member_block(in) == 0);
    evbuffer_free(in);
    evbuffer_free(out);
}
