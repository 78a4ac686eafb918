#include "routing/prefix_router.h"

#include <algorithm>
#include <utility>

namespace shardproxy::routing {

PrefixRouter::PrefixRouter(uint32_t default_pool) : default_pool_(default_pool) {}

// Keeping routes longest first lets pool_for stop at the first match. Adding a prefix again
// replaces its pool rather than leaving an entry that could never match.
void PrefixRouter::add_route(std::string prefix, uint32_t pool) {
    for (Route& route : routes_) {
        if (route.prefix == prefix) {
            route.pool = pool;
            return;
        }
    }
    const auto position = std::find_if(routes_.begin(), routes_.end(), [&](const Route& route) {
        return route.prefix.size() < prefix.size();
    });
    routes_.insert(position, Route{std::move(prefix), pool});
}

uint32_t PrefixRouter::pool_for(std::string_view key) const {
    for (const Route& route : routes_) {
        if (key.starts_with(route.prefix)) return route.pool;
    }
    return default_pool_;
}

}  // namespace shardproxy::routing
