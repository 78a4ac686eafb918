// memcached load for the soak: set then get (one key, or several keys and one multi-key get) over
// the thread's keys, through libmemcached one request at a time or as raw pipelined text, every
// reply judged by the ledger.
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ledger.h"
#include "loads.h"
#include "support/memcache_client.h"

namespace shardproxy::soak {

using testing::McResult;
using testing::MemcacheClient;
using testing::MemcacheClientOptions;
using testing::RawConnection;

namespace {

constexpr int kReplyTimeoutMs = 5000;

// The proxy's backend errors are SERVER_ERROR lines naming the backend. libmemcached reports one
// as MEMCACHED_SERVER_ERROR for a storage command, but ends a get's fetch loop on it with NOT
// FOUND (a multi-key get: success), keeping the line only as the operation's error message.
// Anything else that is not an answer means the client lost the proxy.
enum class Outcome { answered, backend_error, dropped };

Outcome classify(const McResult& result) {
    if (result.error.find("SERVER ERROR, backend ") != std::string::npos) return Outcome::backend_error;
    if (result.ok() || result.rc == MEMCACHED_NOTFOUND) return Outcome::answered;
    return Outcome::dropped;
}

void judge_value(KeyLedger& ledger, size_t key, const std::optional<std::string_view>& got,
                 const std::string& context, Tally& tally) {
    const Verdict verdict = ledger.check(key, got);
    if (verdict == Verdict::ok) return tally.ok();
    tally.verdict(verdict,
                  context + " " + ledger.key(key) + " got " +
                      (got ? std::string(got->substr(0, got->find('|', ledger.key(key).size() + 1))) : "a miss") +
                      " (" + ledger.history(key) + ")",
                  ledger.key(key));
}

// One set (or several) then one get of the same keys, through libmemcached.
class LibmemcachedRound {
public:
    explicit LibmemcachedRound(int port) : port_(port) {}

    // False when the client lost the proxy.
    bool run(KeyLedger& ledger, size_t first, size_t count, Tally& tally) {
        if (!client_) {
            MemcacheClientOptions options;
            options.timeout_ms = kReplyTimeoutMs;
            client_ = std::make_unique<MemcacheClient>(port_, options);
        }
        for (size_t k = first; k < first + count; ++k) {
            const uint64_t seq = ledger.next_write(k);
            const McResult result = client_->set(ledger.key(k), ledger.value(k, seq));
            switch (classify(result)) {
                case Outcome::answered:
                    if (result.ok()) {
                        ledger.acknowledged(k, seq);
                        tally.ok();
                    } else {
                        ledger.failed(k, seq);
                        tally.verdict(Verdict::mismatch, "set " + ledger.key(k) + " got " + result.describe());
                    }
                    break;
                case Outcome::backend_error:
                    ledger.failed(k, seq);
                    tally.error(result.describe());
                    break;
                case Outcome::dropped:
                    ledger.failed(k, seq);
                    return lost("set " + ledger.key(k), result, tally);
            }
        }
        if (count == 1) {
            const auto got = client_->get(ledger.key(first));
            const Outcome outcome = classify(got);
            if (outcome == Outcome::dropped) return lost("get " + ledger.key(first), got, tally);
            if (outcome == Outcome::backend_error) {
                tally.error(got.describe());
                return true;
            }
            judge_value(ledger, first, got.value ? std::optional<std::string_view>(*got.value) : std::nullopt,
                        "get", tally);
            return true;
        }
        std::vector<std::string> keys;
        for (size_t k = first; k < first + count; ++k) keys.push_back(ledger.key(k));
        const auto got = client_->mget(keys);
        const Outcome outcome = classify(got);
        if (outcome == Outcome::dropped) return lost("multi-get from " + keys.front(), got, tally);
        if (outcome == Outcome::backend_error) {
            tally.error(got.describe());
            return true;
        }
        for (const auto& [key, value] : got.values) {
            if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
                tally.verdict(Verdict::mismatch, "multi-get from " + keys.front() + " returned key " + key);
            }
        }
        for (size_t k = first; k < first + count; ++k) {
            const auto found = got.values.find(ledger.key(k));
            judge_value(ledger, k, found == got.values.end() ? std::nullopt : std::optional<std::string_view>(found->second),
                        "multi-get", tally);
        }
        return true;
    }

private:
    bool lost(const std::string& what, const McResult& result, Tally& tally) {
        tally.dropped(what + ": " + result.describe());
        client_.reset();
        return false;
    }

    int port_;
    std::unique_ptr<MemcacheClient> client_;
};

// Every set and multi-key get of the batch in one write, then the replies read in order.
class PipelinedRound {
public:
    explicit PipelinedRound(int port) : port_(port) {}

