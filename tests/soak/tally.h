#pragma once
// What one load saw: replies checked and how each was judged. Written by the load's thread,
// read by the reporter while the load runs, hence atomics.
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "ledger.h"

namespace shardproxy::soak {

class Tally {
public:
    explicit Tally(std::string name) : name_(std::move(name)) {}

    const std::string& name() const { return name_; }

    void ok() { ok_.fetch_add(1, std::memory_order_relaxed); }
    // An error reply naming a backend: expected while a server is killed.
    void error(const std::string& text) {
        if (errors_.fetch_add(1, std::memory_order_relaxed) < kErrorExamplesKept) example("error: " + text);
    }
    // Asked right away, for the report, what the backends themselves hold for a key that was
    // judged lost or mismatched.
    void set_inspector(std::function<std::string(const std::string& key)> inspector) {
        inspector_ = std::move(inspector);
    }

    void verdict(Verdict verdict, const std::string& what, const std::string& key = "") {
        if (verdict == Verdict::ok) return ok();
        std::atomic<uint64_t>& counter = verdict == Verdict::lost ? lost_ : mismatched_;
        counter.fetch_add(1, std::memory_order_relaxed);
        const std::string held = inspector_ && !key.empty() ? "; the servers hold " + inspector_(key) : "";
        example((verdict == Verdict::lost ? "LOST: " : "MISMATCH: ") + what + held);
    }
    // The proxy closed the client's connection, or a reply could not be read at all.
    void dropped(const std::string& what) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        example("DROPPED: " + what);
    }

    uint64_t oks() const { return ok_.load(std::memory_order_relaxed); }
    uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }
    uint64_t lost() const { return lost_.load(std::memory_order_relaxed); }
    uint64_t mismatched() const { return mismatched_.load(std::memory_order_relaxed); }
    uint64_t drops() const { return dropped_.load(std::memory_order_relaxed); }
    uint64_t replies() const { return oks() + errors() + lost() + mismatched(); }
    std::vector<std::string> examples() const {
        const std::lock_guard lock(mutex_);
        return examples_;
    }

private:
    static constexpr uint64_t kErrorExamplesKept = 2;
    static constexpr size_t kExamplesKept = 8;

    void example(std::string text) {
        const std::lock_guard lock(mutex_);
        if (examples_.size() < kExamplesKept) examples_.push_back(std::move(text));
    }

    std::string name_;
    std::function<std::string(const std::string&)> inspector_;
    std::atomic<uint64_t> ok_{0};
    std::atomic<uint64_t> errors_{0};
    std::atomic<uint64_t> lost_{0};
    std::atomic<uint64_t> mismatched_{0};
    std::atomic<uint64_t> dropped_{0};
    mutable std::mutex mutex_;
    std::vector<std::string> examples_;
};

}  // namespace shardproxy::soak
