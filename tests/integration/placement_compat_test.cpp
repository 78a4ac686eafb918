// Placement compatibility with twemproxy, against the real thing: for the same server list, names
// and weights, shardproxy sends every key to the backend that nutcracker 0.5 sends it to.
//
// Each scenario runs nutcracker and shardproxy on the same four redis-servers. Every key is SET
// through nutcracker with the value "nc", then read back through shardproxy: a GET that returns
// "nc" proves shardproxy asked the backend nutcracker wrote to, since each key exists on exactly
// one backend (checked with DBSIZE). For the first few keys that differ, the test asks the
// backends directly where each proxy put the key and prints both.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdio>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "support/processes.h"

using namespace shardproxy::testing;

namespace {

constexpr size_t backend_count = 4;
constexpr size_t key_count = 10000;
constexpr size_t batch_size = 1000;
constexpr int reported_mismatches = 5;

// Names of different lengths, listed out of order, so that twemproxy's identity order (shorter
// first, then bytewise) differs from both the file order and plain bytewise order.
const std::vector<std::string> server_names = {"server-delta", "b", "alpha", "cc"};

struct Scenario {
    std::string hash;
    std::string distribution = "ketama";
    bool named = true;                  // false: identities are "host:port"
    std::vector<int> weights = {1, 1, 1, 1};
    bool hash_tag = true;               // "{}" in both proxies
    size_t backends_used = backend_count;  // how many backends receive keys (a sanity check)
};

std::string label(const Scenario& s) {
    std::ostringstream text;
    text << "hash=" << s.hash << " distribution=" << s.distribution
         << (s.named ? " named" : " unnamed") << " weights=";
    for (size_t i = 0; i < s.weights.size(); ++i) text << (i ? "," : "") << s.weights[i];
    text << " hash_tag=" << (s.hash_tag ? "{}" : "none");
    return text.str();
}

std::vector<std::unique_ptr<RedisServer>>& backends() {
    static std::vector<std::unique_ptr<RedisServer>> servers = [] {
        std::vector<std::unique_ptr<RedisServer>> started;
        for (size_t i = 0; i < backend_count; ++i) started.push_back(std::make_unique<RedisServer>());
        return started;
    }();
    return servers;
}

std::string backend_text(const Scenario& s, size_t i) {
    const std::string address = backends()[i]->address();
    return "backend " + std::to_string(i) + " (" + (s.named ? server_names[i] + " at " : "") + address + ")";
}

// Printable bytes as they are, the rest as \xHH, so any key can be read in a failure message.
std::string printable(const std::string& key) {
    std::string text = "\"";
    for (unsigned char c : key) {
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            text += static_cast<char>(c);
        } else {
            char escaped[5];
            std::snprintf(escaped, sizeof(escaped), "\\x%02x", c);
            text += escaped;
        }
    }
    return text + "\"";
}

// 10,000 distinct keys, the same on every run: edge cases of hash tags and bytes, sequential
// names, random printable keys, keys with bytes >= 0x80 (which twemproxy's fnv1a_64 widens as
// signed chars), and hash-tagged keys.
const std::vector<std::string>& test_keys() {
    static const std::vector<std::string> keys = [] {
        std::vector<std::string> out;
        std::unordered_set<std::string> seen;
        auto add = [&](std::string key) {
            if (!key.empty() && out.size() < key_count && seen.insert(key).second) out.push_back(std::move(key));
        };
        for (const char* key : {"apple", "a", "{}", "{}x", "x{}", "{", "}", "}{", "a{b", "a}b{c}", "{{x}}",
                                "}{x}", "{x}{y}", "{x}", "x{y}z", "{user:1}", "{ü}:profile", "\x80", "\xff",
                                "\x7f", "key with spaces", "tab\tkey", "crlf\r\nkey"}) {
            add(key);
        }
        add(std::string("nul\0key", 7));
        add(std::string(300, 'L'));
        add(std::string(300, '\xe9'));
        for (int i = 0; i < 1000; ++i) add("key:" + std::to_string(i));

        std::mt19937 random(20240531);
        auto length = [&] { return std::uniform_int_distribution<int>(1, 48)(random); };
        std::uniform_int_distribution<int> printable_byte(0x20, 0x7e);
        std::uniform_int_distribution<int> any_byte(0x01, 0xff);
        std::uniform_int_distribution<int> high_byte(0x80, 0xff);
        while (out.size() < 5500) {
            std::string key(static_cast<size_t>(length()), ' ');
            for (char& c : key) c = static_cast<char>(printable_byte(random));
            add(std::move(key));
        }
        while (out.size() < 8000) {
            std::string key(static_cast<size_t>(length()), ' ');
            for (char& c : key) c = static_cast<char>(any_byte(random));
            key[static_cast<size_t>(random()) % key.size()] = static_cast<char>(high_byte(random));
            add(std::move(key));
        }
        static const char* fields[] = {"profile", "cart", "session"};
        for (int n = 0; out.size() < key_count; ++n) {
            if (n % 10 == 9) {
                add("{user:\xc3\xa9" + std::to_string(n / 3) + "}:" + fields[n % 3]);  // tag with high bytes
            } else {
                add("{user:" + std::to_string(n / 3) + "}:" + fields[n % 3]);
            }
        }
        return out;
    }();
    return keys;
}

