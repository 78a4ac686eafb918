// zipf_load: a closed-loop load generator for Redis and memcached servers (or proxies in front of
// them) whose keys follow a Zipf distribution, so that a few keys get most of the traffic.
// hotkey_bench.sh uses it to see how evenly a proxy spreads such load over its backends; run it
// with --help for the options.
//
// Every connection keeps --pipeline requests in flight and sends a new one as each reply comes
// back. Replies are parsed fully (Redis with hiredis's reader), so a server or proxy that answers
// wrongly shows up as errors rather than as speed. At the end it prints one line of key=value
// pairs for scripts.
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Options

enum class Protocol { redis, memcache };

// --load keeps at least this many SETs in flight per connection: prefilling is not a
// measurement, so it may as well be fast even when --pipeline is 1.
constexpr int kLoadPipeline = 64;

struct Options {
    Protocol protocol = Protocol::redis;
    std::string host = "127.0.0.1";
    int port = 0;  // 0: the protocol's usual port
    uint64_t keys = 100000;
    double zipf = 0.99;
    size_t value_size = 100;
    double read_ratio = 0.9;
    bool uniform_writes = false;
    int pipeline = 1;
    int connections = 32;
    double duration = 10;
    double warmup = 1;
    std::string key_prefix = "key:";
    uint64_t seed = 1;
    bool load = false;
    int threads = 1;
};

constexpr const char* kUsage =
    "Usage: zipf_load [OPTION]...\n"
    "Sends GETs and SETs of keys drawn from a Zipf distribution to a Redis or memcached server\n"
    "(or a proxy in front of some) for a fixed time, then prints one line:\n"
    "  ops= ops_per_sec= reads= writes= hits= misses= errors=\n"
    "  p50_us= p90_us= p99_us= p999_us= seconds=\n"
    "counting only the replies received after the warm-up. Latency is from sending a request to\n"
    "its reply. errors counts error replies, unexpected replies, values of the wrong length and\n"
    "requests lost with their connection.\n"
    "\n"
    "  --protocol redis|memcache  what the server speaks (redis); memcache is the text protocol\n"
    "  --host HOST                server host (127.0.0.1)\n"
    "  --port PORT                server port (6379 for redis, 11211 for memcache)\n"
    "  --keys N                   number of keys (100000); rank 0 is the hottest\n"
    "  --zipf S                   Zipf exponent: rank r is drawn with weight 1/(r+1)^S; 0 means\n"
    "                             uniform (0.99)\n"
    "  --value-size BYTES         size of the values written and expected back (100)\n"
    "  --read-ratio R             share of requests that are GETs, 0 to 1 (0.9)\n"
    "  --write-keys zipf|uniform  how SETs pick keys: zipf (as GETs do) or uniform (zipf)\n"
    "  --pipeline N               requests in flight per connection (1)\n"
    "  --connections N            connections to the server (32)\n"
    "  --duration SECONDS         measured time (10)\n"
    "  --warmup SECONDS           time before the measurement, not counted (1)\n"
    "  --key-prefix TEXT          keys are TEXT followed by a number (key:); the numbers of\n"
    "                             the hottest ranks are scattered over 0..N-1, not adjacent\n"
    "  --seed N                   random seed (1); each thread draws its own sequence from it\n"
    "  --load                     instead of the timed run, SET every key once, pipelined (at\n"
    "                             least 64 in flight per connection), and exit\n"
    "  --threads N                event-loop threads; connections are split between them (1)\n"
    "  --help                     print this help\n"
    "\n"
    "Exit status: 0 on success; 1 if a connection could not be made, was closed by the server\n"
    "or carried a reply that could not be parsed, or --load did not store every key; 2 for a\n"
    "bad option.\n";

int option_error(const std::string& message) {
    std::fprintf(stderr, "zipf_load: %s\nTry 'zipf_load --help'.\n", message.c_str());
    return 2;
}

template <typename T>
bool parse_number(std::string_view text, T min, T max, T& out) {
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !(value >= min && value <= max)) return false;
    out = value;
    return true;
}

