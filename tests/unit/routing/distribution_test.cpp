#include <doctest/doctest.h>

#include <vector>

#include "routing/distribution.h"

using namespace shardproxy::routing;

namespace {

const std::vector<WeightedServer> three = {{"a", 1}, {"b", 1}, {"c", 1}};

}  // namespace

TEST_CASE("every listed distribution builds for a plain pool") {
    CHECK(distribution_names() == std::vector<std::string_view>{"ketama", "modula", "random", "jump", "maglev"});
    for (std::string_view name : distribution_names()) {
        CAPTURE(name);
        const DistributionBuild build = make_distribution(name, three);
        CHECK(build.error.empty());
        REQUIRE(build.distribution != nullptr);
        CHECK(build.distribution->server_for(12345) < 3);
    }
}

TEST_CASE("an unknown distribution is refused with a message naming the valid ones") {
    const DistributionBuild build = make_distribution("consistent", three);
    CHECK(build.distribution == nullptr);
    CHECK(build.error.find("'consistent'") != std::string::npos);
    for (std::string_view name : distribution_names()) CHECK(build.error.find(name) != std::string::npos);
}

TEST_CASE("every distribution refuses a pool without servers") {
    for (std::string_view name : distribution_names()) {
        const DistributionBuild build = make_distribution(name, {});
        CHECK(build.distribution == nullptr);
        CHECK(build.error == "a pool needs at least one server");
    }
}

TEST_CASE("a server of weight 0 is refused, as twemproxy refuses it") {
    const std::vector<WeightedServer> servers = {{"a", 1}, {"b", 0}};
    const DistributionBuild build = make_distribution("ketama", servers);
    CHECK(build.distribution == nullptr);
    CHECK(build.error == "server 'b' has weight 0; weights start at 1");
}

TEST_CASE("two servers with the same identity are refused, as twemproxy refuses them") {
    const std::vector<WeightedServer> servers = {{"10.0.0.1:6379", 1}, {"b", 1}, {"10.0.0.1:6379", 2}};
    for (std::string_view name : distribution_names()) {
        const DistributionBuild build = make_distribution(name, servers);
        CHECK(build.distribution == nullptr);
        CHECK(build.error.find("'10.0.0.1:6379'") != std::string::npos);
    }
}

TEST_CASE("weights adding up past 32 bits are refused") {
    const std::vector<WeightedServer> servers = {{"a", 4000000000u}, {"b", 400000000u}};
    const DistributionBuild build = make_distribution("modula", servers);
    CHECK(build.distribution == nullptr);
    CHECK(build.error.find("4294967295") != std::string::npos);
}
