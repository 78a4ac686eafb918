#include "routing/distribution.h"

#include <array>
#include <limits>

#include "routing/jump.h"
#include "routing/ketama.h"
#include "routing/maglev.h"
#include "routing/modula.h"
#include "routing/random_distribution.h"
#include "routing/server_order.h"

namespace shardproxy::routing {
namespace {

struct NamedDistribution {
    std::string_view name;
    DistributionBuild (*build)(std::span<const WeightedServer>);
};

constexpr std::array<NamedDistribution, 5> distributions{{
    {"ketama", build_ketama},
    {"modula", build_modula},
    {"random", build_random},
    {"jump", build_jump},
    {"maglev", build_maglev},
}};

std::string quoted_list(const std::vector<std::string_view>& names) {
    std::string list;
    for (std::string_view name : names) {
        if (!list.empty()) list += ", ";
        list += '\'';
        list += name;
        list += '\'';
    }
    return list;
}

// Rules every distribution relies on; twemproxy refuses the same configurations.
std::string server_list_error(std::span<const WeightedServer> servers) {
    if (servers.empty()) return "a pool needs at least one server";
    uint64_t total_weight = 0;
    for (const WeightedServer& server : servers) {
        if (server.weight == 0) return "server '" + server.identity + "' has weight 0; weights start at 1";
        total_weight += server.weight;
    }
    if (total_weight > std::numeric_limits<uint32_t>::max()) {
        return "the servers' weights add up to more than 4294967295";
    }
    // Servers sharing an identity would share ring points and permutations, so they could not
    // be told apart.
    const std::vector<uint32_t> order = identity_order(servers);
    for (size_t i = 1; i < order.size(); ++i) {
        const std::string& identity = servers[order[i]].identity;
        if (identity == servers[order[i - 1]].identity) {
            return "two servers have the identity '" + identity + "'; give each a distinct name";
        }
    }
    return {};
}

}  // namespace

DistributionBuild make_distribution(std::string_view name, std::span<const WeightedServer> servers) {
    for (const NamedDistribution& distribution : distributions) {
        if (distribution.name != name) continue;
        std::string error = server_list_error(servers);
        if (!error.empty()) return {nullptr, std::move(error)};
        return distribution.build(servers);
    }
    return {nullptr, "unknown distribution '" + std::string(name) + "'; valid distributions are " +
                         quoted_list(distribution_names())};
}

const std::vector<std::string_view>& distribution_names() {
    static const std::vector<std::string_view> names = [] {
        std::vector<std::string_view> all;
        for (const NamedDistribution& distribution : distributions) all.push_back(distribution.name);
        return all;
    }();
    return names;
}

}  // namespace shardproxy::routing