// Fills `options` from argv; returns an exit status when the program should stop (after --help
// or a bad option), nothing when it should run.
std::optional<int> parse_options(int argc, char** argv, Options& options) {
    enum : int {
        protocol = 256, host, port, keys, zipf, value_size, read_ratio, write_keys, pipeline,
        connections, duration, warmup, key_prefix, seed, load, threads, help
    };
    static const option kLong[] = {
        {"protocol", required_argument, nullptr, protocol},
        {"host", required_argument, nullptr, host},
        {"port", required_argument, nullptr, port},
        {"keys", required_argument, nullptr, keys},
        {"zipf", required_argument, nullptr, zipf},
        {"value-size", required_argument, nullptr, value_size},
        {"read-ratio", required_argument, nullptr, read_ratio},
        {"write-keys", required_argument, nullptr, write_keys},
        {"pipeline", required_argument, nullptr, pipeline},
        {"connections", required_argument, nullptr, connections},
        {"duration", required_argument, nullptr, duration},
        {"warmup", required_argument, nullptr, warmup},
        {"key-prefix", required_argument, nullptr, key_prefix},
        {"seed", required_argument, nullptr, seed},
        {"load", no_argument, nullptr, load},
        {"threads", required_argument, nullptr, threads},
        {"help", no_argument, nullptr, help},
        {nullptr, 0, nullptr, 0},
    };
    opterr = 0;  // the messages below name the option and say what it takes
    int id = 0;
    int index = 0;
    // The leading ':' makes a missing value ':' rather than '?', which is an unknown option.
    while ((id = getopt_long(argc, argv, ":", kLong, &index)) != -1) {
        const std::string_view arg = optarg != nullptr ? optarg : "";
        const auto bad = [&](const char* what) {
            return option_error(std::string("--") + kLong[index].name + " must be " + what + " (got '" +
                                std::string(arg) + "')");
        };
        switch (id) {
        case protocol:
            if (arg == "redis") {
                options.protocol = Protocol::redis;
            } else if (arg == "memcache") {
                options.protocol = Protocol::memcache;
            } else {
                return bad("redis or memcache");
            }
            break;
        case host: options.host = arg; break;
        case port:
            if (!parse_number(arg, 1, 65535, options.port)) return bad("a port number");
            break;
        case keys:
            // Ranks are permuted by multiplication modulo --keys in 64 bits (see KeySpace).
            if (!parse_number<uint64_t>(arg, 1, std::numeric_limits<uint32_t>::max(), options.keys)) {
                return bad("an integer from 1 to 4294967295");
            }
            break;
        case zipf:
            if (!parse_number(arg, 0.0, 100.0, options.zipf)) return bad("a number from 0 to 100");
            break;
        case value_size:
            if (!parse_number<size_t>(arg, 0, 64 << 20, options.value_size)) return bad("from 0 to 67108864");
            break;
        case read_ratio:
            if (!parse_number(arg, 0.0, 1.0, options.read_ratio)) return bad("a number from 0 to 1");
            break;
        case write_keys:
            if (arg != "zipf" && arg != "uniform") return bad("zipf or uniform");
            options.uniform_writes = arg == "uniform";
            break;
        case pipeline:
            if (!parse_number(arg, 1, 100000, options.pipeline)) return bad("an integer from 1 to 100000");
            break;
        case connections:
            if (!parse_number(arg, 1, 100000, options.connections)) return bad("an integer from 1 to 100000");
            break;
        case duration:
            if (!parse_number(arg, 0.001, 1e6, options.duration)) return bad("a positive number of seconds");
            break;
        case warmup:
            if (!parse_number(arg, 0.0, 1e6, options.warmup)) return bad("a number of seconds");
            break;
        case key_prefix: options.key_prefix = arg; break;
        case seed:
            if (!parse_number<uint64_t>(arg, 0, std::numeric_limits<uint64_t>::max(), options.seed)) {
                return bad("a non-negative integer");
            }
            break;
        case load: options.load = true; break;
        case threads:
            if (!parse_number(arg, 1, 1024, options.threads)) return bad("an integer from 1 to 1024");
            break;
        case help: std::fputs(kUsage, stdout); return 0;
        case ':': return option_error(std::string(argv[optind - 1]) + " needs a value");
        default: return option_error(std::string("unknown option '") + argv[optind - 1] + "'");
        }
    }
    if (optind < argc) return option_error(std::string("unexpected argument '") + argv[optind] + "'");
    if (options.threads > options.connections) return option_error("--threads must not exceed --connections");
    if (options.port == 0) options.port = options.protocol == Protocol::redis ? 6379 : 11211;
    if (options.protocol == Protocol::memcache) {
        const auto printable = [](unsigned char c) { return c > ' ' && c != 0x7f; };
        // 10: the digits of the largest key number.
        if (!std::ranges::all_of(options.key_prefix, printable) || options.key_prefix.size() + 10 > 250) {
            return option_error("--key-prefix: memcached keys are at most 250 bytes, no blanks or control characters");
        }
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Keys and values

// Key names are the prefix and a number, rank * m mod N with m coprime to N (so every rank gets
// its own number) and near N/phi (so the hottest ranks' numbers are far apart): a placement that
// favours neighbouring numbers, or a reader of MONITOR output, sees no pattern in the hot keys.
class KeySpace {
public:
    KeySpace(std::string prefix, uint64_t keys, size_t value_size)
        : prefix_(std::move(prefix)), keys_(keys), value_size_(value_size) {
        multiplier_ = std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(keys) * 0.6180339887498949));
        while (std::gcd(multiplier_, keys_) != 1) ++multiplier_;
        // Every key's value is a slice of one buffer, starting at a letter that depends on the key:
        // deterministic per key without a buffer per key.
        pattern_.resize(value_size + 26);
        for (size_t i = 0; i < pattern_.size(); ++i) pattern_[i] = static_cast<char>('a' + i % 26);
    }

    void key(uint64_t rank, std::string& out) const {
        out.assign(prefix_);
        char digits[20];
        out.append(digits, std::to_chars(digits, digits + sizeof digits, number(rank)).ptr);
    }

    std::string_view value(uint64_t rank) const { return {pattern_.data() + number(rank) % 26, value_size_}; }

private:
    // keys_ < 2^32, so the product fits in 64 bits.
    uint64_t number(uint64_t rank) const { return rank * multiplier_ % keys_; }

    std::string prefix_;
    uint64_t keys_;
    size_t value_size_;
    uint64_t multiplier_;
    std::string pattern_;
};

