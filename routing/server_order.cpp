#include "routing/server_order.h"

#include <algorithm>
#include <numeric>

namespace shardproxy::routing {

std::vector<uint32_t> identity_order(std::span<const WeightedServer> servers) {
    std::vector<uint32_t> order(servers.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
        const std::string& left = servers[a].identity;
        const std::string& right = servers[b].identity;
        if (left.size() != right.size()) return left.size() < right.size();
        return left < right;
    });
    return order;
}

}  // namespace shardproxy::routing
