// shardproxy's `distribution = "ketama"` with `hash = "md5"` against libmemcached's own weighted
// ketama (MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED), key by key, so a fleet sharded by libmemcached
// clients can be put behind shardproxy without moving keys.
//
// Everything runs in-process: libmemcached only records servers when they are added (no name
// lookup) and only hashes when asked where a key goes; it connects on the first real command,
// which these tests never send. Each comparison checks that libmemcached neither holds a socket
// nor remembers a failed connection, with connect and poll timeouts of 1 ms should that ever
// change, and the servers are documentation addresses, names under ".invalid" or bare labels.
#include <doctest/doctest.h>
#include <libmemcached-1.0/memcached.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "conf/server_string.h"
#include "routing/hash_function.h"
#include "routing/ketama.h"
#include "routing/topology.h"

using namespace shardproxy;

namespace {

constexpr size_t keys_per_list = 10000;

struct Server {
    std::string host;  // as given to libmemcached: name or literal, IPv6 without brackets
    in_port_t port;
    uint32_t weight = 1;
};

// Sockets the process holds; libmemcached would keep one open per server it connected to.
size_t open_sockets() {
    size_t sockets = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code error;
        const std::filesystem::path target = std::filesystem::read_symlink(entry.path(), error);
        if (!error && target.string().starts_with("socket:")) ++sockets;
    }
    return sockets;
}

// Fails the enclosing test if anything in its scope opened a socket (and left it open, as
// libmemcached does with a connection).
class NoNewSockets {
public:
    NoNewSockets() : before_(open_sockets()) {}
    ~NoNewSockets() { CHECK_MESSAGE(open_sockets() == before_, "libmemcached opened a socket"); }
    NoNewSockets(const NoNewSockets&) = delete;
    NoNewSockets& operator=(const NoNewSockets&) = delete;

private:
    size_t before_;
};

struct MemcachedFree {
    void operator()(memcached_st* memc) const { memcached_free(memc); }
};
using Memcached = std::unique_ptr<memcached_st, MemcachedFree>;

struct LibmemcachedOptions {
    bool sort_hosts = false;
    memcached_hash_t key_hash = MEMCACHED_HASH_MD5;  // what KETAMA_WEIGHTED sets
    std::string key_namespace;                       // MEMCACHED_CALLBACK_NAMESPACE, sent before every key
    bool hash_with_namespace = false;                // MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY
};

// A libmemcached client set up as a weighted-ketama user would: KETAMA_WEIGHTED on, then the
// servers in config order.
Memcached weighted_ketama_client(const std::vector<Server>& servers, const LibmemcachedOptions& options = {}) {
    Memcached memc(memcached_create(nullptr));
    REQUIRE(memc);
    memcached_st* m = memc.get();
    // Nothing here should connect; should that ever change, fail fast rather than hang.
    REQUIRE(memcached_behavior_set(m, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, 1) == MEMCACHED_SUCCESS);
    REQUIRE(memcached_behavior_set(m, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 1) == MEMCACHED_SUCCESS);
    REQUIRE(memcached_behavior_set(m, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1) == MEMCACHED_SUCCESS);
    if (options.key_hash != MEMCACHED_HASH_MD5) {
        REQUIRE(memcached_behavior_set(m, MEMCACHED_BEHAVIOR_HASH, options.key_hash) == MEMCACHED_SUCCESS);
    }
    if (options.sort_hosts) {
        REQUIRE(memcached_behavior_set(m, MEMCACHED_BEHAVIOR_SORT_HOSTS, 1) == MEMCACHED_SUCCESS);
    }
    if (!options.key_namespace.empty()) {
        REQUIRE(memcached_callback_set(m, MEMCACHED_CALLBACK_NAMESPACE, options.key_namespace.c_str()) ==
                MEMCACHED_SUCCESS);
    }
    if (options.hash_with_namespace) {
        REQUIRE(memcached_behavior_set(m, MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY, 1) == MEMCACHED_SUCCESS);
    }
    for (const Server& server : servers) {
        REQUIRE(memcached_server_add_with_weight(m, server.host.c_str(), server.port, server.weight) ==
                MEMCACHED_SUCCESS);
    }
    REQUIRE(memcached_server_count(m) == servers.size());
    return memc;
}

