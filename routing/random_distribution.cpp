#include "routing/random_distribution.h"

#include <atomic>
#include <chrono>

namespace shardproxy::routing {
namespace {

uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// Seeded from the clock and a process-wide counter so threads started in the same instant still
// differ; std::random_device is avoided because constructing it may allocate.
uint64_t thread_seed() {
    static std::atomic<uint64_t> threads{0};
    uint64_t seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    seed ^= threads.fetch_add(1, std::memory_order_relaxed) * 0xd1b54a32d192ed03ull;
    return seed;
}

}  // namespace

uint32_t RandomDistribution::server_for(uint32_t) const {
    thread_local uint64_t state = thread_seed();
    // Multiply-shift maps 32 random bits onto [0, server_count_) without a division.
    const auto bits = static_cast<uint32_t>(splitmix64(state) >> 32);
    return static_cast<uint32_t>((static_cast<uint64_t>(bits) * server_count_) >> 32);
}

void RandomDistribution::replica_set(uint32_t key_hash, uint32_t count, std::vector<uint32_t>& out) const {
    out.clear();
    const uint32_t first = server_for(key_hash);
    for (uint32_t i = 0; i < server_count_ && out.size() < count; ++i) out.push_back((first + i) % server_count_);
}

DistributionBuild build_random(std::span<const WeightedServer> servers) {
    return {std::make_unique<RandomDistribution>(static_cast<uint32_t>(servers.size())), {}};
}

}  // namespace shardproxy::routing