// The Zipf CDF over all ranks, computed once and shared read-only by the threads; a rank is drawn
// by inverting it with a binary search.
class ZipfCdf {
public:
    ZipfCdf(uint64_t keys, double exponent) : cdf_(keys) {
        double sum = 0;
        for (uint64_t r = 0; r < keys; ++r) cdf_[r] = sum += std::pow(static_cast<double>(r + 1), -exponent);
        for (double& c : cdf_) c /= sum;
        cdf_.back() = 1.0;  // rounding must not leave the top of [0, 1) without a rank
    }

    uint64_t rank(double unit) const {  // unit in [0, 1)
        return static_cast<uint64_t>(std::upper_bound(cdf_.begin(), cdf_.end(), unit) - cdf_.begin());
    }

private:
    std::vector<double> cdf_;
};

// ---------------------------------------------------------------------------------------------
// Latency

// A log-bucketed histogram of microseconds in the manner of HdrHistogram: exact below 32 µs, then
// 32 buckets per power of two, so a reported percentile (the upper edge of its bucket) is at most
// 1/32 (3.1%) above the true value. Latencies above 1 s count as 1 s.
namespace histogram {

constexpr unsigned kSubBits = 5;
constexpr uint64_t kSub = uint64_t{1} << kSubBits;
constexpr uint64_t kMaxUs = 1'000'000;

constexpr size_t bucket(uint64_t us) {
    if (us < kSub) return us;
    const unsigned octave = std::bit_width(us) - 1 - kSubBits;
    return kSub * (octave + 1) + ((us >> octave) - kSub);
}

constexpr uint64_t upper_edge(size_t b) {
    if (b < kSub) return b;
    const unsigned octave = b / kSub - 1;
    return ((b % kSub + kSub + 1) << octave) - 1;
}

}  // namespace histogram

