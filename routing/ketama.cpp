#include "routing/ketama.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "routing/md5_words.h"
#include "routing/server_order.h"

namespace shardproxy::routing {
namespace {

// twemproxy formats "<identity>-<i>" into a 273-byte buffer, so longer strings are hashed cut
// to their first 272 bytes.
constexpr size_t max_point_text = 272;

struct Point {
    uint32_t value;
    uint32_t owner;
};

}  // namespace

// Reproduces twemproxy's single-precision arithmetic step by step: evaluating it in double (or
// reordering it) changes the count for some weight mixes, and with it the whole ring.
uint32_t ketama_point_count(uint32_t weight, uint32_t total_weight, uint32_t server_count) {
    const float share = static_cast<float>(weight) / static_cast<float>(total_weight);
    const float hashes = share * 160.0f / 4.0f * static_cast<float>(server_count);
    const auto nudged = static_cast<float>(static_cast<double>(hashes) + 0.0000000001);
    return static_cast<uint32_t>(std::floor(nudged)) * 4;
}

KetamaDistribution::KetamaDistribution(std::span<const WeightedServer> servers)
    : server_count_(static_cast<uint32_t>(servers.size())) {
    uint32_t total_weight = 0;
    for (const WeightedServer& server : servers) total_weight += server.weight;
    const auto server_count = static_cast<uint32_t>(servers.size());

    std::vector<Point> ring;
    ring.reserve(servers.size() * 160);
    std::string text;
    for (uint32_t owner : identity_order(servers)) {
        const WeightedServer& server = servers[owner];
        const uint32_t digests = ketama_point_count(server.weight, total_weight, server_count) / 4;
        for (uint32_t i = 0; i < digests; ++i) {
            text = server.identity;
            text += '-';
            text += std::to_string(i);
            const std::string_view hashed = std::string_view(text).substr(0, max_point_text);
            for (uint32_t value : md5_words(hashed)) ring.push_back({value, owner});
        }
    }

    // twemproxy sorts with glibc's qsort, in practice a merge sort that keeps equal points in
    // build order (identity order, then point order); a key lands on the first of equal points.
    std::stable_sort(ring.begin(), ring.end(),
                     [](const Point& a, const Point& b) { return a.value < b.value; });
    points_.reserve(ring.size());
    owners_.reserve(ring.size());
    for (const Point& point : ring) {
        points_.push_back(point.value);
        owners_.push_back(point.owner);
    }
}

size_t KetamaDistribution::point_index(uint32_t key_hash) const {
    auto it = std::lower_bound(points_.begin(), points_.end(), key_hash);
    if (it == points_.end()) it = points_.begin();
    return static_cast<size_t>(it - points_.begin());
}

uint32_t KetamaDistribution::server_for(uint32_t key_hash) const { return owners_[point_index(key_hash)]; }

// A server with no points (a weight too small for even one) is never a replica: like
// server_for, the replica set only knows the ring.
void KetamaDistribution::replica_set(uint32_t key_hash, uint32_t count, std::vector<uint32_t>& out) const {
    out.clear();
    const size_t start = point_index(key_hash);
    for (size_t step = 0; step < owners_.size() && out.size() < count && out.size() < server_count_; ++step) {
        const uint32_t owner = owners_[(start + step) % owners_.size()];
        if (std::find(out.begin(), out.end(), owner) == out.end()) out.push_back(owner);
    }
}

DistributionBuild build_ketama(std::span<const WeightedServer> servers) {
    return {std::make_unique<KetamaDistribution>(servers), {}};
}

}  // namespace shardproxy::routing