// A connection attempt, even a failed one, leaves its trace: libmemcached remembers the last
// server it lost and the server's error. (A successful one leaves a socket; see NoNewSockets.)
void check_never_connected(const memcached_st* memc) {
    CHECK(memcached_server_get_last_disconnect(memc) == nullptr);
    for (uint32_t i = 0; i < memcached_server_count(memc); ++i) {
        CHECK(memcached_server_error_return(memcached_server_instance_by_position(memc, i)) == MEMCACHED_SUCCESS);
    }
}

// Config position of the server libmemcached picks for the key, asked both ways: the hash
// (an index into its server list) and memcached_server_by_key (the server itself), which must
// agree. The list is in config order unless SORT_HOSTS reordered it, so map back by address.
// UINT32_MAX when libmemcached's two answers disagree or name a server it was not given.
uint32_t libmemcached_server(memcached_st* memc, const std::vector<Server>& servers, std::string_view key) {
    const uint32_t index = memcached_generate_hash(memc, key.data(), key.size());
    const memcached_instance_st* by_index = memcached_server_instance_by_position(memc, index);
    memcached_return_t rc = MEMCACHED_SUCCESS;
    const memcached_instance_st* by_key = memcached_server_by_key(memc, key.data(), key.size(), &rc);
    if (rc != MEMCACHED_SUCCESS || by_key == nullptr || by_key != by_index) return UINT32_MAX;
    const std::string_view host = memcached_server_name(by_key);
    const in_port_t port = memcached_server_port(by_key);
    for (size_t i = 0; i < servers.size(); ++i) {
        if (servers[i].host == host && servers[i].port == port) return static_cast<uint32_t>(i);
    }
    return UINT32_MAX;
}

// The server as a pool's `servers` entry: "host:port:weight", IPv6 in brackets, no name.
std::string server_string(const Server& server) {
    const bool ipv6 = server.host.find(':') != std::string::npos;
    const std::string host = ipv6 ? "[" + server.host + "]" : server.host;
    return host + ":" + std::to_string(server.port) + ":" + std::to_string(server.weight);
}

std::vector<std::string> server_strings(const std::vector<Server>& servers) {
    std::vector<std::string> strings;
    for (const Server& server : servers) strings.push_back(server_string(server));
    return strings;
}

// What a validated `[pool.*]` with these servers holds.
conf::PoolConfig memcache_pool(const std::vector<std::string>& servers, std::string_view hash) {
    conf::PoolConfig pool;
    pool.name = "mc";
    pool.protocol = conf::Protocol::memcache;
    pool.hash = std::string(hash);
    pool.distribution = "ketama";
    for (const std::string& text : servers) {
        conf::ServerParse parsed = conf::parse_server(text);
        REQUIRE_MESSAGE(parsed.error.empty(), parsed.error);
        pool.servers.push_back(std::move(parsed.server));
    }
    return pool;
}

// shardproxy's placement for a pool, built the way the proxy builds it.
std::shared_ptr<const routing::Topology> topology_for(conf::PoolConfig pool) {
    conf::Config config;
    config.pools.push_back(std::move(pool));
    std::string error;
    std::shared_ptr<const routing::Topology> topology = routing::Topology::build(std::move(config), error);
    REQUIRE_MESSAGE(topology != nullptr, error);
    REQUIRE(topology->pools().size() == 1);
    return topology;
}

// Keys a memcached client may send (1..249 bytes): counters, ids, printable text, and arbitrary
// bytes above 0x20 including >= 0x80. Fixed seed, so every run checks the same keys.
std::vector<std::string> sample_keys(size_t count) {
    std::mt19937 random(0x5eed1234u);
    std::vector<std::string> keys;
    keys.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        std::string key;
        switch (i % 4) {
            case 0: key = "key:" + std::to_string(i); break;
            case 1: key = "user:" + std::to_string(random() % 1000000) + ":session"; break;
            case 2: {
                const size_t length = 1 + random() % 64;
                for (size_t c = 0; c < length; ++c) key += static_cast<char>('!' + random() % 94);
                break;
            }
            default: {
                const size_t length = 1 + random() % 249;
                for (size_t c = 0; c < length; ++c) key += static_cast<char>(0x21 + random() % 0xdf);
                break;
            }
        }
        keys.push_back(std::move(key));
    }
    return keys;
}

