#pragma once
// One worker's hot-key detector for one pool: which keys this worker reads at least hot_rate
// times a second. It sees every read of the pool, so a read costs O(1) expected work and copies
// no key unless the key is a candidate; the table allocates only the first time a slot holds a
// key longer than std::string's inline buffer. Owned by one worker thread, not thread-safe.
//
// Two stages. A count-min sketch (4 rows of 4096 saturating 32-bit counters, conservative
// update) counts every read by hash alone. A key is admitted to the table only once its estimate
// reaches a quarter of the reads a hot key gets in one window, and the mean counter of a row (an
// estimate under it may be collisions alone), so a flood of distinct cold keys stays in the
// sketch. The table follows up to `capacity` admitted keys with Space-Saving: when it is full,
// an admitted key takes the slot of the key with the fewest reads and inherits that count as its
// error. It does so only when its sketch estimate exceeds that count (as TinyLFU admits), so
// candidates colder than every tracked key neither copy their key nor evict anyone. The fewest
// reads are at the top of a min-heap, so a replacement costs O(log capacity).
//
// Decay. Windows are window_ms long and turn lazily, on the first record() past the boundary; a
// turn is one pass over the sketch and the table. The sketch halves every counter then: it only
// admits, and halved counts stay on the scale of a table entry's two windows. Table entries keep
// their reads in the current and the previous window instead, so that a key that stops being
// read is cold within two windows however hot it was (under halving, a key read at 2^n times
// hot_rate would stay hot for n windows).
//
// Rate. An entry's reads/s use only what it certainly saw, count minus error (its own reads
// since admission), so keys passing through in a flood never look hot. With f the elapsed part
// of the current window, the reads of the last window_ms are estimated as prev·(1−f) + cur and
// divided by the time the entry was tracked within that span, weighted the same way. That time
// is taken as at least half a window, so that a few reads just after admission are no high rate.
// A key read at 10× hot_rate is admitted after 1/40 of a window and hot 1/20 of a window later;
// the rate of a key read steadily for two windows is unbiased.
//
// Memory is fixed by capacity, whatever the key space: 64 KiB of sketch, plus per slot an
// 88-byte entry, at most 251 bytes of key (longer keys are never tracked), fewer than four
// 16-byte index slots and a heap slot: under 64 KiB + capacity × 450 bytes.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shardproxy::routing {

class HotKeySketch {
public:
    static constexpr size_t kMaxKeyBytes = 250;

    // capacity: keys tracked at most; window_ms: decay period; hot_rate: reads/s at or above
    // which a key counts as hot in this instance.
    HotKeySketch(uint32_t capacity, uint32_t window_ms, double hot_rate);

    // Counts one read of `key` (hash: a 64-bit hash of the key, computed once by the caller; it
    // is re-mixed, so a weak or 32-bit hash is fine) at time now_ms (monotonic milliseconds);
    // returns whether the key is hot now.
    bool record(std::string_view key, uint64_t hash, uint64_t now_ms);

    struct HotKey {
        std::string key;
        double rate;
    };
    // The keys hot at now_ms (not before the last record()), hottest first, with their estimated
    // rates (allocates; for stats).
    std::vector<HotKey> hot_keys(uint64_t now_ms) const;

    uint32_t capacity() const { return capacity_; }

private:
    struct Entry {
        uint64_t hash;
        uint64_t admitted_ms;
        // Reads in the previous and the current window, inherited error included.
        uint64_t prev;
        uint64_t cur;
        uint64_t prev_error;
        uint64_t cur_error;
        uint32_t heap_pos;
        std::string key;

        uint64_t weight() const { return prev + cur; }
    };
    struct Slot {
        uint64_t hash;
        uint32_t entry;  // kEmpty when free
    };
    static constexpr uint32_t kEmpty = UINT32_MAX;

    uint32_t sketch_count(uint64_t mixed);
    void turn_window(uint64_t now_ms);
    // The entry now holding the key, or kEmpty when the table keeps its keys.
    uint32_t admit(std::string_view key, uint64_t mixed, uint32_t estimate, uint64_t now_ms);
    double rate(const Entry& entry, uint64_t now_ms) const;

    size_t home(uint64_t mixed) const;
    uint32_t find(std::string_view key, uint64_t mixed) const;
    void index_insert(uint64_t mixed, uint32_t entry);
    void index_erase(uint64_t mixed, uint32_t entry);

    void heap_swap(uint32_t a, uint32_t b);
    void sift_down(uint32_t pos);
    void sift_up(uint32_t pos);

    uint32_t capacity_;
    uint32_t window_ms_;
    double hot_rate_;
    uint32_t admit_count_;
    uint64_t window_start_ = 0;
    std::vector<uint32_t> sketch_;
    uint64_t sketch_reads_ = 0;  // reads counted by the sketch, halved with it
    std::vector<Entry> entries_;  // reserved to capacity, so entries never move
    std::vector<uint32_t> heap_;  // entry ids, min-heap by weight
    std::vector<Slot> index_;     // open addressing, linear probing, at most half full
    uint32_t index_shift_;
};

}  // namespace shardproxy::routing
