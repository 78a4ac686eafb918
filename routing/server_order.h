#pragma once
// twemproxy sorts a pool's servers by identity before it builds any distribution, so the order
// of servers in the config file never changes placement. Distributions that must agree with it
// walk the servers in this order while still answering with config positions.
#include <cstdint>
#include <span>
#include <vector>

#include "routing/distribution.h"

namespace shardproxy::routing {

// Config positions of the servers, shorter identities first, equal lengths compared bytewise
// (unsigned), as twemproxy's string_compare orders them.
std::vector<uint32_t> identity_order(std::span<const WeightedServer> servers);

}  // namespace shardproxy::routing