std::string nutcracker_yaml(const Scenario& s) {
    std::string yaml = "pool:\n  listen: 127.0.0.1:@PORT@\n  hash: " + s.hash + "\n  distribution: " +
                       s.distribution + "\n";
    if (s.hash_tag) yaml += "  hash_tag: \"{}\"\n";
    yaml += "  redis: true\n  auto_eject_hosts: false\n  timeout: 5000\n  servers:\n";
    for (size_t i = 0; i < backend_count; ++i) {
        yaml += "   - " + backends()[i]->address() + ":" + std::to_string(s.weights[i]) +
                (s.named ? " " + server_names[i] : "") + "\n";
    }
    return yaml;
}

std::string shardproxy_toml(const Scenario& s) {
    std::string servers;
    for (size_t i = 0; i < backend_count; ++i) {
        servers += (i ? ", " : "") + std::string("\"") + backends()[i]->address() + ":" +
                   std::to_string(s.weights[i]) + (s.named ? " " + server_names[i] : "") + "\"";
    }
    return "[proxy]\nworkers = 2\n\n[[listener]]\nlisten = \"127.0.0.1:@PORT@\"\nprotocol = \"redis\"\n"
           "pool = \"main\"\n\n[pool.main]\nprotocol = \"redis\"\nservers = [" + servers + "]\n"
           "hash = \"" + s.hash + "\"\ndistribution = \"" + s.distribution + "\"\n"
           "hash_tag = \"" + (s.hash_tag ? "{}" : "") + "\"\ntimeout_ms = 5000\n";
}

// The backends that hold the key with exactly this value, asked directly.
std::string holders_of(const Scenario& s, const std::string& key, const std::string& value) {
    std::string found;
    for (size_t i = 0; i < backend_count; ++i) {
        Client direct(backends()[i]->port());
        if (describe(direct.command({"GET", key}).get()) == "string:" + value) {
            found += (found.empty() ? "" : " and ") + backend_text(s, i);
        }
    }
    return found.empty() ? "no backend" : found;
}

void check_placement(const Scenario& s) {
    const std::string scenario = label(s);
    INFO("scenario: " << scenario);
    REQUIRE(s.weights.size() == backend_count);
    for (auto& backend : backends()) {
        Client direct(backend->port());
        REQUIRE(describe(direct.command({"FLUSHALL"}).get()) == "status:OK");
    }

    Nutcracker nutcracker(nutcracker_yaml(s));
    ShardProxy proxy(shardproxy_toml(s));
    const std::vector<std::string>& keys = test_keys();
    REQUIRE(keys.size() == key_count);

    // Every key through nutcracker, where nutcracker puts it.
    Client through_nutcracker(nutcracker.port(), 10000);
    size_t failed_sets = 0;
    for (size_t first = 0; first < keys.size(); first += batch_size) {
        std::vector<std::vector<std::string>> batch;
        for (size_t i = first; i < std::min(keys.size(), first + batch_size); ++i) batch.push_back({"SET", keys[i], "nc"});
        const auto replies = through_nutcracker.pipeline(batch);
        for (size_t j = 0; j < replies.size(); ++j) {
            const std::string reply = describe(replies[j].get());
            if (reply != "status:OK" && ++failed_sets <= reported_mismatches) {
                FAIL_CHECK("SET " << printable(keys[first + j]) << " through nutcracker answered " << reply);
            }
        }
    }
    REQUIRE_MESSAGE(failed_sets == 0, failed_sets << " SETs through nutcracker failed");

    // Each key on exactly one backend, and the keys spread as expected.
    long long stored = 0;
    size_t used = 0;
    std::string spread;
    for (size_t i = 0; i < backend_count; ++i) {
        Client direct(backends()[i]->port());
        const long long size = direct.command({"DBSIZE"})->integer;
        stored += size;
        used += size > 0 ? 1 : 0;
        spread += (i ? "/" : "") + std::to_string(size);
    }
    INFO("keys per backend after nutcracker: " << spread);
    REQUIRE(stored == static_cast<long long>(key_count));
    CHECK(used == s.backends_used);

    // Every key read back through shardproxy must come from the backend nutcracker chose.
    Client through_shardproxy(proxy.port(), 10000);
    std::vector<size_t> mismatched;
    std::vector<std::string> mismatch_replies;
    for (size_t first = 0; first < keys.size(); first += batch_size) {
        std::vector<std::vector<std::string>> batch;
        for (size_t i = first; i < std::min(keys.size(), first + batch_size); ++i) batch.push_back({"GET", keys[i]});
        const auto replies = through_shardproxy.pipeline(batch);
        for (size_t j = 0; j < replies.size(); ++j) {
            const std::string reply = describe(replies[j].get());
            if (reply != "string:nc") {
                mismatched.push_back(first + j);
                mismatch_replies.push_back(reply);
            }
        }
    }

    for (size_t m = 0; m < mismatched.size() && m < static_cast<size_t>(reported_mismatches); ++m) {
        const std::string& key = keys[mismatched[m]];
        const std::string nutcracker_backend = holders_of(s, key, "nc");
        // Write the key through shardproxy too (it reads elsewhere, so nothing is overwritten) and
        // look for where it went.
        through_shardproxy.command({"SET", key, "sp"});
        const std::string shardproxy_backend = holders_of(s, key, "sp");
        FAIL_CHECK("[" << scenario << "] key " << printable(key) << " (key #" << mismatched[m]
                       << "): nutcracker put it on " << nutcracker_backend << ", shardproxy uses "
                       << shardproxy_backend << " (its GET answered " << mismatch_replies[m] << ")");
    }
    CHECK_MESSAGE(mismatched.empty(), "[" << scenario << "] " << mismatched.size() << " of " << keys.size()
                                          << " keys are placed differently from nutcracker");
}

}  // namespace

