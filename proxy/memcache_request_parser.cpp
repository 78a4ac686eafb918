#include "proxy/memcache_request_parser.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>

// Every rule below was checked against a real memcached 1.6.18 (proto_text.c is the
// reference); the unit tests hold what it answered.

namespace shardproxy::proxy {
namespace {

// memcached's KEY_MAX_LENGTH.
constexpr size_t kMaxKeyBytes = 250;

// memcached hangs up, silently, on a connection whose buffered input holds more than this many
// bytes without a LF, unless they start (after at most 100 spaces) with "get " or "gets ": only
// multigets may be longer (try_read_command_ascii). Whether a long line arrives in one read or
// not decides it there; here any line longer than this is refused, so the result never depends
// on how the bytes were split.
constexpr size_t kMaxLineBytes = 2048;
constexpr size_t kMaxMultigetLeadingSpaces = 100;
// memcached's tokenizer keeps at most 23 tokens for a command (MAX_TOKENS 24 with its terminal
// token); only the HTTP check below sees the difference.
constexpr size_t kMaxTokens = 23;
// Meta commands with more tokens than this, counting memcached's terminal token, get "options
// flags too long" (MFLAG_MAX_OPT_LENGTH).
constexpr size_t kMaxMetaTokens = 20;
// O(paque) flags longer than this, O included, get "opaque token too long".
constexpr size_t kMaxOpaqueBytes = 32;
// A data length must leave room for its CRLF in an int (vlen > INT_MAX - 2 is refused).
constexpr int32_t kMaxDeclaredBytes = INT_MAX - 2;

constexpr std::string_view kError = "ERROR";
constexpr std::string_view kBadFormat = "CLIENT_ERROR bad command line format";
constexpr std::string_view kBadExptime = "CLIENT_ERROR invalid exptime argument";
constexpr std::string_view kBadDelta = "CLIENT_ERROR invalid numeric delta argument";
constexpr std::string_view kDeleteUsage =
    "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]";
constexpr std::string_view kBadChunk = "CLIENT_ERROR bad data chunk";
constexpr std::string_view kTooLarge = "SERVER_ERROR object too large for cache";
// What memcached says when it cannot grow its buffer for a huge multiget line, then hangs up.
constexpr std::string_view kLineTooLong = "SERVER_ERROR out of memory reading request";
constexpr std::string_view kMetaTooManyFlags = "CLIENT_ERROR options flags too long";
constexpr std::string_view kMgTooManyFlags = "CLIENT_ERROR options flags are too long";
constexpr std::string_view kMetaBadFlag = "CLIENT_ERROR invalid or duplicate flag";
constexpr std::string_view kOpaqueTooLong = "CLIENT_ERROR opaque token too long";
constexpr std::string_view kNone = "";

// C's isspace in the "C" locale, which strtol skips before a number and safe_strto* accept
// after one.
bool is_c_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// A decimal number as strtol/strtoull read it: leading whitespace, an optional sign, at least
// one digit. memcached's safe_strto* then accept it only at the end of the token or before
// whitespace ("5\tx" is 5).
struct CNumber {
    bool negative = false;
    bool overflow = false;  // the digits exceed 2^64 - 1 (ERANGE)
    uint64_t magnitude = 0;
};

bool scan_c_number(std::string_view token, CNumber& number) {
    size_t i = 0;
    while (i < token.size() && is_c_space(token[i])) ++i;
    if (i < token.size() && (token[i] == '+' || token[i] == '-')) {
        number.negative = token[i] == '-';
        ++i;
    }
    const size_t digits = i;
    for (; i < token.size() && token[i] >= '0' && token[i] <= '9'; ++i) {
        const auto digit = static_cast<uint64_t>(token[i] - '0');
        if (number.magnitude > (UINT64_MAX - digit) / 10) {
            number.overflow = true;
        } else {
            number.magnitude = number.magnitude * 10 + digit;
        }
    }
    if (i == digits) return false;
    return i == token.size() || is_c_space(token[i]);
}

// safe_strtoull, and safe_strtoul (unsigned long is 64 bits): strtoull negates a "-" number
// modulo 2^64, and only results that look negative as int64 are refused, so "-0" and
// "-18446744073709551615" (1) pass while "-1" fails.
bool c_strtoull(std::string_view token) {
    CNumber number;
    if (!scan_c_number(token, number) || number.overflow) return false;
    const uint64_t value = number.negative ? 0 - number.magnitude : number.magnitude;
    return static_cast<int64_t>(value) >= 0 || token.find('-') == std::string_view::npos;
}

// safe_strtol: strtol reads an int64, which memcached then stores into an int32, keeping the
// low 32 bits ("4294967297" bytes is 1 byte to memcached).
bool c_strtol(std::string_view token, int32_t& out) {
    CNumber number;
    if (!scan_c_number(token, number) || number.overflow) return false;
    constexpr uint64_t kInt64Max = static_cast<uint64_t>(INT64_MAX);
    if (number.magnitude > kInt64Max + (number.negative ? 1 : 0)) return false;
    const uint64_t value = number.negative ? 0 - number.magnitude : number.magnitude;
    out = static_cast<int32_t>(static_cast<uint32_t>(value));
    return true;
}

bool c_strtol(std::string_view token) {
    int32_t ignored = 0;
    return c_strtol(token, ignored);
}

// memcached's base64 decoder (base64.c): bytes outside the alphabet are skipped, '=' counts as
// a zero digit, the number of alphabet bytes must be a positive multiple of four, and the first
// block holding padding ends the key. Returns false where memcached's returns 0.
constexpr std::array<uint8_t, 256> make_base64_table() {
    std::array<uint8_t, 256> table{};
    for (auto& entry : table) entry = 0x80;
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (uint8_t i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = i;
    table['='] = 0;
    return table;
}
constexpr std::array<uint8_t, 256> kBase64 = make_base64_table();

bool base64_decode(std::string_view src, std::string& out) {
    size_t count = 0;
    for (const char c : src) {
        if (kBase64[static_cast<unsigned char>(c)] != 0x80) ++count;
    }
    if (count == 0 || count % 4 != 0) return false;
    out.clear();
    std::array<uint8_t, 4> block{};
    size_t filled = 0;
    int pad = 0;
    for (const char c : src) {
        const uint8_t digit = kBase64[static_cast<unsigned char>(c)];
        if (digit == 0x80) continue;
        if (c == '=') ++pad;
        block[filled++] = digit;
        if (filled < 4) continue;
        out.push_back(static_cast<char>((block[0] << 2) | (block[1] >> 4)));
        out.push_back(static_cast<char>((block[1] << 4) | (block[2] >> 2)));
        out.push_back(static_cast<char>((block[2] << 6) | block[3]));
        filled = 0;
        if (pad != 0) {
            if (pad > 2) return false;
            out.resize(out.size() - static_cast<size_t>(pad));
            break;
        }
    }
    return !out.empty();
}

// Whether a line memcached finds too long to be anything else is a multiget it tolerates.
bool is_multiget_line(std::string_view line) {
    size_t spaces = 0;
    while (spaces < line.size() && line[spaces] == ' ') ++spaces;
    if (spaces > kMaxMultigetLeadingSpaces) return false;
    const std::string_view rest = line.substr(spaces);
    return rest.starts_with("get ") || rest.starts_with("gets ");
}

bool opaque_too_long(std::span<const std::string_view> flags) {
    return std::any_of(flags.begin(), flags.end(), [](std::string_view flag) {
        return flag[0] == 'O' && flag.size() > kMaxOpaqueBytes;
    });
}

}  // namespace

MemcacheRequestParser::MemcacheRequestParser(uint64_t max_value_bytes, uint64_t max_line_bytes,
                                             bool allow_control_characters)
    : max_value_bytes_(max_value_bytes),
      allow_control_characters_(allow_control_characters),
      max_retrieval_line_(static_cast<size_t>(
          std::max<uint64_t>(max_line_bytes, static_cast<uint64_t>(kMaxLineBytes)))) {
    tokens_.reserve(kMaxTokens + 1);
    decoded_key_.reserve(kMaxKeyBytes);
}

// Keys longer than memcached allows, or, unless allowed, with control characters: memcached
// 1.6.18 stores keys with tabs or other control bytes, which its protocol forbids and many
// clients cannot read back.
bool MemcacheRequestParser::invalid_key(std::string_view key) const {
    if (key.size() > kMaxKeyBytes) return true;
    if (allow_control_characters_) return false;
    for (const char c : key) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) return true;
    }
    return false;
}

