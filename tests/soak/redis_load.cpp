// Redis load for the soak: SET/GET or MSET/MGET over the thread's keys, each write followed by a
// read of the same keys, one command at a time or pipelined, every reply judged by the ledger.
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "ledger.h"
#include "loads.h"
#include "support/processes.h"

namespace shardproxy::soak {

using testing::Client;
using testing::describe;
using testing::ReplyPtr;

namespace {

// One write command and the read that follows it, over keys [first, first + count).
struct Group {
    size_t first;
    size_t count;
    std::vector<uint64_t> seqs;
};

bool is_backend_error(const redisReply* reply) {
    return reply->type == REDIS_REPLY_ERROR && std::string_view(reply->str, reply->len).starts_with("ERR backend ");
}

void judge_write(const redisReply* reply, KeyLedger& ledger, const Group& group, Tally& tally) {
    const bool ok = reply->type == REDIS_REPLY_STATUS && std::string_view(reply->str, reply->len) == "OK";
    for (size_t k = 0; k < group.count; ++k) {
        if (ok) {
            ledger.acknowledged(group.first + k, group.seqs[k]);
        } else {
            ledger.failed(group.first + k, group.seqs[k]);
        }
    }
    if (ok) return tally.ok();
    if (is_backend_error(reply)) return tally.error(describe(reply));
    tally.verdict(Verdict::mismatch, "write of " + ledger.key(group.first) + " got " + describe(reply));
}

void judge_value(const redisReply* value, KeyLedger& ledger, size_t key, Tally& tally) {
    std::optional<std::string_view> got;
    if (value->type == REDIS_REPLY_STRING) {
        got = std::string_view(value->str, value->len);
    } else if (value->type != REDIS_REPLY_NIL) {
        return tally.verdict(Verdict::mismatch, "read of " + ledger.key(key) + " got " + describe(value));
    }
    const Verdict verdict = ledger.check(key, got);
    if (verdict == Verdict::ok) return tally.ok();
    tally.verdict(verdict,
                  "read of " + ledger.key(key) + " got " + describe(value).substr(0, 60) + " (" + ledger.history(key) + ")",
                  ledger.key(key));
}

void judge_read(const redisReply* reply, KeyLedger& ledger, const Group& group, bool multi, Tally& tally) {
    if (is_backend_error(reply)) return tally.error(describe(reply));
    if (!multi) return judge_value(reply, ledger, group.first, tally);
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != group.count) {
        return tally.verdict(Verdict::mismatch, "MGET from " + ledger.key(group.first) + " got " + describe(reply));
    }
    for (size_t k = 0; k < group.count; ++k) judge_value(reply->element[k], ledger, group.first + k, tally);
}

}  // namespace

void run_redis_load(int port, const LoadShape& shape, const std::string& prefix, int keys,
                    const std::atomic<bool>& stop, Tally& tally) {
    KeyLedger ledger(prefix, keys);
    const bool multi = shape.keys_per_command > 1;
    const auto per_command = static_cast<size_t>(shape.keys_per_command);
    std::unique_ptr<Client> client;
    size_t next_key = 0;
    while (!stop.load(std::memory_order_relaxed)) {
        if (!client) {
            try {
                client = std::make_unique<Client>(port, 5000);
            } catch (const std::exception& e) {
                tally.dropped(e.what());
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                continue;
            }
        }
        std::vector<Group> groups;
        std::vector<std::vector<std::string>> commands;
        for (int g = 0; g < shape.groups_per_batch; ++g) {
            if (next_key + per_command > ledger.size()) next_key = 0;
            Group group{next_key, per_command, {}};
            next_key += per_command;
            std::vector<std::string> write{multi ? "MSET" : "SET"};
            std::vector<std::string> read{multi ? "MGET" : "GET"};
            for (size_t k = group.first; k < group.first + group.count; ++k) {
                const uint64_t seq = ledger.next_write(k);
                group.seqs.push_back(seq);
                write.push_back(ledger.key(k));
                write.push_back(ledger.value(k, seq));
                read.push_back(ledger.key(k));
            }
            commands.push_back(std::move(write));
            commands.push_back(std::move(read));
            groups.push_back(std::move(group));
        }
        std::vector<ReplyPtr> replies;
        if (shape.pipelined) {
            replies = client->pipeline(commands);
        } else {
            for (const auto& command : commands) {
                replies.push_back(client->command(command));
                if (!replies.back()) break;
            }
        }
        for (size_t c = 0; c < commands.size(); ++c) {
            const Group& group = groups[c / 2];
            if (c >= replies.size() || !replies[c]) {
                tally.dropped(commands[c][0] + " " + commands[c][1] + ": " + client->context()->errstr);
                // Writes left unanswered may have been applied.
                for (size_t w = c + c % 2; w < commands.size(); w += 2) {
                    const Group& unanswered = groups[w / 2];
                    for (size_t k = 0; k < unanswered.count; ++k) {
                        ledger.failed(unanswered.first + k, unanswered.seqs[k]);
                    }
                }
                client.reset();
                break;
            }
            if (c % 2 == 0) {
                judge_write(replies[c].get(), ledger, group, tally);
            } else {
                judge_read(replies[c].get(), ledger, group, multi, tally);
            }
        }
    }
}

}  // namespace shardproxy::soak
