// The near cache serves an entry only while it is fresh and at the key's current version, and
// never holds more than its bound; key versions tell reads when a write is in flight.
#include <doctest/doctest.h>

#include <string>

#include "routing/key_versions.h"
#include "routing/near_cache.h"

namespace shardproxy::routing {
namespace {

TEST_CASE("near cache: an entry is served until its TTL runs out") {
    NearCache cache(1 << 20, 200);
    const KeyVersions::Snapshot version{};
    cache.store("get\nk", "$1\r\nv\r\n", version, 1000);
    REQUIRE(cache.find("get\nk", version, 1199) != nullptr);
    CHECK(*cache.find("get\nk", version, 1199) == "$1\r\nv\r\n");
    CHECK(cache.find("gets\nk", version, 1100) == nullptr);  // another request form
    CHECK(cache.find("get\nk", version, 1200) == nullptr);
    CHECK(cache.entries() == 0);  // dropped when met stale
    CHECK(cache.bytes() == 0);
}

TEST_CASE("near cache and key versions: an answered write makes entries read before it miss") {
    KeyVersions versions;
    NearCache cache(1 << 20, 60'000);
    const uint64_t hash = key_hash("k");
    const KeyVersions::Snapshot before = versions.snapshot(hash);
    cache.store("k", "old", before, 0);
    REQUIRE(cache.find("k", versions.snapshot(hash), 1) != nullptr);
    versions.bump(hash);  // a write of k answered
    const KeyVersions::Snapshot after = versions.snapshot(hash);
    CHECK(after != before);  // a read sent before it cannot fill the cache either
    CHECK(cache.find("k", after, 2) == nullptr);
    CHECK(versions.snapshot(key_hash("other key")) == KeyVersions::Snapshot{});

    cache.store("k", "new", after, 3);
    REQUIRE(cache.find("k", versions.snapshot(hash), 4) != nullptr);
    versions.bump_all();  // FLUSHALL
    CHECK(cache.find("k", versions.snapshot(hash), 5) == nullptr);
}

TEST_CASE("near cache: past max_bytes the least recently used entries go") {
    const std::string reply(1000, 'x');
    const uint64_t entry = 2 + reply.size() + NearCache::kEntryOverhead;
    NearCache cache(entry * 3, 60'000);
    const KeyVersions::Snapshot version{};
    cache.store("k1", reply, version, 0);
    cache.store("k2", reply, version, 0);
    cache.store("k3", reply, version, 0);
    REQUIRE(cache.find("k1", version, 1) != nullptr);  // k1 is now the most recently used
    cache.store("k4", reply, version, 2);
    CHECK(cache.entries() == 3);
    CHECK(cache.bytes() <= entry * 3);
    CHECK(cache.evictions() == 1);
    CHECK(cache.find("k2", version, 3) == nullptr);
    CHECK(cache.find("k1", version, 3) != nullptr);
    CHECK(cache.find("k4", version, 3) != nullptr);
    // A reply larger than the whole bound is not kept.
    cache.store("huge", std::string(entry * 3, 'y'), version, 4);
    CHECK(cache.find("huge", version, 5) == nullptr);
    CHECK(cache.bytes() <= entry * 3);
}

}  // namespace
}  // namespace shardproxy::routing
