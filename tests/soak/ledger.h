#pragma once
// What one load thread wrote to each of its keys, and the verdict on what a read returned.
// Every key belongs to one thread, which waits for a write's reply before writing the key
// again, so the ledger knows exactly which values a read may legitimately return.
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shardproxy::soak {

enum class Verdict {
    ok,
    lost,      // a miss, or an older value, where an acknowledged write should be
    mismatch,  // a value this key was never given: another request's reply
};

class KeyLedger {
public:
    KeyLedger(const std::string& prefix, int keys) {
        for (int i = 0; i < keys; ++i) keys_.push_back({prefix + ":" + std::to_string(i)});
    }

    size_t size() const { return keys_.size(); }
    const std::string& key(size_t i) const { return keys_[i].name; }

    // The next write's sequence number for key i, and the value that carries it.
    uint64_t next_write(size_t i) { return ++keys_[i].issued; }
    std::string value(size_t i, uint64_t seq) const { return value_for(keys_[i].name, seq); }

    // "acknowledged N, failed since: M..." for a report.
    std::string history(size_t i) const {
        std::string text = "acknowledged " + std::to_string(keys_[i].acknowledged);
        if (!keys_[i].failed.empty()) {
            text += ", failed";
            for (uint64_t seq : keys_[i].failed) text += " " + std::to_string(seq);
        }
        return text;
    }

    void acknowledged(size_t i, uint64_t seq) { keys_[i].acknowledged = seq; }
    // A failed write may still have reached some replicas, so a read may return it later.
    void failed(size_t i, uint64_t seq) {
        auto& failed = keys_[i].failed;
        if (failed.size() == kFailedKept) failed.erase(failed.begin());
        failed.push_back(seq);
    }

    Verdict check(size_t i, const std::optional<std::string_view>& got) const {
        const Key& key = keys_[i];
        if (!got) return key.acknowledged == 0 ? Verdict::ok : Verdict::lost;
        const std::string_view text = *got;
        if (!text.starts_with(key.name) || text.size() <= key.name.size() || text[key.name.size()] != '|') {
            return Verdict::mismatch;
        }
        uint64_t seq = 0;
        const char* digits = text.data() + key.name.size() + 1;
        const auto [end, error] = std::from_chars(digits, text.data() + text.size(), seq);
        if (error != std::errc() || seq == 0 || seq > key.issued || text != value_for(key.name, seq)) {
            return Verdict::mismatch;
        }
        if (seq == key.acknowledged) return Verdict::ok;
        for (uint64_t failed : key.failed) {
            if (failed == seq) return Verdict::ok;
        }
        return seq < key.acknowledged ? Verdict::lost : Verdict::mismatch;
    }

private:
    // A few failed writes per key are remembered: one that timed out may still be applied after
    // the next write was acknowledged (a new connection), though none is expected.
    static constexpr size_t kFailedKept = 8;

    struct Key {
        std::string name;
        uint64_t issued = 0;
        uint64_t acknowledged = 0;
        std::vector<uint64_t> failed;
    };

    // "KEY|SEQ|" and a filler whose length varies with the sequence number (0 to 3 KiB), so
    // replies of many sizes cross the proxy; it never holds CR or LF.
    static std::string value_for(const std::string& key, uint64_t seq) {
        std::string value = key + "|" + std::to_string(seq) + "|";
        const size_t filler = (seq * 2654435761u) % 3072;
        value.append(filler, static_cast<char>('a' + seq % 26));
        return value;
    }

    std::vector<Key> keys_;
};

}  // namespace shardproxy::soak