    bool run(KeyLedger& ledger, const std::vector<std::pair<size_t, size_t>>& groups, Tally& tally) {
        if (!connection_ || !connection_->connected() || connection_->closed()) {
            connection_ = std::make_unique<RawConnection>(port_);
        }
        std::string batch;
        std::vector<std::vector<uint64_t>> seqs;
        for (const auto& [first, count] : groups) {
            seqs.emplace_back();
            std::string get = "get";
            for (size_t k = first; k < first + count; ++k) {
                const uint64_t seq = ledger.next_write(k);
                seqs.back().push_back(seq);
                const std::string value = ledger.value(k, seq);
                batch += "set " + ledger.key(k) + " 0 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\n";
                get += " " + ledger.key(k);
            }
            batch += get + "\r\n";
        }
        if (!connection_->send(batch)) return lost(ledger, groups, seqs, 0, "send failed", tally);
        for (size_t g = 0; g < groups.size(); ++g) {
            const auto [first, count] = groups[g];
            for (size_t k = 0; k < count; ++k) {
                const std::string line = connection_->read_until("\r\n", kReplyTimeoutMs);
                if (!line.ends_with("\r\n")) return lost(ledger, groups, seqs, g, "no reply to set", tally, k);
                if (line == "STORED\r\n") {
                    ledger.acknowledged(first + k, seqs[g][k]);
                    tally.ok();
                    continue;
                }
                ledger.failed(first + k, seqs[g][k]);
                if (line.starts_with("SERVER_ERROR backend ")) {
                    tally.error(line.substr(0, line.size() - 2));
                } else {
                    tally.verdict(Verdict::mismatch, "set " + ledger.key(first + k) + " got " + line);
                }
            }
            if (!read_get(ledger, first, count, tally)) return lost(ledger, groups, seqs, g + 1, "no reply to get", tally);
        }
        return true;
    }

private:
    // Reads one multi-key get's reply: VALUE blocks for the hits, in the keys' order, then END.
    bool read_get(KeyLedger& ledger, size_t first, size_t count, Tally& tally) {
        std::map<size_t, std::string> hits;
        size_t next = first;  // hits arrive in request order
        while (true) {
            const std::string line = connection_->read_until("\r\n", kReplyTimeoutMs);
            if (!line.ends_with("\r\n")) return false;
            if (line == "END\r\n") break;
            if (line.starts_with("SERVER_ERROR backend ")) {
                tally.error(line.substr(0, line.size() - 2));
                return true;
            }
            // VALUE KEY FLAGS BYTES
            const size_t key_end = line.find(' ', 6);
            if (!line.starts_with("VALUE ") || key_end == std::string::npos) {
                tally.verdict(Verdict::mismatch, "get from " + ledger.key(first) + " got " + line);
                return false;  // the stream can no longer be followed
            }
            const std::string key = line.substr(6, key_end - 6);
            const std::string data = connection_->read_until("\r\n", kReplyTimeoutMs);
            if (!data.ends_with("\r\n")) return false;
            while (next < first + count && ledger.key(next) != key) ++next;
            if (next == first + count) {
                tally.verdict(Verdict::mismatch, "get from " + ledger.key(first) + " returned key " + key);
                continue;
            }
            hits[next++] = data.substr(0, data.size() - 2);
        }
        for (size_t k = first; k < first + count; ++k) {
            const auto hit = hits.find(k);
            judge_value(ledger, k, hit == hits.end() ? std::nullopt : std::optional<std::string_view>(hit->second),
                        "pipelined get", tally);
        }
        return true;
    }

    // The connection broke down: writes from `group` on (from its set `set` on) may or may not
    // have been applied.
    bool lost(KeyLedger& ledger, const std::vector<std::pair<size_t, size_t>>& groups,
              const std::vector<std::vector<uint64_t>>& seqs, size_t group, const std::string& what,
              Tally& tally, size_t set = 0) {
        for (size_t g = group; g < groups.size(); ++g) {
            for (size_t k = g == group ? set : 0; k < groups[g].second; ++k) ledger.failed(groups[g].first + k, seqs[g][k]);
        }
        tally.dropped(what + " (pipelined batch from " + ledger.key(groups[std::min(group, groups.size() - 1)].first) + ")");
        connection_.reset();
        return false;
    }

    int port_;
    std::unique_ptr<RawConnection> connection_;
};

}  // namespace

void run_memcache_load(int port, const LoadShape& shape, const std::string& prefix, int keys,
                       const std::atomic<bool>& stop, Tally& tally) {
    KeyLedger ledger(prefix, keys);
    const auto per_command = static_cast<size_t>(shape.keys_per_command);
    LibmemcachedRound one_by_one(port);
    PipelinedRound pipelined(port);
    size_t next_key = 0;
    auto next_group = [&] {
        if (next_key + per_command > ledger.size()) next_key = 0;
        const std::pair<size_t, size_t> group{next_key, per_command};
        next_key += per_command;
        return group;
    };
    while (!stop.load(std::memory_order_relaxed)) {
        bool connected = true;
        if (shape.pipelined) {
            std::vector<std::pair<size_t, size_t>> groups;
            for (int g = 0; g < shape.groups_per_batch; ++g) groups.push_back(next_group());
            connected = pipelined.run(ledger, groups, tally);
        } else {
            const auto [first, count] = next_group();
            connected = one_by_one.run(ledger, first, count, tally);
        }
        if (!connected) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

}  // namespace shardproxy::soak