const std::vector<std::string>& keys() {
    static const std::vector<std::string> all = sample_keys(keys_per_list);
    return all;
}

std::string describe(const std::vector<std::string>& strings) {
    std::string text;
    for (const std::string& server : strings) {
        if (!text.empty()) text += ", ";
        text += server;
    }
    return text;
}

struct Comparison {
    size_t keys = 0;
    size_t disagreements = 0;
    std::vector<size_t> per_server;  // keys libmemcached put on each server
};

// Asks libmemcached (set up with `servers`) and shardproxy (a pool of `pool_servers`, the same
// servers as strings) where each key goes. shardproxy sees the key as it arrives on the wire,
// behind the client's namespace.
Comparison compare(const std::vector<Server>& servers, const std::vector<std::string>& pool_servers,
                   const LibmemcachedOptions& options = {}, std::string_view hash = "md5") {
    const NoNewSockets no_sockets;
    const Memcached memc = weighted_ketama_client(servers, options);
    const auto topology = topology_for(memcache_pool(pool_servers, hash));
    const routing::KeyPlacement& placement = topology->pools()[0].placement;
    Comparison result;
    result.per_server.assign(servers.size(), 0);
    std::string wire_key;
    for (const std::string& key : keys()) {
        // memcached refuses keys of 250 bytes and more, namespace included.
        if (options.key_namespace.size() + key.size() >= MEMCACHED_MAX_KEY) continue;
        const uint32_t expected = libmemcached_server(memc.get(), servers, key);
        if (expected == UINT32_MAX) {
            CAPTURE(key);
            FAIL("libmemcached gave no consistent answer for the key");
        }
        wire_key = options.key_namespace;
        wire_key += key;
        ++result.keys;
        ++result.per_server[expected];
        if (placement.server_for(wire_key) != expected) ++result.disagreements;
    }
    check_never_connected(memc.get());
    return result;
}

// Every key must land on the same config position in libmemcached and in shardproxy.
void require_same_placement(const std::vector<Server>& servers, const LibmemcachedOptions& options = {},
                            std::string_view hash = "md5") {
    const std::vector<std::string> strings = server_strings(servers);
    const std::string fleet = describe(strings);
    CAPTURE(fleet);
    const Comparison result = compare(servers, strings, options, hash);
    CHECK(result.keys == keys_per_list);
    CHECK(result.disagreements == 0);
    // Not a placement rule, just proof the keys reached every server of an equal-weight pool
    // (each has about 160 of the ring's points).
    const bool equal_weights = std::all_of(servers.begin(), servers.end(),
                                           [&](const Server& s) { return s.weight == servers[0].weight; });
    if (equal_weights && servers.size() <= 10 && hash == "md5") {
        CHECK(std::count(result.per_server.begin(), result.per_server.end(), 0u) == 0);
    }
}

std::vector<Server> numbered(size_t count, std::string_view prefix, std::string_view suffix, in_port_t port) {
    std::vector<Server> servers;
    for (size_t i = 1; i <= count; ++i) {
        servers.push_back({std::string(prefix) + std::to_string(i) + std::string(suffix), port, 1});
    }
    return servers;
}

}  // namespace

