#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "routing/maglev.h"
#include "spread_hashes.h"

using namespace shardproxy::routing;

namespace {

std::vector<WeightedServer> named_servers(size_t count) {
    std::vector<WeightedServer> servers;
    for (size_t i = 0; i < count; ++i) servers.push_back({"10.1.0." + std::to_string(i + 1) + ":6379", 1});
    return servers;
}

std::vector<size_t> slots_per_server(const MaglevDistribution& maglev, size_t servers) {
    std::vector<size_t> counts(servers, 0);
    for (uint32_t owner : maglev.table()) ++counts[owner];
    return counts;
}

}  // namespace

TEST_CASE("the maglev table size is a prime of at least 65537 and 100 slots per server") {
    CHECK(maglev_table_size(1) == 65537);
    CHECK(maglev_table_size(655) == 65537);
    CHECK(maglev_table_size(656) == 65609);  // the first prime >= 65600
    CHECK(maglev_table_size(1000) == 100003);
}

TEST_CASE("equal weights give every server the same number of slots, give or take one") {
    const std::vector<WeightedServer> servers = named_servers(5);
    const MaglevDistribution maglev(servers);
    CHECK(maglev.table().size() == 65537);
    for (size_t count : slots_per_server(maglev, 5)) {
        CHECK(count >= 65537 / 5);
        CHECK(count <= 65537 / 5 + 1);
    }
}

TEST_CASE("maglev shares slots in proportion to weight") {
    const std::vector<WeightedServer> servers = {{"a", 1}, {"b", 2}, {"c", 5}};
    const MaglevDistribution maglev(servers);
    const std::vector<size_t> counts = slots_per_server(maglev, 3);
    const double size = 65537.0;
    CHECK(counts[0] == doctest::Approx(size / 8).epsilon(0.001));
    CHECK(counts[1] == doctest::Approx(size * 2 / 8).epsilon(0.001));
    CHECK(counts[2] == doctest::Approx(size * 5 / 8).epsilon(0.001));
}

TEST_CASE("maglev spreads real keys evenly") {
    const std::vector<WeightedServer> servers = named_servers(7);
    const MaglevDistribution maglev(servers);
    std::vector<size_t> hits(7, 0);
    for (uint32_t hash : test::spread_hashes(70000)) ++hits[maglev.server_for(hash)];
    for (size_t count : hits) {
        CHECK(count > 9500);
        CHECK(count < 10500);
    }
}

TEST_CASE("config order does not change where a maglev server's keys go") {
    const std::vector<WeightedServer> forward = {{"alpha", 1}, {"b", 2}, {"gamma-long", 1}, {"delta", 3}};
    const std::vector<WeightedServer> backward(forward.rbegin(), forward.rend());
    const MaglevDistribution one(forward);
    const MaglevDistribution two(backward);
    for (uint32_t hash : test::spread_hashes(5000)) {
        CHECK(forward[one.server_for(hash)].identity == backward[two.server_for(hash)].identity);
    }
}

TEST_CASE("adding a maglev server moves about 1/(n+1) of keys, nearly all onto the new server") {
    std::vector<WeightedServer> servers = named_servers(6);
    const MaglevDistribution before(servers);
    servers.push_back({"10.1.0.99:6379", 1});
    const MaglevDistribution after(servers);
    const std::vector<uint32_t> hashes = test::spread_hashes(70000);
    size_t to_new = 0;
    size_t between_old = 0;
    for (uint32_t hash : hashes) {
        const uint32_t old_server = before.server_for(hash);
        const uint32_t new_server = after.server_for(hash);
        if (old_server == new_server) continue;
        ++(new_server == 6 ? to_new : between_old);
    }
    CHECK(to_new > 9500);
    CHECK(to_new < 10500);
    CHECK(between_old < hashes.size() / 100);
}

TEST_CASE("removing a maglev server keeps nearly every other server's keys in place") {
    const std::vector<WeightedServer> servers = named_servers(6);
    const std::vector<WeightedServer> fewer(servers.begin(), servers.end() - 1);
    const MaglevDistribution before(servers);
    const MaglevDistribution after(fewer);
    size_t kept_servers_keys = 0;
    size_t moved = 0;
    for (uint32_t hash : test::spread_hashes(60000)) {
        const uint32_t old_server = before.server_for(hash);
        if (old_server == 5) continue;
        ++kept_servers_keys;
        moved += after.server_for(hash) != old_server;
    }
    CHECK(moved < kept_servers_keys / 100);
}
