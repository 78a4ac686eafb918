#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "routing/hot_key_sketch.h"

using namespace shardproxy::routing;

namespace {

// Any unaligned start: windows must not depend on the clock starting at zero.
constexpr uint64_t start_ms = 7'000'000'123;

constexpr std::string_view key_prefix = "object:";

std::string key_name(uint64_t id) { return std::string(key_prefix) + std::to_string(id); }
uint64_t key_id(const std::string& key) { return std::stoull(key.substr(key_prefix.size())); }

bool record(HotKeySketch& sketch, const std::string& key, uint64_t now_ms) {
    return sketch.record(key, std::hash<std::string_view>{}(key), now_ms);
}

bool reported(const HotKeySketch& sketch, const std::string& key, uint64_t now_ms) {
    const std::vector<HotKeySketch::HotKey> hot = sketch.hot_keys(now_ms);
    return std::any_of(hot.begin(), hot.end(), [&](const HotKeySketch::HotKey& h) { return h.key == key; });
}

// Ranks 1..n with P(rank k) proportional to k^-exponent.
class Zipf {
public:
    Zipf(uint32_t n, double exponent) : cdf_(n) {
        double total = 0;
        for (uint32_t k = 1; k <= n; ++k) cdf_[k - 1] = total += std::pow(k, -exponent);
        for (double& c : cdf_) c /= total;
    }
    uint32_t operator()(std::mt19937_64& rng) const {
        const double u = std::uniform_real_distribution<double>(0, 1)(rng);
        return static_cast<uint32_t>(std::upper_bound(cdf_.begin(), cdf_.end() - 1, u) - cdf_.begin()) + 1;
    }
    double probability(uint32_t rank) const { return cdf_[rank - 1] - (rank > 1 ? cdf_[rank - 2] : 0); }

private:
    std::vector<double> cdf_;
};

// Time of the i-th read of a stream of `per_second` reads, from start_ms.
uint64_t at(uint64_t i, uint64_t per_second) { return start_ms + i * 1000 / per_second; }

}  // namespace

TEST_CASE("hot key sketch: a Zipf stream reports exactly its top keys, with their rates") {
    constexpr uint32_t keys = 100'000;
    constexpr uint64_t per_second = 100'000;
    constexpr double hot_rate = 500;
    const Zipf zipf(keys, 1.5);
    std::vector<std::string> names(keys + 1);
    for (uint32_t rank = 1; rank <= keys; ++rank) names[rank] = key_name(rank);
    // Fewer slots than keys above the admission level, so replacement is exercised too.
    HotKeySketch sketch(32, 1000, hot_rate);
    std::mt19937_64 rng(42);

    uint64_t i = 0;
    for (uint64_t second = 1; second <= 6; ++second) {
        for (; i < second * per_second; ++i) {
            const uint32_t rank = zipf(rng);
            record(sketch, names[rank], at(i, per_second));
        }
        if (second < 2) continue;  // rates hold once keys have been read for two windows
        const uint64_t now = at(i, per_second);
        const std::vector<HotKeySketch::HotKey> hot = sketch.hot_keys(now);
        CAPTURE(second);
        for (uint32_t rank = 1; per_second * zipf.probability(rank) >= hot_rate * 1.25; ++rank) {
            CAPTURE(rank);
            CHECK(reported(sketch, names[rank], now));
        }
        for (const HotKeySketch::HotKey& key : hot) {
            const auto rank = static_cast<uint32_t>(key_id(key.key));
            CAPTURE(rank);
            CHECK(per_second * zipf.probability(rank) >= hot_rate * 0.75);
        }
        REQUIRE(hot.size() >= 5);
        for (uint32_t rank = 1; rank <= 5; ++rank) {
            CAPTURE(rank);
            CHECK(hot[rank - 1].key == names[rank]);
            CHECK(hot[rank - 1].rate == doctest::Approx(per_second * zipf.probability(rank)).epsilon(0.25));
        }
    }
}