TEST_CASE("libmemcached: KETAMA_WEIGHTED switches on weighted ketama with md5 for keys and points") {
    const NoNewSockets no_sockets;
    Memcached memc(memcached_create(nullptr));
    REQUIRE(memc);
    // A fresh client: modula over one_at_a_time ("default"), weighted ketama off.
    CHECK(memcached_behavior_get(memc.get(), MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED) == 0);
    CHECK(memcached_behavior_get(memc.get(), MEMCACHED_BEHAVIOR_KETAMA) == 0);
    CHECK(memcached_behavior_get(memc.get(), MEMCACHED_BEHAVIOR_DISTRIBUTION) == MEMCACHED_DISTRIBUTION_MODULA);
    CHECK(memcached_behavior_get(memc.get(), MEMCACHED_BEHAVIOR_HASH) == MEMCACHED_HASH_DEFAULT);
    CHECK(memcached_behavior_get(memc.get(), MEMCACHED_BEHAVIOR_KETAMA_HASH) == MEMCACHED_HASH_DEFAULT);
    CHECK(memcached_behavior_get(memc.get(), MEMCACHED_BEHAVIOR_SORT_HOSTS) == 0);

    // Turning it on also sets the key hash (and the unused-when-weighted point hash) to md5, so
    // `hash = "md5"` is the matching shardproxy setting without setting MEMCACHED_BEHAVIOR_HASH.
    REQUIRE(memcached_behavior_set(memc.get(), MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1) == MEMCACHED_SUCCESS);
    CHECK(memcached_behavior_get(memc.get(), MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED) == 1);
    CHECK(memcached_behavior_get(memc.get(), MEMCACHED_BEHAVIOR_DISTRIBUTION) ==
          MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED);
    CHECK(memcached_behavior_get(memc.get(), MEMCACHED_BEHAVIOR_HASH) == MEMCACHED_HASH_MD5);
    CHECK(memcached_behavior_get(memc.get(), MEMCACHED_BEHAVIOR_KETAMA_HASH) == MEMCACHED_HASH_MD5);

    // Adding servers records them; it neither resolves nor connects.
    REQUIRE(memcached_server_add_with_weight(memc.get(), "cache-1.invalid", 11211, 2) == MEMCACHED_SUCCESS);
    REQUIRE(memcached_server_add(memc.get(), "192.0.2.7", 11212) == MEMCACHED_SUCCESS);
    CHECK(memcached_server_count(memc.get()) == 2);
    const routing::HashFunction md5 = routing::find_hash_function("md5");
    CHECK(memcached_generate_hash_value("apple", 5, MEMCACHED_HASH_MD5) == md5("apple", 5));
    check_never_connected(memc.get());
}

TEST_CASE("libmemcached: equal weights, 2 to 10 servers, agree on every key") {
    for (size_t count = 2; count <= 10; ++count) {
        CAPTURE(count);
        // Port 11211: libmemcached hashes "host-<i>", shardproxy's identity is the host alone.
        require_same_placement(numbered(count, "10.0.1.", "", 11211));
        // Other ports: "host:port-<i>" on both sides.
        require_same_placement(numbered(count, "198.51.100.", "", 11300));
        require_same_placement(numbered(count, "cache-", ".invalid", 11211));
        require_same_placement(numbered(count, "mc", ".example.invalid", 22122));
    }
}

TEST_CASE("libmemcached: unequal weights agree on every key") {
    require_same_placement({{"10.0.2.1", 11211, 1}, {"10.0.2.2", 11211, 2}, {"10.0.2.3", 11211, 3},
                            {"10.0.2.4", 11211, 5}});
    require_same_placement({{"cache-a.invalid", 11211, 5}, {"cache-b.invalid", 11212, 3},
                            {"192.0.2.10", 11211, 2}, {"192.0.2.11", 7000, 1}});
    require_same_placement({{"10.0.2.1", 11211, 1}, {"10.0.2.2", 11211, 100}});
    // 1/25 of 40 hashes x 5 servers is 8 exactly, but 7.9999995 in float: 28 points, not 32.
    require_same_placement({{"w1.invalid", 11211, 1}, {"w6a.invalid", 11211, 6}, {"w6b.invalid", 11211, 6},
                            {"w6c.invalid", 11211, 6}, {"w6d.invalid", 11211, 6}});
    // The light servers round down to no points at all, in libmemcached too.
    require_same_placement({{"s1.invalid", 11211, 1}, {"s2.invalid", 11211, 1000}, {"s3.invalid", 11211, 1}});
    require_same_placement({{"big.invalid", 11211, 65535}, {"small.invalid", 11211, 1},
                            {"mid.invalid", 11211, 300}});

    // Arbitrary weight mixes, 2..10 servers; fixed seed.
    std::mt19937 random(77);
    for (int round = 0; round < 30; ++round) {
        const size_t count = 2 + random() % 9;
        std::vector<Server> servers;
        for (size_t i = 0; i < count; ++i) {
            const uint32_t weight = 1 + random() % (round % 2 == 0 ? 10 : 1000);
            if (i % 2 == 0) {
                servers.push_back({"10.9." + std::to_string(round) + "." + std::to_string(i + 1), 11211, weight});
            } else {
                servers.push_back({"node" + std::to_string(i) + ".r" + std::to_string(round) + ".invalid",
                                   static_cast<in_port_t>(11000 + i), weight});
            }
        }
        require_same_placement(servers);
    }
}

