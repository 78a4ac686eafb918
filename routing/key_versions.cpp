#include "routing/key_versions.h"

namespace shardproxy::routing {

KeyVersions::KeyVersions() : buckets_(std::make_unique<std::atomic<uint64_t>[]>(kBuckets)) {
    for (uint32_t i = 0; i < kBuckets; ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

}  // namespace shardproxy::routing
