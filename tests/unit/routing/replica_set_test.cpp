#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "routing/distribution.h"
#include "routing/ketama.h"
#include "routing/maglev.h"
#include "spread_hashes.h"

using namespace shardproxy::routing;

namespace {

std::vector<WeightedServer> equal_servers(uint32_t count) {
    std::vector<WeightedServer> servers;
    for (uint32_t i = 0; i < count; ++i) servers.push_back({"server-" + std::to_string(i), 1});
    return servers;
}

}  // namespace

TEST_CASE("every distribution's replica set starts with its server and holds distinct servers") {
    const auto hashes = test::spread_hashes(2000);
    for (std::string_view name : distribution_names()) {
        for (uint32_t server_count : {1u, 2u, 3u, 5u, 8u}) {
            CAPTURE(name);
            CAPTURE(server_count);
            const DistributionBuild build = make_distribution(name, equal_servers(server_count));
            REQUIRE(build.distribution != nullptr);
            std::vector<uint32_t> replicas;
            for (uint32_t count : {1u, 2u, 3u, 10u}) {
                for (uint32_t hash : hashes) {
                    build.distribution->replica_set(hash, count, replicas);
                    REQUIRE(replicas.size() == std::min(count, server_count));
                    // random picks anew each time, so only the others are compared with server_for.
                    if (name != "random") REQUIRE(replicas[0] == build.distribution->server_for(hash));
                    REQUIRE(std::set<uint32_t>(replicas.begin(), replicas.end()).size() == replicas.size());
                    for (uint32_t server : replicas) REQUIRE(server < server_count);
                }
            }
        }
    }
}

TEST_CASE("ketama replicas are the next distinct servers clockwise from the key's point") {
    const auto servers = equal_servers(5);
    const KetamaDistribution ring(servers);
    const auto& points = ring.points();
    const auto& owners = ring.owners();
    std::vector<uint32_t> replicas;
    for (uint32_t hash : test::spread_hashes(500)) {
        ring.replica_set(hash, 3, replicas);
        // Walk the ring by hand.
        size_t at = static_cast<size_t>(std::lower_bound(points.begin(), points.end(), hash) - points.begin());
        std::vector<uint32_t> expected;
        for (size_t step = 0; expected.size() < 3; ++step) {
            const uint32_t owner = owners[(at + step) % owners.size()];
            if (std::find(expected.begin(), expected.end(), owner) == expected.end()) expected.push_back(owner);
        }
        CHECK(replicas == expected);
    }
}

TEST_CASE("replicas spread the second copies evenly, and a removed server only moves its own copies") {
    const auto hashes = test::spread_hashes(20000);
    for (std::string_view name : {"ketama", "maglev", "jump", "modula"}) {
        CAPTURE(name);
        const auto build = make_distribution(name, equal_servers(4));
        std::vector<uint32_t> replicas;
        std::vector<int> second_copies(4, 0);
        for (uint32_t hash : hashes) {
            build.distribution->replica_set(hash, 2, replicas);
            ++second_copies[replicas[1]];
        }
        for (int copies : second_copies) {
            CHECK(copies > 20000 / 4 * 0.7);
            CHECK(copies < 20000 / 4 * 1.3);
        }
    }
    // With ketama, taking a server out keeps every other key's replica set: the ring only loses
    // that server's points.
    auto servers = equal_servers(4);
    const KetamaDistribution full(servers);
    servers.erase(servers.begin() + 2);  // "server-2"; the others keep their names
    const KetamaDistribution without(servers);
    const auto renumber = [](uint32_t index) { return index >= 2 ? index + 1 : index; };
    std::vector<uint32_t> before;
    std::vector<uint32_t> after;
    for (uint32_t hash : hashes) {
        full.replica_set(hash, 2, before);
        without.replica_set(hash, 2, after);
        if (before[0] == 2 || before[1] == 2) continue;
        CHECK(renumber(after[0]) == before[0]);
        CHECK(renumber(after[1]) == before[1]);
    }
}

TEST_CASE("a server with no ring points is in no replica set") {
    // Weight 1 against 10000: ketama gives it no points.
    const std::vector<WeightedServer> servers = {{"heavy-a", 10000}, {"light", 1}, {"heavy-b", 10000}};
    const KetamaDistribution ring(servers);
    std::vector<uint32_t> replicas;
    for (uint32_t hash : test::spread_hashes(200)) {
        ring.replica_set(hash, 3, replicas);
        CHECK(replicas.size() == 2);
        CHECK(std::find(replicas.begin(), replicas.end(), 1u) == replicas.end());
    }
}
