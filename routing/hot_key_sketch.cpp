#include "routing/hot_key_sketch.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace shardproxy::routing {
namespace {

constexpr uint32_t rows = 4;
constexpr uint32_t row_bits = 12;
constexpr uint32_t row_width = 1u << row_bits;
constexpr uint32_t counter_max = std::numeric_limits<uint32_t>::max();

// murmur3's finalizer: every row and the index need well-spread bits, whatever hash the caller has.
uint64_t remix(uint64_t hash) {
    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdull;
    hash ^= hash >> 33;
    hash *= 0xc4ceb9fe1a85ec53ull;
    hash ^= hash >> 33;
    return hash;
}

}  // namespace

HotKeySketch::HotKeySketch(uint32_t capacity, uint32_t window_ms, double hot_rate)
    : capacity_(capacity),
      window_ms_(std::max(window_ms, 1u)),
      hot_rate_(hot_rate),
      sketch_(rows * row_width, 0) {
    const double hot_count = hot_rate * window_ms_ / 1000.0;
    admit_count_ = static_cast<uint32_t>(std::clamp(std::ceil(hot_count / 4), 1.0, double{counter_max}));
    entries_.reserve(capacity_);
    heap_.reserve(capacity_);
    const uint64_t index_size = std::bit_ceil(2 * uint64_t{std::max(capacity_, 1u)});
    index_.assign(index_size, Slot{0, kEmpty});
    index_shift_ = 64 - static_cast<uint32_t>(std::countr_zero(index_size));
}

bool HotKeySketch::record(std::string_view key, uint64_t hash, uint64_t now_ms) {
    if (key.size() > kMaxKeyBytes) return false;
    if (now_ms >= window_start_ + window_ms_) turn_window(now_ms);
    const uint64_t mixed = remix(hash);
    const uint32_t estimate = sketch_count(mixed);
    uint32_t id = find(key, mixed);
    if (id == kEmpty) {
        // Under the mean counter of a row, the estimate may be collisions alone: with many
        // distinct keys that is what keeps every one of them out of the table.
        if (estimate < admit_count_ || uint64_t{estimate} * row_width < sketch_reads_) return false;
        id = admit(key, mixed, estimate, now_ms);
        if (id == kEmpty) return false;
    } else {
        ++entries_[id].cur;
        sift_down(entries_[id].heap_pos);
    }
    return rate(entries_[id], now_ms) >= hot_rate_;
}

std::vector<HotKeySketch::HotKey> HotKeySketch::hot_keys(uint64_t now_ms) const {
    std::vector<HotKey> hot;
    for (const Entry& entry : entries_) {
        if (const double r = rate(entry, now_ms); r >= hot_rate_) hot.push_back({entry.key, r});
    }
    std::sort(hot.begin(), hot.end(), [](const HotKey& a, const HotKey& b) { return a.rate > b.rate; });
    return hot;
}

// Conservative update: only the counters at the key's minimum grow, which keeps keys that share
// one counter with a busy key from inheriting its count.
uint32_t HotKeySketch::sketch_count(uint64_t mixed) {
    ++sketch_reads_;
    uint32_t* counters[rows];
    uint32_t least = counter_max;
    for (uint32_t row = 0; row < rows; ++row) {
        counters[row] = &sketch_[row * row_width + ((mixed >> (row * 16)) & (row_width - 1))];
        least = std::min(least, *counters[row]);
    }
    if (least == counter_max) return least;
    for (uint32_t* counter : counters) *counter = std::max(*counter, least + 1);
    return least + 1;
}

void HotKeySketch::turn_window(uint64_t now_ms) {
    const uint64_t turns = (now_ms - window_start_) / window_ms_;
    window_start_ += turns * window_ms_;
    if (turns >= 32) {
        std::fill(sketch_.begin(), sketch_.end(), 0);
        sketch_reads_ = 0;
    } else {
        for (uint32_t& counter : sketch_) counter >>= turns;
        sketch_reads_ >>= turns;
    }
    for (Entry& entry : entries_) {
        if (turns == 1) {
            entry.prev = entry.cur;
            entry.prev_error = entry.cur_error;
        } else {
            entry.prev = 0;
            entry.prev_error = 0;
        }
        entry.cur = 0;
        entry.cur_error = 0;
    }
    for (uint32_t pos = static_cast<uint32_t>(heap_.size() / 2); pos-- > 0;) sift_down(pos);
}

