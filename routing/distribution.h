#pragma once
// A distribution maps a 32-bit key hash onto one server of a pool. Servers are identified by
// their position in the pool's configured server list; placement depends only on each server's
// identity and weight, never on its address.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace shardproxy::routing {

struct WeightedServer {
    std::string identity;  // name, else host:port, else host when the port is 11211
    uint32_t weight = 1;
};

class Distribution {
public:
    virtual ~Distribution() = default;
    // Index into the server list the distribution was built from.
    virtual uint32_t server_for(uint32_t key_hash) const = 0;
    // The key's replica set: min(count, servers) distinct servers, most preferred first, with
    // out[0] == server_for(key_hash), so one replica places keys exactly as server_for does.
    // Each distribution orders the rest its own way (ketama: the next distinct servers clockwise
    // on the ring). `out` is overwritten; callers reuse it so that lookups do not allocate.
    virtual void replica_set(uint32_t key_hash, uint32_t count, std::vector<uint32_t>& out) const = 0;
};

struct DistributionBuild {
    std::unique_ptr<Distribution> distribution;  // null on error
    std::string error;                           // why the servers cannot use this distribution
};

// Unknown names give an error naming the valid ones.
DistributionBuild make_distribution(std::string_view name, std::span<const WeightedServer> servers);

const std::vector<std::string_view>& distribution_names();

}  // namespace shardproxy::routing