MemcacheRequestParser::Status MemcacheRequestParser::need(size_t total_bytes) {
    bytes_needed_ = total_bytes;
    return Status::need_more;
}

MemcacheRequestParser::Status MemcacheRequestParser::fail(std::string_view reply,
                                                          uint64_t swallow_bytes) {
    error_reply_ = reply;
    consumed_ = line_bytes_;
    swallow_left_ = swallow_bytes;
    return Status::error;
}

MemcacheRequestParser::Status MemcacheRequestParser::fail_and_close(std::string_view reply,
                                                                    size_t input_bytes) {
    error_reply_ = reply;
    consumed_ = input_bytes;
    must_close_ = true;
    scanned_ = 0;
    return Status::error;
}

MemcacheRequestParser::Status MemcacheRequestParser::parse(std::string_view data,
                                                           MemcacheRequest& request) {
    request = MemcacheRequest{};
    tokens_.clear();
    consumed_ = 0;
    bytes_needed_ = 0;
    error_reply_ = kNone;
    must_close_ = false;

    // The rest of a data block memcached would swallow: whatever part of it is here, at once.
    if (swallow_left_ > 0) {
        if (data.empty()) return need(1);
        const size_t part = static_cast<size_t>(std::min<uint64_t>(swallow_left_, data.size()));
        swallow_left_ -= part;
        consumed_ = part;
        return Status::discard;
    }

    // A storage request whose line was parsed: nothing to do until its data block is all here.
    const size_t pending = pending_total_;
    pending_total_ = 0;
    if (pending > data.size()) {
        pending_total_ = pending;
        return need(pending);
    }

    if (scanned_ > data.size()) scanned_ = 0;
    const auto* newline = static_cast<const char*>(
        std::memchr(data.data() + scanned_, '\n', data.size() - scanned_));
    const size_t line_length =
        newline == nullptr ? data.size() : static_cast<size_t>(newline - data.data());
    if (line_length > kMaxLineBytes) {
        const std::string_view line = data.substr(0, line_length);
        if (!is_multiget_line(line)) return fail_and_close(kNone, data.size());
        if (line_length > max_retrieval_line_) return fail_and_close(kLineTooLong, data.size());
    }
    if (newline == nullptr) {
        scanned_ = data.size();
        return need(data.size() + 1);
    }
    scanned_ = 0;
    return parse_line(data, line_length + 1, request);
}