class Histogram {
public:
    void add(Clock::duration latency) {
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(latency).count();
        const uint64_t value = std::min<uint64_t>(static_cast<uint64_t>(std::max<int64_t>(us, 0)), histogram::kMaxUs);
        ++counts_[histogram::bucket(value)];
        ++total_;
        max_ = std::max(max_, value);
    }

    void merge(const Histogram& other) {
        for (size_t b = 0; b < counts_.size(); ++b) counts_[b] += other.counts_[b];
        total_ += other.total_;
        max_ = std::max(max_, other.max_);
    }

    uint64_t percentile(double q) const {
        if (total_ == 0) return 0;
        const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_))));
        uint64_t seen = 0;
        for (size_t b = 0; b < counts_.size(); ++b) {
            seen += counts_[b];
            if (seen >= rank) return std::min(histogram::upper_edge(b), max_);
        }
        return max_;
    }

private:
    std::array<uint64_t, histogram::bucket(histogram::kMaxUs) + 1> counts_{};
    uint64_t total_ = 0;
    uint64_t max_ = 0;
};

struct Stats {
    uint64_t reads = 0;
    uint64_t writes = 0;
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t stored = 0;
    uint64_t errors = 0;
    Histogram latency;

    void merge(const Stats& other) {
        reads += other.reads;
        writes += other.writes;
        hits += other.hits;
        misses += other.misses;
        stored += other.stored;
        errors += other.errors;
        latency.merge(other.latency);
    }
};

// ---------------------------------------------------------------------------------------------
// Protocols

void append_decimal(std::string& out, uint64_t n) {
    char digits[20];
    out.append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
}

// A GET (empty value) or SET request, whole.
void encode_request(Protocol protocol, bool get, std::string_view key, std::string_view value, std::string& out) {
    out.clear();
    if (protocol == Protocol::redis) {
        out += get ? "*2\r\n$3\r\nGET\r\n$" : "*3\r\n$3\r\nSET\r\n$";
        append_decimal(out, key.size());
        out += "\r\n";
        out += key;
        out += "\r\n";
        if (!get) {
            out += '$';
            append_decimal(out, value.size());
            out += "\r\n";
            out += value;
            out += "\r\n";
        }
    } else if (get) {
        out += "get ";
        out += key;
        out += "\r\n";
    } else {
        out += "set ";
        out += key;
        out += " 0 0 ";
        append_decimal(out, value.size());
        out += "\r\n";
        out += value;
        out += "\r\n";
    }
}

// What a reply says about the request it answers. `garbled`: the byte stream cannot be followed
// any further (unparseable, or not a possible reply to that request), so the connection is lost.
enum class Reply { incomplete, hit, wrong_length, miss, stored, error, garbled };

class ReplyReader {
public:
    ReplyReader(Protocol protocol, size_t value_size)
        : protocol_(protocol), value_size_(value_size),
          redis_(protocol == Protocol::redis ? redisReaderCreate() : nullptr) {}
    ~ReplyReader() {
        if (redis_ != nullptr) redisReaderFree(redis_);
    }
    ReplyReader(const ReplyReader&) = delete;
    ReplyReader& operator=(const ReplyReader&) = delete;

    // Takes the next complete reply out of `in`, judged as the answer to a GET or a SET.
    Reply next(evbuffer* in, bool get) {
        return protocol_ == Protocol::redis ? next_redis(in, get) : next_memcache(in, get);
    }

private:
    Reply next_redis(evbuffer* in, bool get) {
        while (evbuffer_get_length(in) > 0) {
            evbuffer_iovec chunk;
            evbuffer_peek(in, -1, nullptr, &chunk, 1);
            redisReaderFeed(redis_, static_cast<const char*>(chunk.iov_base), chunk.iov_len);
            evbuffer_drain(in, chunk.iov_len);
        }
        void* object = nullptr;
        if (redisReaderGetReply(redis_, &object) != REDIS_OK) return Reply::garbled;
        if (object == nullptr) return Reply::incomplete;
        const auto* reply = static_cast<const redisReply*>(object);
        Reply result = Reply::error;
        if (get && reply->type == REDIS_REPLY_NIL) {
            result = Reply::miss;
        } else if (get && reply->type == REDIS_REPLY_STRING) {
            result = reply->len == value_size_ ? Reply::hit : Reply::wrong_length;
        } else if (!get && reply->type == REDIS_REPLY_STATUS && std::string_view(reply->str, reply->len) == "OK") {
            result = Reply::stored;
        }
        freeReplyObject(object);
        return result;
    }

