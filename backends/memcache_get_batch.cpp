#include "backends/memcache_get_batch.h"

#include <charconv>

namespace shardproxy::backends {
namespace {

constexpr std::string_view kCrlf = "\r\n";
// "VALUE " + a 250-byte key + flags, length and cas: a VALUE line is far shorter than this.
constexpr size_t kMaxValueLine = 512;

}  // namespace

bool MemcacheGetBatch::accepts(std::string_view command, std::string_view key) const {
    if (assembling_ == 0) return true;
    return assembling_ < kMaxKeys && line_.size() + 1 + key.size() <= kMaxLineBytes &&
           line_.compare(0, command.size(), command) == 0 && line_[command.size()] == ' ';
}

void MemcacheGetBatch::add(std::string_view command, std::string_view key) {
    if (assembling_ == 0) line_.assign(command);
    line_.append(" ").append(key);
    ++assembling_;
    sent_keys_.append(key);
    sent_key_lengths_.push_back(static_cast<uint32_t>(key.size()));
}

void MemcacheGetBatch::emit(evbuffer* out) {
    if (assembling_ == 0) return;
    line_.append(kCrlf);
    evbuffer_add(out, line_.data(), line_.size());
    sent_sizes_.push_back(assembling_);
    assembling_ = 0;
    line_.clear();
}

size_t MemcacheGetBatch::next_member_block(evbuffer* in) {
    const uint32_t key_length = sent_key_lengths_.front();
    const std::string_view key(sent_keys_.data() + sent_keys_head_, key_length);
    sent_key_lengths_.pop_front();
    sent_keys_head_ += key_length;

    // The next line: "VALUE <key> <flags> <bytes>[ <cas>]" for a hit on this key.
    scratch_.resize(kMaxValueLine);
    const size_t copied = static_cast<size_t>(evbuffer_copyout(in, scratch_.data(), kMaxValueLine));
    const std::string_view head(scratch_.data(), copied);
    const size_t eol = head.find(kCrlf);
    if (eol == std::string_view::npos || !head.starts_with("VALUE ")) return 0;
    const std::string_view line = head.substr(0, eol);
    if (line.size() <= 6 + key.size() || line.substr(6, key.size()) != key || line[6 + key.size()] != ' ') {
        return 0;
    }
    // Skip the flags; the data length follows.
    const size_t flags_end = line.find(' ', 7 + key.size());
    if (flags_end == std::string_view::npos) return 0;
    uint64_t bytes = 0;
    const char* first = line.data() + flags_end + 1;
    const char* last = line.data() + line.size();
    const auto parsed = std::from_chars(first, last, bytes);
    if (parsed.ec != std::errc() || (parsed.ptr != last && *parsed.ptr != ' ')) return 0;
    return eol + kCrlf.size() + bytes + kCrlf.size();
}

void MemcacheGetBatch::finish_oldest() {
    sent_sizes_.pop_front();
    if (sent_sizes_.empty() && assembling_ == 0) {
        sent_keys_.clear();
        sent_keys_head_ = 0;
    } else if (sent_keys_head_ > 64 * 1024 && sent_keys_head_ * 2 > sent_keys_.size()) {
        sent_keys_.erase(0, sent_keys_head_);
        sent_keys_head_ = 0;
    }
}

void MemcacheGetBatch::clear() {
    line_.clear();
    assembling_ = 0;
    sent_keys_.clear();
    sent_keys_head_ = 0;
    sent_key_lengths_.clear();
    sent_sizes_.clear();
}

}  // namespace shardproxy::backends