MemcacheRequestParser::Status MemcacheRequestParser::parse_line(std::string_view data,
                                                                size_t line_bytes,
                                                                MemcacheRequest& request) {
    line_bytes_ = line_bytes;
    request.line_bytes = line_bytes;
    request.wire_bytes = line_bytes;

    // memcached drops a CR before the LF only when the line has another byte ("\r\n" alone is
    // the one-byte command "\r"), and reads the line as a C string: a NUL ends it.
    std::string_view line = data.substr(0, line_bytes - 1);
    if (line.size() > 1 && line.back() == '\r') line.remove_suffix(1);
    line = line.substr(0, line.find('\0'));

    // Tokens are separated by spaces only: a tab is part of a token.
    for (size_t pos = 0; pos < line.size();) {
        if (line[pos] == ' ') {
            ++pos;
            continue;
        }
        size_t end = line.find(' ', pos);
        if (end == std::string_view::npos) end = line.size();
        tokens_.push_back(line.substr(pos, end - pos));
        pos = end;
    }
    request.tokens = tokens_;

    // The dispatch follows process_command_ascii, including which unknown names get "ERROR"
    // and which are checked for an HTTP request line.
    if (tokens_.empty() || tokens_[0].size() < 2) return fail(kError);
    const std::string_view name = tokens_[0];
    const char first = name[0];
    if (first == 'm' && name.size() == 2) {
        switch (name[1]) {
            case 'g': return parse_meta(data, MemcacheCommand::meta_get, request);
            case 's': return parse_meta(data, MemcacheCommand::meta_set, request);
            case 'd': return parse_meta(data, MemcacheCommand::meta_delete, request);
            case 'a': return parse_meta(data, MemcacheCommand::meta_arithmetic, request);
            case 'e': return parse_meta_debug(request);
            case 'n':
                request.command = MemcacheCommand::meta_noop;
                return Status::request;
            default: return fail(kError);
        }
    }
    if (first == 'g') {
        if (tokens_.size() < 2) return fail(kError);  // "get" with no key
        if (name == "get") return parse_retrieval(MemcacheCommand::get, request);
        if (name == "gets") return parse_retrieval(MemcacheCommand::gets, request);
        if (name == "gat") return parse_retrieval(MemcacheCommand::gat, request);
        if (name == "gats") return parse_retrieval(MemcacheCommand::gats, request);
        return fail(kError);
    }
    // Admin commands memcached knows but the proxy does not serve (shutdown, slabs,
    // cache_memlimit, lru, lru_crawler, watch, extstore, refresh_certs, and the long-removed
    // bget) are answered "ERROR", like unknown commands.
    if (first == 's') {
        if (name == "set") return parse_storage(data, MemcacheCommand::set, request);
        if (name == "stats") return parse_keyless(MemcacheCommand::stats, request);
        return fail(kError);
    }
    if (first == 'a') {
        if (name == "add") return parse_storage(data, MemcacheCommand::add, request);
        if (name == "append") return parse_storage(data, MemcacheCommand::append, request);
        return fail(kError);
    }
    if (first == 'c') {
        if (name == "cas") return parse_storage(data, MemcacheCommand::cas, request);
        return fail(kError);
    }
    if (first == 'i') {
        if (name == "incr") return parse_keyed(MemcacheCommand::incr, request);
        return fail(kError);
    }
    if (first == 'd') {
        if (name == "delete") return parse_keyed(MemcacheCommand::delete_key, request);
        if (name == "decr") return parse_keyed(MemcacheCommand::decr, request);
        return fail(kError);
    }
    if (first == 't') {
        if (name == "touch") return parse_keyed(MemcacheCommand::touch, request);
        return fail(kError);
    }
    if (name == "replace") return parse_storage(data, MemcacheCommand::replace, request);
    if (name == "prepend") return parse_storage(data, MemcacheCommand::prepend, request);
    if (name == "flush_all") return parse_keyless(MemcacheCommand::flush_all, request);
    if (name == "version") return parse_keyless(MemcacheCommand::version, request);
    if (name == "quit") return parse_keyless(MemcacheCommand::quit, request);
    if (name == "verbosity") return parse_keyless(MemcacheCommand::verbosity, request);
    if (name == "bget" || name == "lru_crawler" || name == "watch" || name == "lru" ||
        name == "extstore" || name == "refresh_certs") {
        return fail(kError);
    }
    // Any other command whose last token (of the 23 memcached reads) starts with "HTTP/" is
    // taken for an HTTP request: memcached hangs up without a word.
    if (tokens_[std::min(tokens_.size(), kMaxTokens) - 1].starts_with("HTTP/")) {
        return fail_and_close(kNone, line_bytes);
    }
    return fail(kError);
}

