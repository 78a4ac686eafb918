#include "proxy/hot_keys.h"

#include <hiredis/hiredis.h>

#include <ctime>

#include "proxy/client_session.h"
#include "proxy/reply_slot.h"

namespace shardproxy::proxy {
namespace {

// Error replies are passed on but never kept: the next read asks again.
bool is_error_reply(std::string_view reply) {
    return reply.starts_with('-') || reply.starts_with("SERVER_ERROR") || reply.starts_with("CLIENT_ERROR") ||
           reply.starts_with("ERROR");
}

}  // namespace

uint64_t coarse_monotonic_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

void PendingRead::join(ReplySlot* slot) {
    slot->add_ref();
    waiters_.push_back(slot);
}

void PendingRead::on_reply_bytes(uint32_t, evbuffer* from, size_t length) {
    reply_.resize(length);
    evbuffer_remove(from, reply_.data(), length);
    owner_.finish(*this);
    for (ReplySlot* slot : waiters_) {
        // A session that closes while being answered clears the session of its other slots.
        if (slot->session != nullptr) {
            evbuffer_add(slot->reply, reply_.data(), reply_.size());
            slot->session->on_slot_done(slot);
        }
        slot->release();
    }
    waiters_.clear();
}

void PendingRead::on_reply_object(uint32_t, redisReply* reply) { freeReplyObject(reply); }

void PendingRead::on_failure(uint32_t, std::string_view error) {
    reply_.clear();
    owner_.finish(*this);
    for (ReplySlot* slot : waiters_) {
        if (slot->session != nullptr) slot->session->on_reply_error(slot, error);
        slot->release();
    }
    waiters_.clear();
}

void PendingRead::release() { owner_.recycle(this); }

HotKeys::HotKeys(const conf::PoolConfig& pool, uint32_t worker, uint32_t workers, HotKeyBoard& board,
                 event_base* base, const std::vector<std::shared_ptr<const backends::BackendEndpoint>>& endpoints)
    : config_(pool.hotkey),
      worker_(worker),
      spreads_(pool.hotkey.spread_replicas && pool.replicas > 1 && pool.on_down == conf::OnDown::failover),
      board_(board),
      counters_(board.counters(worker)),
      sketch_(pool.hotkey.tracked_keys, pool.hotkey.window_ms, static_cast<double>(pool.hotkey.min_rate) / workers) {
    if (!config_.near_cache) return;
    cache_.emplace(config_.max_bytes / workers, config_.ttl_ms);
    if (config_.invalidation != conf::Invalidation::tracking) return;
    for (const auto& endpoint : endpoints) {
        tracking_.push_back(std::make_unique<backends::TrackingConnection>(base, *endpoint, *this));
    }
}

// The tracking connections go first: closing them fails their reads, which come back here.
HotKeys::~HotKeys() { tracking_.clear(); }

bool HotKeys::record(std::string_view key) {
    hash_ = routing::key_hash(key);
    now_ms_ = coarse_monotonic_ms();
    if (!sketch_.record(key, hash_, now_ms_)) return false;
    HotKeyCounters::bump(counters_.hot_reads);
    return true;
}

HotKeys::Read HotKeys::look_up(std::string_view signature, std::string_view key, bool own_writes_pending) {
    // On the client's own connection, the normal path follows the client's writes.
    if (own_writes_pending) return {};
    version_ = board_.versions.snapshot(hash_);
    if (!cache_ && !config_.coalesce) return {spreads_ ? Read::Kind::spread : Read::Kind::normal};
    lookup_.assign(signature).append(key);
    if (cache_) {
        if (const std::string* reply = cache_->find(lookup_, version_, now_ms_)) {
            HotKeyCounters::bump(counters_.cache_hits);
            return {Read::Kind::cached, reply};
        }
    }
    if (config_.coalesce) {
        const auto found = in_flight_.find(lookup_);
        if (found != in_flight_.end() && found->second->version_ == version_) {
            HotKeyCounters::bump(counters_.coalesced);
            return {Read::Kind::in_flight, nullptr, found->second};
        }
    }
    return {Read::Kind::fill};
}

PendingRead& HotKeys::start_fill() {
    PendingRead* read;
    if (free_reads_.empty()) {
        reads_.push_back(std::make_unique<PendingRead>(*this));
        read = reads_.back().get();
    } else {
        read = free_reads_.back();
        free_reads_.pop_back();
    }
    read->lookup_ = lookup_;
    read->hash_ = hash_;
    read->version_ = version_;
    if (config_.coalesce) {
        // A read of an older version may still be in flight; new requests join this one.
        if (const auto older = in_flight_.find(read->lookup_); older != in_flight_.end()) {
            older->second->in_flight_map_ = false;
            in_flight_.erase(older);
        }
        in_flight_.emplace(read->lookup_, read);
        read->in_flight_map_ = true;
    }
    HotKeyCounters::bump(counters_.fills);
    return *read;
}

backends::TrackingConnection* HotKeys::tracking(uint32_t server) const {
    backends::TrackingConnection* connection = tracking_[server].get();
    return connection->ready() ? connection : nullptr;
}

void HotKeys::finish(PendingRead& read) {
    if (read.in_flight_map_) {
        in_flight_.erase(read.lookup_);
        read.in_flight_map_ = false;
    }
    if (!cache_ || read.reply_.empty() || is_error_reply(read.reply_)) return;
    // A write answered or an invalidation since the read was sent: what it read may be old.
    if (board_.versions.snapshot(read.hash_) != read.version_) return;
    cache_->store(read.lookup_, read.reply_, read.version_, coarse_monotonic_ms());
}

void HotKeys::recycle(PendingRead* read) { free_reads_.push_back(read); }

void HotKeys::publish() {
    const uint64_t now = coarse_monotonic_ms();
    std::vector<HotKeyReport> keys;
    for (routing::HotKeySketch::HotKey& hot : sketch_.hot_keys(now)) keys.push_back({std::move(hot.key), hot.rate});
    board_.publish(worker_, std::move(keys));
    if (cache_) {
        counters_.cache_entries.store(cache_->entries(), std::memory_order_relaxed);
        counters_.cache_bytes.store(cache_->bytes(), std::memory_order_relaxed);
        counters_.cache_evictions.store(cache_->evictions(), std::memory_order_relaxed);
    }
}

void HotKeys::on_invalidate(std::string_view key) {
    board_.versions.bump(routing::key_hash(key));
    HotKeyCounters::bump(counters_.invalidations);
}

void HotKeys::on_invalidate_all() { board_.versions.bump_all(); }

}  // namespace shardproxy::proxy