    // Replies to `get KEY`: END, or VALUE KEY FLAGS BYTES [CAS] + data block + END; to `set`:
    // STORED. Both may get ERROR, CLIENT_ERROR ... or SERVER_ERROR ..., and a set NOT_STORED.
    Reply next_memcache(evbuffer* in, bool get) {
        constexpr size_t kMaxLine = 1024;
        size_t eol_length = 0;
        const evbuffer_ptr eol = evbuffer_search_eol(in, nullptr, &eol_length, EVBUFFER_EOL_CRLF_STRICT);
        if (eol.pos < 0) return evbuffer_get_length(in) > kMaxLine ? Reply::garbled : Reply::incomplete;
        const auto line_length = static_cast<size_t>(eol.pos);
        if (line_length > kMaxLine) return Reply::garbled;
        char buffer[kMaxLine];
        evbuffer_copyout(in, buffer, line_length);
        const std::string_view line(buffer, line_length);
        const size_t line_end = line_length + 2;

        if (get && line.starts_with("VALUE ")) {
            // The byte count is the fourth word.
            std::string_view rest = line;
            for (int word = 0; word < 3; ++word) {
                const size_t space = rest.find(' ');
                if (space == std::string_view::npos) return Reply::garbled;
                rest.remove_prefix(space + 1);
            }
            size_t bytes = 0;
            if (!parse_number<size_t>(rest.substr(0, rest.find(' ')), 0, size_t{1} << 40, bytes)) return Reply::garbled;
            constexpr std::string_view kTrailer = "\r\nEND\r\n";
            if (evbuffer_get_length(in) < line_end + bytes + kTrailer.size()) return Reply::incomplete;
            char trailer[kTrailer.size()];
            evbuffer_ptr at;
            evbuffer_ptr_set(in, &at, line_end + bytes, EVBUFFER_PTR_SET);
            evbuffer_copyout_from(in, &at, trailer, sizeof trailer);
            if (std::string_view(trailer, sizeof trailer) != kTrailer) return Reply::garbled;
            evbuffer_drain(in, line_end + bytes + kTrailer.size());
            return bytes == value_size_ ? Reply::hit : Reply::wrong_length;
        }

        Reply result = Reply::garbled;
        if (get && line == "END") {
            result = Reply::miss;
        } else if (!get && line == "STORED") {
            result = Reply::stored;
        } else if (line == "ERROR" || line.starts_with("CLIENT_ERROR ") || line.starts_with("SERVER_ERROR ") ||
                   (!get && line == "NOT_STORED")) {
            result = Reply::error;
        }
        if (result != Reply::garbled) evbuffer_drain(in, line_end);
        return result;
    }

    Protocol protocol_;
    size_t value_size_;
    redisReader* redis_;
};

// ---------------------------------------------------------------------------------------------
// Connections and the event loops that drive them

struct Shared {
    const Options& options;
    const KeySpace& keys;
    const ZipfCdf* cdf;  // null: uniform
    sockaddr_storage address;
    socklen_t address_length;
};

// Replies received in [from, until) are counted.
struct Window {
    Clock::time_point from;
    Clock::time_point until;
};

class Worker;

struct Connection {
    enum class State { connecting, open, gone };

    struct Pending {
        Clock::time_point sent;
        bool get;
    };

    Connection(Worker& worker, Protocol protocol, size_t value_size, uint64_t first_load_rank)
        : worker(worker), replies(protocol, value_size), next_load_rank(first_load_rank) {}