MemcacheRequestParser::Status MemcacheRequestParser::parse_retrieval(MemcacheCommand command,
                                                                     MemcacheRequest& request) {
    uint32_t first_key = 1;
    if (command == MemcacheCommand::gat || command == MemcacheCommand::gats) {
        if (!c_strtol(tokens_[1])) return fail(kBadExptime);
        first_key = 2;
    }
    for (size_t i = first_key; i < tokens_.size(); ++i) {
        // memcached answers only this, not the hits before the long key.
        if (invalid_key(tokens_[i])) return fail(kBadFormat);
    }
    request.command = command;
    request.first_key = first_key;
    request.key_count = static_cast<uint32_t>(tokens_.size()) - first_key;
    if (request.key_count > 0) request.hash_key = tokens_[first_key];
    return Status::request;
}

MemcacheRequestParser::Status MemcacheRequestParser::parse_storage(std::string_view data,
                                                                   MemcacheCommand command,
                                                                   MemcacheRequest& request) {
    // <cmd> <key> <flags> <exptime> <bytes> [<cas unique>] [noreply]; a wrong count is
    // "ERROR" and the data block is then read as the next command, as memcached does.
    const bool is_cas = command == MemcacheCommand::cas;
    const size_t base_tokens = is_cas ? 6 : 5;
    if (tokens_.size() != base_tokens && tokens_.size() != base_tokens + 1) return fail(kError);
    // The last token is noreply whatever its position: "set k 0 0 noreply" is a quiet set
    // with a bad length. Any other extra token is ignored ("set k 0 0 1 foo" stores).
    const bool quiet = tokens_.back() == "noreply";
    if (quiet) request.quiet_token = static_cast<uint32_t>(tokens_.size() - 1);
    const std::string_view bad_format = quiet ? kNone : kBadFormat;

    int32_t value_bytes = 0;
    const bool length_ok =
        c_strtol(tokens_[4], value_bytes) && value_bytes >= 0 && value_bytes <= kMaxDeclaredBytes;
    if (invalid_key(tokens_[1])) {
        // memcached answers, then reads the data block as a command (its reply is one more
        // than the client expects, and the data could be any command); swallow it instead.
        return fail(bad_format, length_ok ? static_cast<uint64_t>(value_bytes) + 2 : 0);
    }
    // A bad number: memcached answers and reads the data block as the next command; so do we.
    if (!c_strtoull(tokens_[2]) || !c_strtol(tokens_[3]) || !c_strtol(tokens_[4])) {
        return fail(bad_format);
    }
    if (is_cas && !c_strtoull(tokens_[5])) return fail(bad_format);
    if (!length_ok) return fail(bad_format);

    request.command = command;
    request.first_key = 1;
    request.key_count = 1;
    request.hash_key = tokens_[1];
    return finish_storage(data, static_cast<uint64_t>(value_bytes), quiet, request);
}

