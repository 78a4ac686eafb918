#include "routing/maglev.h"

#include <algorithm>
#include <limits>

#include "routing/md5_words.h"
#include "routing/server_order.h"

namespace shardproxy::routing {
namespace {

constexpr uint32_t free_slot = std::numeric_limits<uint32_t>::max();

bool is_prime(uint32_t n) {
    if (n < 2) return false;
    for (uint32_t d = 2; static_cast<uint64_t>(d) * d <= n; ++d) {
        if (n % d == 0) return false;
    }
    return true;
}

// Where a server's permutation of the slots starts and how far it steps. Both come from the MD5
// of its identity, so the table depends on identities and weights only, never on config order,
// and is the same on every machine.
struct Permutation {
    uint32_t position;
    uint32_t skip;
};

Permutation permutation_of(const WeightedServer& server, uint32_t table_size) {
    const std::array<uint32_t, 4> words = md5_words(server.identity);
    // A prime table size makes every skip in [1, size) visit each slot once per cycle.
    return {words[0] % table_size, words[1] % (table_size - 1) + 1};
}

}  // namespace

uint32_t maglev_table_size(uint32_t server_count) {
    auto size = static_cast<uint32_t>(std::max<uint64_t>(65537, uint64_t{server_count} * 100));
    while (!is_prime(size)) ++size;
    return size;
}

MaglevDistribution::MaglevDistribution(std::span<const WeightedServer> servers)
    : server_count_(static_cast<uint32_t>(servers.size())) {
    const uint32_t size = maglev_table_size(static_cast<uint32_t>(servers.size()));
    table_.assign(size, free_slot);

    const std::vector<uint32_t> order = identity_order(servers);
    std::vector<Permutation> walks;
    walks.reserve(order.size());
    for (uint32_t owner : order) walks.push_back(permutation_of(servers[owner], size));

    // Weighted turns: every round each server earns its weight in credit and claims one slot per
    // heaviest-weight's worth of credit, so the heaviest claims one slot a round and the others
    // claim in proportion. With equal weights this is Maglev's plain round robin.
    uint32_t heaviest = 0;
    for (const WeightedServer& server : servers) heaviest = std::max(heaviest, server.weight);
    std::vector<uint64_t> credit(order.size(), 0);

    uint32_t filled = 0;
    while (filled < size) {
        for (size_t i = 0; i < order.size() && filled < size; ++i) {
            credit[i] += servers[order[i]].weight;
            while (credit[i] >= heaviest && filled < size) {
                credit[i] -= heaviest;
                Permutation& walk = walks[i];
                while (table_[walk.position] != free_slot) {
                    walk.position = static_cast<uint32_t>((uint64_t{walk.position} + walk.skip) % size);
                }
                table_[walk.position] = order[i];
                ++filled;
            }
        }
    }
}

uint32_t MaglevDistribution::server_for(uint32_t key_hash) const {
    return table_[key_hash % table_.size()];
}

// Neighbouring slots are filled in turns by a few servers' permutations, so walking the table
// would favour some servers as second copies. Replica r instead looks the key's hash up again,
// re-mixed with r, skipping servers already chosen; a scan completes the set for unlucky keys.
void MaglevDistribution::replica_set(uint32_t key_hash, uint32_t count, std::vector<uint32_t>& out) const {
    out.clear();
    const uint32_t wanted = std::min(count, server_count_);
    out.push_back(server_for(key_hash));
    for (uint64_t r = 1; out.size() < wanted && r < 8ull * wanted; ++r) {
        const uint64_t mixed = (key_hash ^ (r * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
        const uint32_t owner = table_[(mixed >> 32) % table_.size()];
        if (std::find(out.begin(), out.end(), owner) == out.end()) out.push_back(owner);
    }
    for (size_t slot = 0; slot < table_.size() && out.size() < wanted; ++slot) {
        const uint32_t owner = table_[slot];
        if (std::find(out.begin(), out.end(), owner) == out.end()) out.push_back(owner);
    }
}

DistributionBuild build_maglev(std::span<const WeightedServer> servers) {
    return {std::make_unique<MaglevDistribution>(servers), {}};
}

}  // namespace shardproxy::routing
