#include "proxy/reply_slot.h"

#include <hiredis/hiredis.h>

#include "proxy/client_session.h"

namespace shardproxy::proxy {

ReplySlot::ReplySlot(SlotPool& pool) : reply(evbuffer_new()), pool_(pool) {}

ReplySlot::~ReplySlot() { evbuffer_free(reply); }

backends::DirectReply ReplySlot::claim_direct(uint32_t) {
    if (fan_out || inspect_reply || session == nullptr) return {};
    return session->claim_direct_reply(this);
}

void ReplySlot::on_reply_bytes(uint32_t child, evbuffer* from, size_t length) {
    if (fan_out) {
        fan_out->set_reply_bytes(child, from, length);
        finish_fan_out_if_ready();
        return;
    }
    if (session == nullptr) {
        evbuffer_drain(from, length);
        return;
    }
    session->on_reply_bytes(this, from, length);
}

void ReplySlot::on_reply_object(uint32_t child, redisReply* object) {
    if (!fan_out) {  // only fan-out children ask for parsed replies
        freeReplyObject(object);
        return;
    }
    fan_out->set_reply_object(child, object);
    finish_fan_out_if_ready();
}

void ReplySlot::on_failure(uint32_t child, std::string_view error) {
    if (fan_out) {
        fan_out->set_error(child, std::string(error));
        finish_fan_out_if_ready();
        return;
    }
    if (session != nullptr) session->on_reply_error(this, error);
}

// The fan-out stays with the slot until the slot is recycled: children that answer after the
// client was answered (replica writes) still need it to take their replies.
void ReplySlot::finish_fan_out_if_ready() {
    if (done || !fan_out->ready() || session == nullptr) return;
    fan_out->merge(reply);
    session->on_slot_done(this);
}

void ReplySlot::release() {
    if (--refs_ == 0) pool_.recycle(this);
}

SlotPool::~SlotPool() {
    for (ReplySlot* slot : free_) delete slot;
}

ReplySlot* SlotPool::acquire(ClientSession* session) {
    ReplySlot* slot;
    if (free_.empty()) {
        slot = new ReplySlot(*this);
    } else {
        slot = free_.back();
        free_.pop_back();
    }
    slot->session = session;
    slot->add_ref();
    return slot;
}

void SlotPool::recycle(ReplySlot* slot) {
    slot->next = nullptr;
    slot->session = nullptr;
    slot->fan_out.reset();
    slot->inspect_reply = false;
    slot->request_kind = 0;
    slot->done = false;
    for (const WriteGuard& guard : slot->write_guards) guard.bump();
    slot->write_guards.clear();
    evbuffer_drain(slot->reply, evbuffer_get_length(slot->reply));
    free_.push_back(slot);
}

}  // namespace shardproxy::proxy