TEST_CASE("libmemcached: a single server takes every key") {
    require_same_placement({{"10.0.3.1", 11211, 1}});
    require_same_placement({{"solo.invalid", 11212, 7}});
}

TEST_CASE("libmemcached: port 11211 mixed with other ports, host names mixed with IP literals") {
    // The same host on two ports: identities "192.0.2.20" and "192.0.2.20:11212".
    require_same_placement({{"192.0.2.20", 11211, 1}, {"192.0.2.20", 11212, 1}, {"192.0.2.21", 11211, 1}});
    require_same_placement({{"cache.invalid", 11211, 1}, {"cache.invalid", 11213, 2}, {"203.0.113.5", 11211, 1},
                            {"203.0.113.5", 6000, 1}, {"memcache", 11211, 1}, {"memcache", 11222, 3}});
    // Config order far from identity order (shorter identities first, then bytewise).
    require_same_placement({{"zz-long-hostname.example.invalid", 11211, 1}, {"a", 40000, 2},
                            {"10.0.0.100", 11211, 1}, {"B", 11211, 1}, {"10.0.0.2", 9, 4}, {"m", 11211, 1}});
    // A host name of the longest length DNS allows, with a port and a three-digit point suffix.
    std::string long_name;
    while (long_name.size() < 240) long_name += "abcdefghijklmnopqrstuvwxyz-0123456789.";
    long_name.resize(245);
    long_name += ".invalid";
    REQUIRE(long_name.size() == 253);
    require_same_placement({{long_name, 65535, 3}, {"short.invalid", 11211, 1}});
}

TEST_CASE("libmemcached: larger fleets agree on every key") {
    std::vector<Server> servers;
    for (int i = 1; i <= 40; ++i) {
        servers.push_back({i % 3 == 0 ? "mc" + std::to_string(i) + ".invalid" : "10.20.0." + std::to_string(i),
                           static_cast<in_port_t>(i % 4 == 0 ? 11211 : 11300 + i), static_cast<uint32_t>(1 + i % 5)});
    }
    require_same_placement(servers);
}

TEST_CASE("libmemcached: SORT_HOSTS reorders libmemcached's list but not where keys go") {
    require_same_placement({{"zeta.invalid", 11211, 1}, {"alpha.invalid", 11211, 2}, {"10.0.4.1", 11300, 3},
                            {"10.0.4.1", 11211, 1}},
                           {.sort_hosts = true});
}

TEST_CASE("libmemcached: weighted ketama with another key hash matches that shardproxy hash") {
    struct HashPair {
        memcached_hash_t libmemcached;
        std::string_view shardproxy;
    };
    const std::array<HashPair, 9> pairs{{
        {MEMCACHED_HASH_DEFAULT, "one_at_a_time"},
        {MEMCACHED_HASH_CRC, "crc32"},
        {MEMCACHED_HASH_FNV1_64, "fnv1_64"},
        {MEMCACHED_HASH_FNV1A_64, "fnv1a_64"},
        {MEMCACHED_HASH_FNV1_32, "fnv1_32"},
        {MEMCACHED_HASH_FNV1A_32, "fnv1a_32"},
        {MEMCACHED_HASH_MURMUR, "murmur"},
        {MEMCACHED_HASH_JENKINS, "jenkins"},
        {MEMCACHED_HASH_MURMUR3, "murmur3"},
    }};
    const std::vector<Server> servers = {{"10.0.5.1", 11211, 1}, {"10.0.5.2", 11211, 2}, {"cache.invalid", 11300, 3}};
    for (const HashPair& pair : pairs) {
        CAPTURE(pair.shardproxy);
        require_same_placement(servers, {.key_hash = pair.libmemcached}, pair.shardproxy);
    }
}