TEST_CASE("fnv1a_64 with names places keys as nutcracker does") {
    check_placement({.hash = "fnv1a_64"});
}

TEST_CASE("fnv1a_64 without names (host:port identities) places keys as nutcracker does") {
    check_placement({.hash = "fnv1a_64", .named = false});
}

TEST_CASE("md5 with names and unequal weights places keys as nutcracker does") {
    check_placement({.hash = "md5", .weights = {1, 2, 3, 1}});
}

TEST_CASE("md5 without names, unequal weights, places keys as nutcracker does") {
    check_placement({.hash = "md5", .named = false, .weights = {1, 2, 3, 1}});
}

TEST_CASE("murmur with names places keys as nutcracker does") {
    check_placement({.hash = "murmur"});
}

TEST_CASE("one_at_a_time with names places keys as nutcracker does") {
    check_placement({.hash = "one_at_a_time"});
}

TEST_CASE("crc32a with names places keys as nutcracker does") {
    check_placement({.hash = "crc32a"});
}

TEST_CASE("hsieh with names places keys as nutcracker does") {
    check_placement({.hash = "hsieh"});
}

TEST_CASE("fnv1_64 with names places keys as nutcracker does") {
    check_placement({.hash = "fnv1_64"});
}

TEST_CASE("jenkins with names places keys as nutcracker does") {
    check_placement({.hash = "jenkins"});
}

TEST_CASE("crc16 with names places keys as nutcracker does") {
    check_placement({.hash = "crc16"});
}

// twemproxy's crc32 is 15 bits wide, below every ketama point of these four servers: every key
// goes to the owner of the ring's first point, on nutcracker as on shardproxy.
TEST_CASE("crc32 with names places keys as nutcracker does") {
    check_placement({.hash = "crc32", .backends_used = 1});
}

TEST_CASE("fnv1_32 with names places keys as nutcracker does") {
    check_placement({.hash = "fnv1_32"});
}

TEST_CASE("fnv1a_32 with names places keys as nutcracker does") {
    check_placement({.hash = "fnv1a_32"});
}

TEST_CASE("murmur without names, unequal weights, places keys as nutcracker does") {
    check_placement({.hash = "murmur", .named = false, .weights = {3, 1, 2, 5}});
}

// 1/301 of 160 points rounds down to none: the light server gets no key on either proxy.
TEST_CASE("a weight too small for any ketama point gets no keys, as on nutcracker") {
    check_placement({.hash = "fnv1a_64", .weights = {100, 100, 1, 100}, .backends_used = 3});
}

TEST_CASE("without a hash tag, braces are hashed like any byte, as on nutcracker") {
    check_placement({.hash = "fnv1a_64", .hash_tag = false});
}

TEST_CASE("modula with names and unequal weights places keys as nutcracker does") {
    check_placement({.hash = "md5", .distribution = "modula", .weights = {1, 2, 3, 1}});
}

TEST_CASE("modula without names places keys as nutcracker does") {
    check_placement({.hash = "fnv1a_64", .distribution = "modula", .named = false});
}