TEST_CASE("hot key sketch: a flood of distinct cold keys is never hot") {
    constexpr uint64_t per_second = 200'000;
    HotKeySketch sketch(256, 1000, 100);
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<uint64_t> pick(0, 999'999);
    uint64_t hot_reads = 0;
    for (uint64_t i = 0; i < 5 * per_second; ++i) {
        hot_reads += record(sketch, key_name(pick(rng)), at(i, per_second));
    }
    CHECK(hot_reads == 0);
    CHECK(sketch.hot_keys(at(5 * per_second, per_second)).empty());
}

TEST_CASE("hot key sketch: a key is hot while read and cold within two windows of its last read") {
    constexpr uint64_t per_second = 20'000;  // 1 read in 20 of the hot key: 1000/s
    constexpr uint64_t window_ms = 1000;
    HotKeySketch sketch(64, window_ms, 100);
    std::mt19937_64 rng(3);
    std::uniform_int_distribution<uint64_t> pick(0, 99'999);
    const std::string hot_key = "counter:hot";
    uint64_t hot_at = 0;
    uint64_t cold_reads_after_hot = 0;
    uint64_t i = 0;
    for (; at(i, per_second) < start_ms + 3000; ++i) {
        if (i % 20 != 0) {
            record(sketch, key_name(pick(rng)), at(i, per_second));
        } else if (record(sketch, hot_key, at(i, per_second))) {
            if (hot_at == 0) hot_at = at(i, per_second);
        } else if (hot_at != 0) {
            ++cold_reads_after_hot;
        }
    }
    REQUIRE(hot_at != 0);
    CHECK(hot_at - start_ms < window_ms / 10);
    CHECK(cold_reads_after_hot == 0);
    const uint64_t last_read = at(i - 1, per_second);
    CHECK(reported(sketch, hot_key, last_read));

    for (const uint64_t windows : {2, 4}) {
        for (; at(i, per_second) < last_read + windows * window_ms; ++i) {
            record(sketch, key_name(pick(rng)), at(i, per_second));
        }
        CAPTURE(windows);
        CHECK_FALSE(reported(sketch, hot_key, last_read + windows * window_ms));
    }
    CHECK_FALSE(record(sketch, hot_key, last_read + 4 * window_ms));
}

TEST_CASE("hot key sketch: a key turning hot among hot keys is found within one window") {
    constexpr uint64_t per_second = 20'000;
    constexpr uint64_t window_ms = 1000;
    constexpr double hot_rate = 100;
    // 5 keys at 3x hot_rate and 10 warm keys at hot_rate/2 over 8 slots: the table is full.
    HotKeySketch sketch(8, window_ms, hot_rate);
    std::vector<std::string> hot, warm;
    for (int k = 0; k < 5; ++k) hot.push_back("hot:" + std::to_string(k));
    for (int k = 0; k < 10; ++k) warm.push_back("warm:" + std::to_string(k));
    const std::string late = "late";
    std::mt19937_64 rng(11);
    std::uniform_int_distribution<uint64_t> pick(0, 99'999);
    std::uniform_int_distribution<uint64_t> slot(0, per_second - 1);

    const uint64_t late_start = start_ms + 3000;
    uint64_t late_hot_at = 0;
    uint64_t i = 0;
    for (; at(i, per_second) < late_start + 2 * window_ms; ++i) {
        const uint64_t now = at(i, per_second);
        // Per second: 300 reads of each hot key, 50 of each warm key, and 300 of the late key
        // once it starts; the rest are distinct cold keys.
        const uint64_t s = slot(rng);
        if (s < 5 * 300) {
            record(sketch, hot[s / 300], now);
        } else if (s < 5 * 300 + 10 * 50) {
            record(sketch, warm[(s - 5 * 300) / 50], now);
        } else if (s < 5 * 300 + 10 * 50 + 300 && now >= late_start) {
            if (record(sketch, late, now) && late_hot_at == 0) late_hot_at = now;
        } else {
            record(sketch, key_name(pick(rng)), now);
        }
    }
    REQUIRE(late_hot_at != 0);
    CHECK(late_hot_at - late_start <= window_ms);
    const uint64_t now = at(i, per_second);
    for (const std::string& key : hot) CHECK(reported(sketch, key, now));
    CHECK(reported(sketch, late, now));
    for (const std::string& key : warm) CHECK_FALSE(reported(sketch, key, now));
}

TEST_CASE("hot key sketch: no more keys are hot than the capacity") {
    constexpr uint64_t per_second = 10'000;
    HotKeySketch sketch(4, 1000, 100);
    CHECK(sketch.capacity() == 4);
    std::vector<std::string> keys;
    for (int k = 0; k < 10; ++k) keys.push_back("hot:" + std::to_string(k));
    std::mt19937_64 rng(5);
    std::uniform_int_distribution<size_t> pick(0, keys.size() * 2 - 1);  // each key 500/s, the rest cold
    size_t most = 0;
    for (uint64_t i = 0; i < 10 * per_second; ++i) {
        const size_t k = pick(rng);
        record(sketch, k < keys.size() ? keys[k] : key_name(i), at(i, per_second));
        if (i % 100 != 0) continue;
        const std::vector<HotKeySketch::HotKey> hot = sketch.hot_keys(at(i, per_second));
        most = std::max(most, hot.size());
        CHECK(hot.size() <= 4);
        CHECK(std::is_sorted(hot.begin(), hot.end(), [](const HotKeySketch::HotKey& a, const HotKeySketch::HotKey& b) {
            return a.rate > b.rate;
        }));
    }
    CHECK(most == 4);
}

TEST_CASE("hot key sketch: keys longer than 250 bytes are never tracked") {
    HotKeySketch sketch(8, 1000, 10);
    const std::string longest(250, 'k');
    const std::string too_long(251, 'k');
    bool longest_hot = false;
    bool too_long_hot = false;
    for (uint64_t ms = 0; ms < 2000; ++ms) {
        longest_hot = record(sketch, longest, start_ms + ms);
        too_long_hot = too_long_hot || record(sketch, too_long, start_ms + ms);
    }
    CHECK(longest_hot);
    CHECK_FALSE(too_long_hot);
}