    Worker& worker;
    bufferevent* bev = nullptr;
    State state = State::connecting;
    ReplyReader replies;
    std::deque<Pending> in_flight;  // in the order sent, which is the order answered
    uint64_t next_load_rank;        // --load: ranks first, first + connections, ...
};

// libevent's default clock may be a coarse one, which would end a run milliseconds early.
event_base* new_event_base() {
    event_config* config = event_config_new();
    event_config_set_flag(config, EVENT_BASE_FLAG_PRECISE_TIMER);
    event_base* base = event_base_new_with_config(config);
    event_config_free(config);
    return base;
}

// One thread's event loop and connections.
class Worker {
public:
    Worker(const Shared& shared, unsigned index, const std::vector<int>& connection_indexes)
        : shared_(shared), options_(shared.options), base_(new_event_base()),
          window_size_(options_.load ? std::max(options_.pipeline, kLoadPipeline) : options_.pipeline) {
        // seed_seq keeps only 32 bits of each value.
        std::seed_seq seeds{options_.seed & 0xffffffff, options_.seed >> 32, uint64_t{index}};
        rng_.seed(seeds);
        for (const int i : connection_indexes) {
            connections_.push_back(std::make_unique<Connection>(*this, options_.protocol, options_.value_size, i));
        }
    }
    ~Worker() {
        for (auto& c : connections_) {
            if (c->bev != nullptr) bufferevent_free(c->bev);
        }
        event_base_free(base_);
    }
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Opens every connection; returns once each one is open or has failed.
    void connect() {
        for (auto& c : connections_) start_connecting(*c);
        if (resolved_ < connections_.size()) event_base_dispatch(base_);
    }

    void run(Window window) {
        window_ = window;
        for (auto& c : connections_) {
            if (c->state != Connection::State::open) continue;
            ++open_;
            bufferevent_enable(c->bev, EV_READ);
        }
        for (auto& c : connections_) {
            if (c->state == Connection::State::open) fill(*c);
        }
        if (!options_.load) {
            const auto left = std::chrono::duration_cast<std::chrono::microseconds>(window.until - Clock::now());
            const auto us = std::max<int64_t>(left.count(), 0);
            const timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
            event_base_loopexit(base_, &tv);
        }
        if (open_ > 0) event_base_dispatch(base_);
        finished_ = Clock::now();
    }

    const Stats& stats() const { return stats_; }
    int connect_failures() const { return connect_failures_; }
    int lost() const { return lost_; }
    const std::string& problem() const { return problem_; }
    Clock::time_point finished() const { return finished_; }

private:
    static void on_read(bufferevent*, void* arg) {
        auto& c = *static_cast<Connection*>(arg);
        c.worker.read_replies(c);
    }
    static void on_event(bufferevent*, short what, void* arg) {
        auto& c = *static_cast<Connection*>(arg);
        c.worker.handle_event(c, what);
    }

