#pragma once
// Counters of the request path, one set per worker: a worker writes its own with a relaxed load
// and store (no locked instruction), and the admin thread sums the workers' sets when it is
// scraped. Each set starts on its own cache line, so workers never write to a shared line.
#include <event2/event.h>

#include <array>
#include <atomic>
#include <cstdint>

namespace shardproxy::backends {

// The time of the loop turn being run, in microseconds: libevent reads the clock once per turn,
// however many requests and replies the turn handles. Latencies are measured in turns, as the
// clients see them.
inline uint64_t loop_turn_us(event_base* base) {
    timeval now{};
    event_base_gettimeofday_cached(base, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000000 + static_cast<uint64_t>(now.tv_usec);
}

class WorkerCounter {
public:
    void add(uint64_t delta) { value_.store(value_.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed); }
    void bump() { add(1); }
    uint64_t load() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> value_{0};
};

// Upper bounds of the latency buckets, in microseconds; one more bucket holds the rest.
inline constexpr std::array<uint64_t, 14> kLatencyBoundsUs{100,   250,    500,    1000,   2500,    5000,    10000,
                                                           25000, 50000, 100000, 250000, 500000, 1000000, 2500000};

class LatencyHistogram {
public:
    // Of an interval from `start_us` to `end_us`; a clock step backwards counts as zero.
    void observe_interval(uint64_t start_us, uint64_t end_us) { observe(end_us > start_us ? end_us - start_us : 0); }
    void observe(uint64_t us) {
        size_t bucket = 0;
        while (bucket < kLatencyBoundsUs.size() && us > kLatencyBoundsUs[bucket]) ++bucket;
        buckets_[bucket].bump();
        sum_us_.add(us);
    }
    // Observations in bucket `i` alone (not cumulative); i == kLatencyBoundsUs.size() is +Inf.
    uint64_t bucket(size_t i) const { return buckets_[i].load(); }
    uint64_t sum_us() const { return sum_us_.load(); }
    uint64_t count() const {
        uint64_t total = 0;
        for (const WorkerCounter& bucket : buckets_) total += bucket.load();
        return total;
    }

private:
    std::array<WorkerCounter, kLatencyBoundsUs.size() + 1> buckets_;
    WorkerCounter sum_us_;
};

// One worker's traffic with one backend server.
struct alignas(64) ServerTraffic {
    WorkerCounter requests;        // sent to the server
    WorkerCounter errors;          // failed by the proxy: connection lost or refused, bad reply
    WorkerCounter timeouts;        // answered with a timeout error
    WorkerCounter bytes_sent;
    WorkerCounter bytes_received;
    LatencyHistogram latency;      // from the turn a request was sent to the turn its reply came
};

}  // namespace shardproxy::backends