MemcacheRequestParser::Status MemcacheRequestParser::finish_storage(std::string_view data,
                                                                    uint64_t value_bytes,
                                                                    bool quiet,
                                                                    MemcacheRequest& request) {
    if (value_bytes > max_value_bytes_) return fail(quiet ? kNone : kTooLarge, value_bytes + 2);
    const uint64_t total = line_bytes_ + value_bytes + 2;
    if (total > data.size()) {
        pending_total_ = static_cast<size_t>(total);
        return need(pending_total_);
    }
    const size_t end = static_cast<size_t>(total);
    if (data[end - 2] != '\r' || data[end - 1] != '\n') {
        // memcached has read <bytes>+2 bytes into the item; what follows is a new command.
        error_reply_ = quiet ? kNone : kBadChunk;
        consumed_ = end;
        return Status::error;
    }
    request.data_bytes = static_cast<size_t>(value_bytes) + 2;
    request.wire_bytes = end;
    return Status::request;
}

MemcacheRequestParser::Status MemcacheRequestParser::parse_keyed(MemcacheCommand command,
                                                                 MemcacheRequest& request) {
    const size_t count = tokens_.size();
    bool quiet = false;
    if (command == MemcacheCommand::delete_key) {
        // delete <key> [0] [noreply]: the old hold time is accepted only as "0".
        if (count < 2 || count > 4) return fail(kError);
        if (count > 2) {
            const bool hold_is_zero = tokens_[2] == "0";
            quiet = tokens_.back() == "noreply";
            const bool valid =
                (count == 3 && (hold_is_zero || quiet)) || (count == 4 && hold_is_zero && quiet);
            if (!valid) return fail(quiet ? kNone : kDeleteUsage);
        }
    } else {
        // incr|decr <key> <delta> [noreply], touch <key> <exptime> [noreply]
        if (count != 3 && count != 4) return fail(kError);
        quiet = tokens_.back() == "noreply";
    }
    if (invalid_key(tokens_[1])) return fail(quiet ? kNone : kBadFormat);
    if (command == MemcacheCommand::incr || command == MemcacheCommand::decr) {
        if (!c_strtoull(tokens_[2])) return fail(quiet ? kNone : kBadDelta);
    } else if (command == MemcacheCommand::touch) {
        if (!c_strtol(tokens_[2])) return fail(quiet ? kNone : kBadExptime);
    }
    request.command = command;
    request.first_key = 1;
    request.key_count = 1;
    request.hash_key = tokens_[1];
    if (quiet) request.quiet_token = static_cast<uint32_t>(count - 1);
    return Status::request;
}

