#include <doctest/doctest.h>

#include <vector>

#include "routing/jump.h"
#include "spread_hashes.h"

using namespace shardproxy::routing;

TEST_CASE("jump matches the published algorithm's known outputs") {
    // Values from other implementations of Lamping and Veach's code.
    CHECK(JumpDistribution(60).server_for(1) == 55);
    CHECK(JumpDistribution(60).server_for(2) == 46);
    CHECK(JumpDistribution(1024).server_for(256) == 520);
    CHECK(JumpDistribution(1000).server_for(0) == 0);
    CHECK(JumpDistribution(1).server_for(0xdead10cc) == 0);
}

TEST_CASE("jump spreads keys evenly over servers") {
    const JumpDistribution jump(7);
    std::vector<size_t> hits(7, 0);
    const std::vector<uint32_t> hashes = test::spread_hashes(70000);
    for (uint32_t hash : hashes) ++hits[jump.server_for(hash)];
    for (size_t count : hits) {
        CHECK(count > 9500);
        CHECK(count < 10500);
    }
}

TEST_CASE("appending a server to a jump pool only moves keys onto it, about 1/(n+1) of them") {
    const JumpDistribution before(6);
    const JumpDistribution after(7);
    const std::vector<uint32_t> hashes = test::spread_hashes(70000);
    size_t moved = 0;
    for (uint32_t hash : hashes) {
        const uint32_t old_server = before.server_for(hash);
        const uint32_t new_server = after.server_for(hash);
        if (old_server == new_server) continue;
        ++moved;
        CHECK(new_server == 6);
    }
    CHECK(moved > 9500);
    CHECK(moved < 10500);
}

TEST_CASE("jump refuses unequal weights with a message that says what to do") {
    const std::vector<WeightedServer> servers = {{"a", 1}, {"b", 1}, {"c", 2}};
    const DistributionBuild build = make_distribution("jump", servers);
    CHECK(build.distribution == nullptr);
    CHECK(build.error.find("'jump' cannot honour weights") != std::string::npos);
    CHECK(build.error.find("'c' has weight 2") != std::string::npos);
    CHECK(build.error.find("'ketama' or 'maglev'") != std::string::npos);
}

TEST_CASE("jump accepts any weight shared by every server") {
    const std::vector<WeightedServer> servers = {{"a", 5}, {"b", 5}};
    CHECK(make_distribution("jump", servers).distribution != nullptr);
}