uint32_t HotKeySketch::admit(std::string_view key, uint64_t mixed, uint32_t estimate, uint64_t now_ms) {
    uint32_t id;
    if (entries_.size() < capacity_) {
        id = static_cast<uint32_t>(entries_.size());
        entries_.push_back(Entry{mixed, now_ms, 0, 1, 0, 0, static_cast<uint32_t>(heap_.size()), {}});
        heap_.push_back(id);
        sift_up(entries_[id].heap_pos);
    } else {
        if (capacity_ == 0) return kEmpty;
        id = heap_.front();
        Entry& victim = entries_[id];
        if (estimate <= victim.weight()) return kEmpty;
        index_erase(victim.hash, id);
        victim.hash = mixed;
        victim.admitted_ms = now_ms;
        victim.prev_error = victim.prev;
        victim.cur_error = victim.cur;
        ++victim.cur;
        sift_down(0);
    }
    Entry& entry = entries_[id];
    // One reservation of the longest key a slot may hold, so that later keys never reallocate.
    if (key.size() > entry.key.capacity()) entry.key.reserve(kMaxKeyBytes);
    entry.key.assign(key);
    index_insert(mixed, id);
    return id;
}

double HotKeySketch::rate(const Entry& entry, uint64_t now_ms) const {
    const double window = window_ms_;
    double start = static_cast<double>(window_start_);
    double prev = static_cast<double>(entry.prev - entry.prev_error);
    double cur = static_cast<double>(entry.cur - entry.cur_error);
    // hot_keys() may be asked past a boundary that no record() has turned yet.
    if (now_ms >= window_start_ + window_ms_) {
        if (now_ms >= window_start_ + 2ull * window_ms_) return 0;
        prev = cur;
        cur = 0;
        start += window;
    }
    const double now = std::max(static_cast<double>(now_ms), start);
    const double admitted = static_cast<double>(entry.admitted_ms);
    const double left_of_prev = 1 - (now - start) / window;
    const double tracked_in_prev = start - std::clamp(admitted, start - window, start);
    const double tracked_in_cur = now - std::clamp(admitted, start, now);
    const double reads = prev * left_of_prev + cur;
    const double tracked_ms = std::max(tracked_in_prev * left_of_prev + tracked_in_cur, window / 2);
    return reads * 1000 / tracked_ms;
}

size_t HotKeySketch::home(uint64_t mixed) const { return (mixed * 0x9e3779b97f4a7c15ull) >> index_shift_; }

uint32_t HotKeySketch::find(std::string_view key, uint64_t mixed) const {
    const size_t mask = index_.size() - 1;
    for (size_t pos = home(mixed);; pos = (pos + 1) & mask) {
        const Slot& slot = index_[pos];
        if (slot.entry == kEmpty) return kEmpty;
        if (slot.hash == mixed && entries_[slot.entry].key == key) return slot.entry;
    }
}

void HotKeySketch::index_insert(uint64_t mixed, uint32_t entry) {
    const size_t mask = index_.size() - 1;
    size_t pos = home(mixed);
    while (index_[pos].entry != kEmpty) pos = (pos + 1) & mask;
    index_[pos] = Slot{mixed, entry};
}

// Backward-shift deletion: later slots of the probe run move up, so lookups need no tombstones.
void HotKeySketch::index_erase(uint64_t mixed, uint32_t entry) {
    const size_t mask = index_.size() - 1;
    size_t hole = home(mixed);
    while (index_[hole].entry != entry) hole = (hole + 1) & mask;
    for (size_t pos = (hole + 1) & mask; index_[pos].entry != kEmpty; pos = (pos + 1) & mask) {
        if (((pos - home(index_[pos].hash)) & mask) >= ((pos - hole) & mask)) {
            index_[hole] = index_[pos];
            hole = pos;
        }
    }
    index_[hole].entry = kEmpty;
}

void HotKeySketch::heap_swap(uint32_t a, uint32_t b) {
    std::swap(heap_[a], heap_[b]);
    entries_[heap_[a]].heap_pos = a;
    entries_[heap_[b]].heap_pos = b;
}

void HotKeySketch::sift_down(uint32_t pos) {
    const auto size = static_cast<uint32_t>(heap_.size());
    for (;;) {
        uint32_t least = pos;
        for (uint32_t child = 2 * pos + 1; child <= 2 * pos + 2 && child < size; ++child) {
            if (entries_[heap_[child]].weight() < entries_[heap_[least]].weight()) least = child;
        }
        if (least == pos) return;
        heap_swap(pos, least);
        pos = least;
    }
}

void HotKeySketch::sift_up(uint32_t pos) {
    while (pos > 0) {
        const uint32_t parent = (pos - 1) / 2;
        if (entries_[heap_[parent]].weight() <= entries_[heap_[pos]].weight()) return;
        heap_swap(pos, parent);
        pos = parent;
    }
}

}  // namespace shardproxy::routing
