#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "routing/random_distribution.h"

using namespace shardproxy::routing;

TEST_CASE("random spreads requests evenly over servers whatever the key hash") {
    const RandomDistribution random(4);
    std::vector<int> hits(4, 0);
    for (int i = 0; i < 40000; ++i) ++hits[random.server_for(42)];
    for (int count : hits) {
        CHECK(count > 9000);
        CHECK(count < 11000);
    }
}

TEST_CASE("random ignores weights, as twemproxy does") {
    const std::vector<WeightedServer> servers = {{"a", 1}, {"b", 9}};
    const DistributionBuild build = make_distribution("random", servers);
    REQUIRE(build.distribution != nullptr);
    int on_a = 0;
    for (int i = 0; i < 20000; ++i) on_a += build.distribution->server_for(0) == 0;
    CHECK(on_a > 9000);
    CHECK(on_a < 11000);
}

TEST_CASE("random can be called from several threads at once and stays in range") {
    const RandomDistribution random(3);
    std::atomic<int> out_of_range{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 10000; ++i) {
                if (random.server_for(static_cast<uint32_t>(i)) >= 3) ++out_of_range;
            }
        });
    }
    for (std::thread& thread : threads) thread.join();
    CHECK(out_of_range == 0);
}
