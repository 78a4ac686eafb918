#pragma once
// Longest-prefix match of a key onto a pool, with a default pool for keys no route matches.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shardproxy::routing {

class PrefixRouter {
public:
    explicit PrefixRouter(uint32_t default_pool);
    void add_route(std::string prefix, uint32_t pool);
    // Pool index for the key; the longest matching prefix wins.
    uint32_t pool_for(std::string_view key) const;
    bool has_routes() const { return !routes_.empty(); }

private:
    struct Route {
        std::string prefix;
        uint32_t pool;
    };
    std::vector<Route> routes_;  // longest prefix first
    uint32_t default_pool_;
};

}  // namespace shardproxy::routing