TEST_CASE("libmemcached: IPv6 servers off port 11211 need a name written as libmemcached hashes them") {
    // libmemcached hashes "2001:db8::1:11300-<i>"; shardproxy's identity is "[2001:db8::1]:11300".
    const std::vector<Server> servers = {{"2001:db8::1", 11300, 1}, {"2001:db8::2", 11300, 2}, {"10.0.6.1", 11300, 1}};
    CHECK(compare(servers, server_strings(servers)).disagreements > 0);
    // Naming the servers after libmemcached's text gives its placement.
    CHECK(compare(servers, {"[2001:db8::1]:11300:1 2001:db8::1:11300", "[2001:db8::2]:11300:2 2001:db8::2:11300",
                            "10.0.6.1:11300:1"})
              .disagreements == 0);
    // On port 11211 both hash the bare address.
    require_same_placement({{"2001:db8::1", 11211, 1}, {"2001:db8::2", 11211, 2}, {"10.0.6.1", 11211, 1}});
}

TEST_CASE("libmemcached: a client namespace only matches when the client hashes it (HASH_WITH_PREFIX_KEY)") {
    const std::vector<Server> servers = {{"10.0.8.1", 11211, 1}, {"10.0.8.2", 11211, 1}, {"10.0.8.3", 11300, 2}};
    // shardproxy sees and hashes "app1:<key>", as libmemcached does with the behavior on.
    const Comparison hashed = compare(servers, server_strings(servers),
                                      {.key_namespace = "app1:", .hash_with_namespace = true});
    CHECK(hashed.keys > keys_per_list / 2);
    CHECK(hashed.disagreements == 0);
    // By default libmemcached places by the key without its namespace: most keys would move.
    const Comparison unhashed = compare(servers, server_strings(servers), {.key_namespace = "app1:"});
    CHECK(unhashed.disagreements > unhashed.keys / 3);
}

TEST_CASE("libmemcached: a ring point two servers share goes to the server added first, in twemproxy to the first identity") {
    // MD5("10.77.0.82-11") and MD5("10.77.0.221-12") share a 32-bit word, 764028911 (found by
    // searching 3000 addresses). Of two equal points a key takes the first in ring order:
    // libmemcached orders them by position in its server list (config order, or host then port
    // with SORT_HOSTS); twemproxy, and so shardproxy, by identity, shorter first.
    const Server short_identity{"10.77.0.82", 11211, 1};
    const Server long_identity{"10.77.0.221", 11211, 1};
    constexpr uint32_t tied = 764028911u;

    const routing::KetamaDistribution ring(std::vector<routing::WeightedServer>{{"10.77.0.221", 1}, {"10.77.0.82", 1}});
    const std::vector<uint32_t>& points = ring.points();
    const auto first = std::lower_bound(points.begin(), points.end(), tied);
    REQUIRE(first != points.begin());
    REQUIRE(first + 1 != points.end());
    REQUIRE(*first == tied);
    REQUIRE(*(first + 1) == tied);
    const size_t at = static_cast<size_t>(first - points.begin());
    CHECK(ring.owners()[at] == 1);  // "10.77.0.82"
    CHECK(ring.owners()[at + 1] == 0);
    const uint32_t below = *(first - 1);
    const routing::HashFunction md5 = routing::find_hash_function("md5");
    const auto lands_on_tie = [&](std::string_view key) {
        const uint32_t hash = md5(key.data(), key.size());
        return hash > below && hash <= tied;
    };
    const size_t tied_keys = static_cast<size_t>(std::count_if(keys().begin(), keys().end(), lands_on_tie));
    CHECK(tied_keys > 0);

    // Config order equal to identity order: every key agrees, the tied ones included.
    CHECK(compare({short_identity, long_identity}, {"10.77.0.82:11211", "10.77.0.221:11211"}).disagreements == 0);
    // Added the other way round, libmemcached gives the tied keys to 10.77.0.221; shardproxy
    // keeps them on 10.77.0.82, whatever the config order. Nothing else differs.
    CHECK(compare({long_identity, short_identity}, {"10.77.0.221:11211", "10.77.0.82:11211"}).disagreements ==
          tied_keys);
    // SORT_HOSTS orders by strcmp: "10.77.0.221" < "10.77.0.82".
    CHECK(compare({short_identity, long_identity}, {"10.77.0.82:11211", "10.77.0.221:11211"}, {.sort_hosts = true})
              .disagreements == tied_keys);
}