MemcacheRequestParser::Status MemcacheRequestParser::parse_keyless(MemcacheCommand command,
                                                                   MemcacheRequest& request) {
    const size_t count = tokens_.size();
    bool quiet = false;
    if (command == MemcacheCommand::verbosity) {
        // verbosity <level> [noreply]; "verbosity 1 2" is fine, the 2 is ignored.
        if (count != 2 && count != 3) return fail(kError);
        quiet = tokens_.back() == "noreply";
        if (!c_strtoull(tokens_[1])) return fail(quiet ? kNone : kBadFormat);
    } else if (command == MemcacheCommand::flush_all) {
        // flush_all [delay] [noreply]
        if (count > 3) return fail(kError);
        quiet = tokens_.back() == "noreply";
        if (count != (quiet ? 2u : 1u) && !c_strtol(tokens_[1])) {
            return fail(quiet ? kNone : kBadExptime);
        }
    }
    // version, quit and stats take any arguments ("stats <anything>" is for the server).
    request.command = command;
    if (quiet) request.quiet_token = static_cast<uint32_t>(count - 1);
    return Status::request;
}

const char* MemcacheRequestParser::check_meta_flags(size_t first_flag, char& mode,
                                                    bool& key_binary, uint32_t& quiet_token) {
    // As _meta_flag_preparse: a repeated flag or one memcached 1.6.18 does not know ends the
    // check at once; bad values are remembered and the last one's message wins.
    std::array<bool, 127> seen{};
    const char* error = "CLIENT_ERROR bad command line format";
    bool has_error = false;
    for (size_t i = first_flag; i < tokens_.size(); ++i) {
        const std::string_view flag = tokens_[i];
        const auto letter = static_cast<unsigned char>(flag[0]);
        if (letter >= seen.size() || seen[letter]) return "CLIENT_ERROR duplicate flag";
        seen[letter] = true;
        const std::string_view value = flag.substr(1);
        switch (letter) {
            case 'b':
                key_binary = true;
                if (!base64_decode(tokens_[1], decoded_key_)) {
                    error = "CLIENT_ERROR error decoding key";
                    has_error = true;
                }
                break;
            case 'N':
            case 'T':
            case 'R':
                if (!c_strtol(value)) {
                    error = "CLIENT_ERROR bad token in command line format";
                    has_error = true;
                }
                break;
            case 'q':
                quiet_token = static_cast<uint32_t>(i);
                break;
            case 'F':
                if (!c_strtoull(value)) has_error = true;  // keeps the message so far
                break;
            case 'C':
                if (!c_strtoull(value)) {
                    error = "CLIENT_ERROR bad token in command line format";
                    has_error = true;
                }
                break;
            case 'M':
                if (flag.size() != 2) {
                    error = "CLIENT_ERROR incorrect length for M token";
                    has_error = true;
                } else {
                    mode = flag[1];
                }
                break;
            case 'J':
                if (!c_strtoull(value)) {
                    error = "CLIENT_ERROR invalid numeric initial value";
                    has_error = true;
                }
                break;
            case 'D':
                if (!c_strtoull(value)) {
                    error = "CLIENT_ERROR invalid numeric delta value";
                    has_error = true;
                }
                break;
            case 'l': case 'O': case 'P': case 'L': case 'k': case 's':
            case 't': case 'c': case 'f': case 'v': case 'h': case 'u': case 'I':
                break;
            default:
                return "CLIENT_ERROR invalid flag";
        }
    }
    return has_error ? error : nullptr;
}

