#pragma once
// The soak's client loads. Each runs on its own thread over its own keys until `stop`, writing
// values unique to key and write, reading them back, and judging every reply with its ledger.
#include <atomic>
#include <string>

#include "tally.h"

namespace shardproxy::soak {

struct LoadShape {
    int keys_per_command = 1;  // 1: SET/GET (set/get); more: MSET/MGET (several sets, one multi-key get)
    int groups_per_batch = 1;  // write-then-read groups per round trip; above 1 they are pipelined
    bool pipelined = false;
};

// Through hiredis, as a Redis application does.
void run_redis_load(int port, const LoadShape& shape, const std::string& prefix, int keys,
                    const std::atomic<bool>& stop, Tally& tally);

// Not pipelined: through libmemcached, as a memcached application does. Pipelined: raw text
// protocol, every storage command and multi-key get of the batch in one write.
void run_memcache_load(int port, const LoadShape& shape, const std::string& prefix, int keys,
                       const std::atomic<bool>& stop, Tally& tally);

}  // namespace shardproxy::soak
