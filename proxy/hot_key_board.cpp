#include "proxy/hot_key_board.h"

#include <algorithm>
#include <unordered_map>

namespace shardproxy::proxy {

HotKeyBoard::HotKeyBoard(uint32_t workers) : workers_(workers) {}

uint64_t HotKeyBoard::total(std::atomic<uint64_t> HotKeyCounters::*counter) const {
    uint64_t sum = 0;
    for (const WorkerView& worker : workers_) sum += ((*worker.counters).*counter).load(std::memory_order_relaxed);
    return sum;
}

void HotKeyBoard::publish(uint32_t worker, std::vector<HotKeyReport> keys) {
    const std::lock_guard lock(mutex_);
    workers_[worker].keys = std::move(keys);
}

std::vector<HotKeyReport> HotKeyBoard::hot_keys() const {
    std::unordered_map<std::string, double> rates;
    {
        const std::lock_guard lock(mutex_);
        for (const WorkerView& worker : workers_) {
            for (const HotKeyReport& key : worker.keys) rates[key.key] += key.rate;
        }
    }
    std::vector<HotKeyReport> merged;
    merged.reserve(rates.size());
    for (auto& [key, rate] : rates) merged.push_back({key, rate});
    std::sort(merged.begin(), merged.end(), [](const HotKeyReport& a, const HotKeyReport& b) {
        return a.rate != b.rate ? a.rate > b.rate : a.key < b.key;
    });
    return merged;
}

}  // namespace shardproxy::proxy