MemcacheRequestParser::Status MemcacheRequestParser::parse_meta(std::string_view data,
                                                                MemcacheCommand command,
                                                                MemcacheRequest& request) {
    const size_t count = tokens_.size();
    if (count < 2) return fail(kError);  // no key
    const bool is_set = command == MemcacheCommand::meta_set;
    // memcached checks the key's length as sent, before any base64 decoding.
    const bool key_invalid = invalid_key(tokens_[1]);
    const bool too_many_flags = count + 1 > kMaxMetaTokens;

    char mode = 0;
    bool key_binary = false;
    uint32_t quiet_token = 0;
    if (is_set) {
        // ms <key> <datalen> <flags>*. Every error is answered, q or not. Once memcached has
        // read the length it swallows the data block after an error; before that it reads
        // the block as a command, except that here a key too long or too many flags still
        // swallow it (see parse_storage).
        int32_t value_bytes = 0;
        const bool length_ok = count >= 3 && c_strtol(tokens_[2], value_bytes) &&
                               value_bytes >= 0 && value_bytes <= kMaxDeclaredBytes;
        const uint64_t block = length_ok ? static_cast<uint64_t>(value_bytes) + 2 : 0;
        if (key_invalid) return fail(kBadFormat, block);
        if (count == 2) return fail(kBadFormat);
        if (too_many_flags) return fail(kMetaTooManyFlags, block);
        if (!length_ok) return fail(kBadFormat);
        if (const char* error = check_meta_flags(3, mode, key_binary, quiet_token)) {
            return fail(error, block);
        }
        switch (mode) {
            case 0: case 'E': case 'A': case 'P': case 'R': case 'S': break;
            default: return fail("CLIENT_ERROR invalid mode for ms M token", block);
        }
        if (opaque_too_long(std::span(tokens_).subspan(3))) return fail(kOpaqueTooLong, block);
        request.command = command;
        request.first_key = 1;
        request.key_count = 1;
        request.hash_key = key_binary ? std::string_view(decoded_key_) : tokens_[1];
        request.quiet_token = quiet_token;
        return finish_storage(data, static_cast<uint64_t>(value_bytes), false, request);
    }

    // mg|md|ma <key> <flags>*
    if (key_invalid) return fail(kBadFormat);
    const bool is_get = command == MemcacheCommand::meta_get;
    if (too_many_flags) return fail(is_get ? kMgTooManyFlags : kMetaTooManyFlags);
    if (const char* error = check_meta_flags(2, mode, key_binary, quiet_token)) {
        // md and ma do not pass the specific message on.
        return fail(is_get ? std::string_view(error) : kMetaBadFlag);
    }
    if (command == MemcacheCommand::meta_arithmetic) {
        switch (mode) {
            case 0: case 'I': case '+': case 'D': case '-': break;
            default: return fail("CLIENT_ERROR invalid mode for ma M token");
        }
    }
    if (opaque_too_long(std::span(tokens_).subspan(2))) return fail(kOpaqueTooLong);
    request.command = command;
    request.first_key = 1;
    request.key_count = 1;
    request.hash_key = key_binary ? std::string_view(decoded_key_) : tokens_[1];
    request.quiet_token = quiet_token;
    return Status::request;
}

MemcacheRequestParser::Status MemcacheRequestParser::parse_meta_debug(MemcacheRequest& request) {
    // me <key> [b]: no flags are checked; a b right after the key means base64.
    if (tokens_.size() < 2 || invalid_key(tokens_[1])) return fail(kBadFormat);
    bool key_binary = false;
    if (tokens_.size() >= 3 && tokens_[2] == "b") {
        if (!base64_decode(tokens_[1], decoded_key_)) return fail(kBadFormat);
        key_binary = true;
    }
    request.command = MemcacheCommand::meta_debug;
    request.first_key = 1;
    request.key_count = 1;
    request.hash_key = key_binary ? std::string_view(decoded_key_) : tokens_[1];
    return Status::request;
}

bool meta_quiet_withholds(MemcacheCommand command, std::string_view reply_line) {
    const std::string_view code = reply_line.substr(0, reply_line.find_first_of(" \r\n"));
    switch (command) {
        // mg q: a miss (EN) is withheld; hits (HD, VA) are not.
        case MemcacheCommand::meta_get: return code == "EN";
        // ms q and md q: only HD; NS, EX, NF go out.
        case MemcacheCommand::meta_set:
        case MemcacheCommand::meta_delete: return code == "HD";
        // ma q: a successful increment (HD, or VA with v); NF, NS, EX go out.
        case MemcacheCommand::meta_arithmetic: return code == "HD" || code == "VA";
        default: return false;
    }
}

}  // namespace shardproxy::proxy