    void start_connecting(Connection& c) {
        const evutil_socket_t fd = socket(shared_.address.ss_family, SOCK_STREAM, 0);
        if (fd < 0) {
            connect_failed(c, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
            return;
        }
        evutil_make_socket_nonblocking(fd);
        const int one = 1;
        // Pipeline 1 would otherwise wait on Nagle's algorithm for every request.
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c.bev = bufferevent_socket_new(base_, fd, BEV_OPT_CLOSE_ON_FREE);
        bufferevent_setcb(c.bev, on_read, nullptr, on_event, &c);
        // While connecting, libevent applies the write timeout to the connect.
        const timeval connect_timeout{5, 0};
        bufferevent_set_timeouts(c.bev, nullptr, &connect_timeout);
        // A failure is reported through on_event, even one that happens right here.
        bufferevent_socket_connect(c.bev, reinterpret_cast<const sockaddr*>(&shared_.address),
                                   static_cast<int>(shared_.address_length));
    }

    void connect_failed(Connection& c, const std::string& reason) {
        ++connect_failures_;
        note_problem(reason);
        release(c);
        connect_resolved();
    }

    void connect_resolved() {
        if (++resolved_ == connections_.size()) event_base_loopbreak(base_);
    }

    void handle_event(Connection& c, short what) {
        if (c.state == Connection::State::connecting) {
            if ((what & BEV_EVENT_CONNECTED) != 0) {
                c.state = Connection::State::open;
                bufferevent_set_timeouts(c.bev, nullptr, nullptr);
                connect_resolved();
            } else {
                connect_failed(c, (what & BEV_EVENT_TIMEOUT) != 0
                                      ? "connection timed out"
                                      : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
            }
            return;
        }
        lose(c, (what & BEV_EVENT_EOF) != 0 ? "connection closed by the server"
                                            : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    }

    void read_replies(Connection& c) {
        evbuffer* in = bufferevent_get_input(c.bev);
        for (;;) {
            const bool get = c.in_flight.empty() || c.in_flight.front().get;
            const Reply reply = c.replies.next(in, get);
            if (reply == Reply::incomplete) break;
            const Clock::time_point now = Clock::now();
            if (c.in_flight.empty()) {
                lose(c, "reply to no request");
                return;
            }
            const Connection::Pending request = c.in_flight.front();
            c.in_flight.pop_front();
            record(request, reply, now);
            if (reply == Reply::garbled) {
                lose(c, "unparseable or unexpected reply");
                return;
            }
        }
        fill(c);
    }

    void fill(Connection& c) {
        while (c.in_flight.size() < static_cast<size_t>(window_size_)) {
            if (options_.load) {
                if (c.next_load_rank >= options_.keys) break;
                send(c, false, c.next_load_rank);
                c.next_load_rank += static_cast<uint64_t>(options_.connections);
            } else {
                const bool get = read_(rng_);
                send(c, get, draw(get || !options_.uniform_writes));
            }
        }
        if (options_.load && c.in_flight.empty()) finish(c);
    }

    uint64_t draw(bool zipf) {
        return zipf && shared_.cdf != nullptr ? shared_.cdf->rank(unit_(rng_)) : any_rank_(rng_);
    }

    void send(Connection& c, bool get, uint64_t rank) {
        shared_.keys.key(rank, key_);
        encode_request(options_.protocol, get, key_, get ? std::string_view() : shared_.keys.value(rank), request_);
        bufferevent_write(c.bev, request_.data(), request_.size());
        c.in_flight.push_back({Clock::now(), get});
    }

    void record(const Connection::Pending& request, Reply reply, Clock::time_point now) {
        if (now < window_.from || now >= window_.until) return;
        ++(request.get ? stats_.reads : stats_.writes);
        switch (reply) {
        case Reply::hit: ++stats_.hits; break;
        case Reply::miss: ++stats_.misses; break;
        case Reply::stored: ++stats_.stored; break;
        default: ++stats_.errors; break;
        }
        stats_.latency.add(now - request.sent);
    }

    // The server closed the connection, or its bytes cannot be followed: what was in flight is lost.
    void lose(Connection& c, const std::string& reason) {
        const Clock::time_point now = Clock::now();
        if (now >= window_.from && now < window_.until) stats_.errors += c.in_flight.size();
        ++lost_;
        note_problem(reason);
        finish(c);
    }

    void finish(Connection& c) {
        release(c);
        if (--open_ == 0) event_base_loopbreak(base_);
    }

    void release(Connection& c) {
        if (c.bev != nullptr) bufferevent_free(c.bev);
        c.bev = nullptr;
        c.state = Connection::State::gone;
        c.in_flight.clear();
    }

    void note_problem(const std::string& reason) {
        if (problem_.empty()) problem_ = reason;
    }

    const Shared& shared_;
    const Options& options_;
    event_base* base_;
    const int window_size_;
    std::vector<std::unique_ptr<Connection>> connections_;
    std::mt19937_64 rng_;
    std::bernoulli_distribution read_{options_.read_ratio};
    std::uniform_real_distribution<double> unit_{0.0, 1.0};
    std::uniform_int_distribution<uint64_t> any_rank_{0, options_.keys - 1};
    std::string key_;
    std::string request_;

    Window window_{};
    Stats stats_;
    size_t resolved_ = 0;
    int open_ = 0;
    int connect_failures_ = 0;
    int lost_ = 0;
    std::string problem_;
    Clock::time_point finished_{};
};

bool resolve(const Options& options, Shared& shared) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = getaddrinfo(options.host.c_str(), std::to_string(options.port).c_str(), &hints, &found);
    if (rc != 0) {
        std::fprintf(stderr, "zipf_load: cannot resolve %s: %s\n", options.host.c_str(), gai_strerror(rc));
        return false;
    }
    std::memcpy(&shared.address, found->ai_addr, found->ai_addrlen);
    shared.address_length = found->ai_addrlen;
    freeaddrinfo(found);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (const std::optional<int> status = parse_options(argc, argv, options)) return *status;
    // A write to a connection the server closed must become an error event, not a signal.
    std::signal(SIGPIPE, SIG_IGN);

    const KeySpace keys(options.key_prefix, options.keys, options.value_size);
    std::optional<ZipfCdf> cdf;
    if (options.zipf > 0) cdf.emplace(options.keys, options.zipf);
    Shared shared{options, keys, cdf ? &*cdf : nullptr, {}, 0};
    if (!resolve(options, shared)) return 1;

    std::vector<std::unique_ptr<Worker>> workers;
    for (int t = 0; t < options.threads; ++t) {
        std::vector<int> mine;
        for (int i = t; i < options.connections; i += options.threads) mine.push_back(i);
        workers.push_back(std::make_unique<Worker>(shared, static_cast<unsigned>(t), mine));
    }
    // Every connection is open before the clock starts, so that connecting is not measured and a
    // server that is not there is reported at once.
    for (auto& w : workers) w->connect();
    for (const auto& w : workers) {
        if (w->connect_failures() > 0) {
            std::fprintf(stderr, "zipf_load: cannot connect to %s port %d: %s\n", options.host.c_str(), options.port,
                         w->problem().c_str());
            return 1;
        }
    }

    const Clock::time_point start = Clock::now();
    Window window{start, Clock::time_point::max()};
    if (!options.load) {
        const auto seconds = [](double s) {
            return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
        };
        window.from = start + seconds(options.warmup);
        window.until = window.from + seconds(options.duration);
    }
    std::vector<std::thread> threads;
    for (auto& w : workers) threads.emplace_back([&w, window] { w->run(window); });
    for (auto& t : threads) t.join();

    Stats total;
    Clock::time_point finished = start;
    int lost = 0;
    std::string problem;
    for (const auto& w : workers) {
        total.merge(w->stats());
        finished = std::max(finished, w->finished());
        lost += w->lost();
        if (problem.empty()) problem = w->problem();
    }
    const double seconds =
        std::max(0.0, std::chrono::duration<double>(std::min(finished, window.until) - window.from).count());
    const uint64_t ops = total.reads + total.writes;
    std::printf("ops=%" PRIu64 " ops_per_sec=%.0f reads=%" PRIu64 " writes=%" PRIu64 " hits=%" PRIu64 " misses=%" PRIu64
                " errors=%" PRIu64 " p50_us=%" PRIu64 " p90_us=%" PRIu64 " p99_us=%" PRIu64 " p999_us=%" PRIu64
                " seconds=%.3f\n",
                ops, seconds > 0 ? static_cast<double>(ops) / seconds : 0.0, total.reads, total.writes, total.hits,
                total.misses, total.errors, total.latency.percentile(0.5), total.latency.percentile(0.9),
                total.latency.percentile(0.99), total.latency.percentile(0.999), seconds);

    int status = 0;
    if (lost > 0) {
        std::fprintf(stderr, "zipf_load: lost %d of %d connections (%s)\n", lost, options.connections, problem.c_str());
        status = 1;
    }
    if (options.load && total.stored != options.keys) {
        std::fprintf(stderr, "zipf_load: --load stored %" PRIu64 " of %" PRIu64 " keys\n", total.stored, options.keys);
        status = 1;
    }
    return status;
}
