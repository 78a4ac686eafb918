// Hot keys ([pool.NAME.hotkey]): a very hot key is found and answered from the near cache, a
// write through the proxy is never followed by the old value, a write made directly on the
// backend reaches the near cache through Redis's invalidation messages (tracking), identical
// reads in flight together reach the backend once, the near cache stays within its memory
// bound, and reads of a hot key take turns over its replicas. Real redis-servers and
// memcacheds behind a real shardproxy; the backends' own counters say what reached them.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "support/memcache_client.h"
#include "support/memcached_servers.h"
#include "support/redis_cluster.h"

using namespace shardproxy::testing;
using Clock = std::chrono::steady_clock;

namespace {

// GETs the backend itself has answered (its INFO commandstats).
uint64_t backend_gets(RedisServer& server) {
    Client direct(server.port());
    const std::string stats = describe(direct.command({"INFO", "commandstats"}).get());
    const size_t at = stats.find("cmdstat_get:calls=");
    return at == std::string::npos ? 0 : std::stoull(stats.substr(at + 18));
}

// The line of INFO hotkeys named `name` ("hotkeys_main", "hotkey_main_0"), without the name.
std::string hotkeys_line(Client& client, const std::string& name) {
    const std::string info = describe(client.command({"INFO", "hotkeys"}).get());
    const size_t at = info.find(name + ":");
    if (at == std::string::npos) return "";
    return info.substr(at + name.size() + 1, info.find("\r\n", at) - at - name.size() - 1);
}

uint64_t field(const std::string& line, const std::string& name) {
    const size_t at = line.find(name + "=");
    return at == std::string::npos ? 0 : std::stoull(line.substr(at + name.size() + 1));
}

// Reads the key `count` times in pipelines of 100; returns how many replies were not `value`.
int read_many(Client& client, const std::string& key, const std::string& value, int count) {
    int wrong = 0;
    const std::vector<std::vector<std::string>> batch(100, {"GET", key});
    for (int done = 0; done < count; done += 100) {
        for (const auto& reply : client.pipeline(batch)) wrong += describe(reply.get()) != "string:" + value;
    }
    return wrong;
}

// A background client that keeps reading a key until stopped, so that it stays hot and its
// near-cache entry and fills are busy while the test does something else.
class HotReader {
public:
    HotReader(int port, std::string key) : thread_([this, port, key = std::move(key)] {
        Client client(port);
        const std::vector<std::vector<std::string>> batch(20, {"GET", key});
        while (!stop_) {
            for (const auto& reply : client.pipeline(batch)) errors_ += reply == nullptr || reply->type == REDIS_REPLY_ERROR;
        }
    }) {}
    ~HotReader() {
        stop_ = true;
        thread_.join();
    }
    int errors() const { return errors_; }

private:
    std::atomic<bool> stop_{false};
    std::atomic<int> errors_{0};
    std::thread thread_;
};

}  // namespace

TEST_CASE("a very hot key is detected, shown with its rate, and answered from the near cache") {
    RedisCluster cluster({.servers = 2, .workers = 2, .extra_pool = "[pool.main.hotkey]\nnear_cache = true\n"});
    Client client(cluster.proxy_port());
    REQUIRE(describe(client.command({"SET", "celebrity", "tweet"}).get()) == "status:OK");
    const int holder = cluster.holder("celebrity");
    REQUIRE(holder >= 0);
    const uint64_t before = backend_gets(cluster.server(holder));

    // Several connections, so both workers see the key.
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 4; ++i) clients.push_back(std::make_unique<Client>(cluster.proxy_port()));
    int wrong = 0;
    int reads = 0;
    const auto start = Clock::now();
    while (Clock::now() - start < std::chrono::milliseconds(1500)) {
        for (auto& reader : clients) {
            wrong += read_many(*reader, "celebrity", "tweet", 500);
            reads += 500;
        }
    }
    CHECK(wrong == 0);
    const uint64_t reached = backend_gets(cluster.server(holder)) - before;
    INFO("client reads: " << reads << ", backend GETs: " << reached);
    CHECK(reached * 20 < static_cast<uint64_t>(reads));  // the backend saw under 5% of the reads

    const std::string pool = hotkeys_line(client, "hotkeys_main");
    INFO("hotkeys_main: " << pool);
    CHECK(field(pool, "cache_hits") * 10 > static_cast<uint64_t>(reads) * 9);
    CHECK(pool.find("actions=near_cache+coalesce") != std::string::npos);
    // Published once a second: the key shows with a rate while it is read.
    std::string shown;
    for (int i = 0; i < 30 && shown.find("key=celebrity,") == std::string::npos; ++i) {
        read_many(*clients[0], "celebrity", "tweet", 500);
        read_many(*clients[1], "celebrity", "tweet", 500);
        shown = hotkeys_line(client, "hotkey_main_0");
    }
    INFO("hotkey_main_0: " << shown);
    CHECK(shown.find("key=celebrity,") != std::string::npos);
    CHECK(field(shown, "rate") >= 100);
}

TEST_CASE("after a write through the proxy, no client of that proxy reads the old value") {
    // A long TTL, so that an old value left in the cache would be seen.
    RedisCluster cluster({.servers = 2,
                          .workers = 2,
                          .extra_pool = "[pool.main.hotkey]\nnear_cache = true\nttl_ms = 60000\nmin_rate = 10\n"});
    Client writer(cluster.proxy_port());
    REQUIRE(describe(writer.command({"SET", "counter", "v0"}).get()) == "status:OK");
    std::vector<std::unique_ptr<Client>> readers;
    for (int i = 0; i < 3; ++i) readers.push_back(std::make_unique<Client>(cluster.proxy_port()));
    {
        HotReader busy1(cluster.proxy_port(), "counter");
        HotReader busy2(cluster.proxy_port(), "counter");
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // hot and cached by now
        int stale = 0;
        for (int i = 1; i <= 400; ++i) {
            const std::string value = "v" + std::to_string(i);
            REQUIRE(describe(writer.command({"SET", "counter", value}).get()) == "status:OK");
            for (auto& reader : readers) stale += describe(reader->command({"GET", "counter"}).get()) != "string:" + value;
            stale += describe(writer.command({"GET", "counter"}).get()) != "string:" + value;
        }
        CHECK(stale == 0);
        // A write and a read pipelined on one connection: the read sees the write.
        const auto replies = writer.pipeline({{"SET", "counter", "piped"}, {"GET", "counter"}, {"DEL", "counter"},
                                              {"GET", "counter"}, {"SET", "counter", "last"}});
        CHECK(describe(replies[1].get()) == "string:piped");
        CHECK(describe(replies[3].get()) == "nil");
        CHECK(busy1.errors() == 0);
        CHECK(busy2.errors() == 0);
    }
    const std::string pool = hotkeys_line(writer, "hotkeys_main");
    INFO("hotkeys_main: " << pool);
    CHECK(field(pool, "cache_hits") > 1000);  // the cache was in use all along
}

TEST_CASE("invalidation = \"tracking\": a write made directly on the backend reaches the near cache at once") {
    const std::string hotkey = "[pool.main.hotkey]\nnear_cache = true\nttl_ms = 60000\nmin_rate = 10\n";
    for (const std::string invalidation : {"tracking", "ttl"}) {
        CAPTURE(invalidation);
        RedisCluster cluster({.servers = 2, .workers = 2, .extra_pool = hotkey + "invalidation = \"" + invalidation + "\"\n"});
        Client client(cluster.proxy_port());
        REQUIRE(describe(client.command({"SET", "profile", "old"}).get()) == "status:OK");
        const int holder = cluster.holder("profile");
        REQUIRE(holder >= 0);
        HotReader busy(cluster.proxy_port(), "profile");
        // Cached once the backend stops seeing the reads.
        uint64_t seen = backend_gets(cluster.server(holder));
        bool cached = false;
        for (int i = 0; i < 50 && !cached; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            const uint64_t now = backend_gets(cluster.server(holder));
            cached = now - seen < 5;
            seen = now;
        }
        REQUIRE(cached);
        // This client's worker has the key cached too.
        REQUIRE(read_many(client, "profile", "old", 300) == 0);

        Client direct(cluster.server(holder).port());
        REQUIRE(describe(direct.command({"SET", "profile", "new"}).get()) == "status:OK");
        const auto written = Clock::now();
        std::string value;
        while (Clock::now() - written < std::chrono::seconds(2)) {
            value = describe(client.command({"GET", "profile"}).get());
            if (value == "string:new") break;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - written).count();
        if (invalidation == "tracking") {
            INFO("seen after " << delay << " ms");
            CHECK(value == "string:new");
            CHECK(delay < 500);
            CHECK(field(hotkeys_line(client, "hotkeys_main"), "invalidations") >= 1);
        } else {
            // Without tracking the proxy cannot know: the entry lives its TTL.
            CHECK(value == "string:old");
        }
        CHECK(busy.errors() == 0);
    }
}

TEST_CASE("identical reads of a hot key in flight together reach the backend once") {
    RedisCluster cluster({.servers = 2,
                          .workers = 1,
                          .timeout_ms = 5000,
                          .extra_pool = "[pool.main.hotkey]\nnear_cache = false\ncoalesce = true\nmin_rate = 10\n"});
    Client client(cluster.proxy_port());
    REQUIRE(describe(client.command({"SET", "viral", "video"}).get()) == "status:OK");
    const int holder = cluster.holder("viral");
    REQUIRE(holder >= 0);
    CHECK(read_many(client, "viral", "video", 2000) == 0);  // hot now
    const uint64_t before = backend_gets(cluster.server(holder));

    // The backend hangs while 50 clients ask for the key at once: the proxy holds one read.
    cluster.server(holder).process().pause();
    constexpr int kClients = 50;
    std::atomic<int> right{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.emplace_back([&] {
            Client reader(cluster.proxy_port(), 8000);
            right += describe(reader.command({"GET", "viral"}).get()) == "string:video";
        });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    cluster.server(holder).process().resume();
    for (auto& thread : clients) thread.join();
    CHECK(right == kClients);
    const uint64_t reached = backend_gets(cluster.server(holder)) - before;
    INFO("backend GETs for " << kClients << " client reads: " << reached);
    CHECK(reached <= 2);
    CHECK(field(hotkeys_line(client, "hotkeys_main"), "coalesced") >= kClients - 2);
}

TEST_CASE("the near cache stays within max_bytes under a flood of distinct hot keys") {
    constexpr uint64_t kMaxBytes = 64 * 1024;
    RedisCluster cluster({.servers = 2,
                          .workers = 2,
                          .extra_pool = "[pool.main.hotkey]\nnear_cache = true\nttl_ms = 60000\nmin_rate = 1\n"
                                        "tracked_keys = 4096\nmax_bytes = " + std::to_string(kMaxBytes) + "\n"});
    Client client(cluster.proxy_port());
    const std::string value(1000, 'x');
    std::vector<std::vector<std::string>> sets;
    for (int k = 0; k < 2000; ++k) sets.push_back({"SET", "flood:" + std::to_string(k), value + std::to_string(k)});
    for (const auto& reply : client.pipeline(sets)) REQUIRE(describe(reply.get()) == "status:OK");

    // Each key read a few times in a row, twice, from two connections: hot, then cached, then
    // evicted by the keys after it.
    Client other(cluster.proxy_port());
    int wrong = 0;
    for (int k = 0; k < 2000; ++k) {
        const std::string key = "flood:" + std::to_string(k);
        const std::vector<std::vector<std::string>> reads(5, {"GET", key});
        for (Client* reader : {&client, &other, &client, &other}) {
            for (const auto& reply : reader->pipeline(reads)) wrong += describe(reply.get()) != "string:" + value + std::to_string(k);
        }
    }
    CHECK(wrong == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // the sizes are published once a second
    const std::string pool = hotkeys_line(client, "hotkeys_main");
    INFO("hotkeys_main: " << pool);
    CHECK(field(pool, "cache_hits") > 2000);
    CHECK(field(pool, "cache_entries") > 0);
    CHECK(field(pool, "cache_bytes") <= kMaxBytes);
    // Each worker holds its share, max_bytes / workers; the clients may share a worker.
    CHECK(field(pool, "cache_bytes") > kMaxBytes / 4);
    CHECK(field(pool, "cache_evictions") > 1000);
}

TEST_CASE("with replicas, reads of a hot key take turns over its replicas") {
    RedisCluster cluster({.servers = 3,
                          .workers = 2,
                          .extra_pool = "replicas = 2\n[pool.main.hotkey]\nnear_cache = false\ncoalesce = false\n"});
    Client client(cluster.proxy_port());
    REQUIRE(describe(client.command({"SET", "trending", "topic"}).get()) == "status:OK");
    const std::vector<size_t> holders = cluster.holders("trending");
    REQUIRE(holders.size() == 2);
    const uint64_t first_before = backend_gets(cluster.server(holders[0]));
    const uint64_t second_before = backend_gets(cluster.server(holders[1]));
    CHECK(read_many(client, "trending", "topic", 6000) == 0);
    const uint64_t first = backend_gets(cluster.server(holders[0])) - first_before;
    const uint64_t second = backend_gets(cluster.server(holders[1])) - second_before;
    INFO("replica GETs: " << first << " and " << second);
    CHECK(first + second >= 5900);
    CHECK(first > 2400);
    CHECK(second > 2400);
    CHECK(field(hotkeys_line(client, "hotkeys_main"), "spread_reads") > 5000);
}

TEST_CASE("memcached: hot get, gets and mg are answered from the near cache, and a set is seen at once") {
    MemcacheCluster cluster({.servers = 2, .workers = 2, .extra_pool = "[pool.main.hotkey]\nnear_cache = true\nttl_ms = 60000\n"});
    RawConnection client(cluster.proxy_port());
    REQUIRE(client.exchange("set hot 5 0 3\r\nabc\r\n", "\r\n") == "STORED\r\n");
    const int64_t before = cluster.total_stat("cmd_get");
    std::string gets;
    for (int i = 0; i < 200; ++i) gets += "get hot\r\n";
    int wrong = 0;
    for (int round = 0; round < 50; ++round) {
        REQUIRE(client.send(gets));
        for (int i = 0; i < 200; ++i) wrong += client.read_until("END\r\n") != "VALUE hot 5 3\r\nabc\r\nEND\r\n";
    }
    CHECK(wrong == 0);
    const int64_t reached = cluster.total_stat("cmd_get") - before;
    INFO("client gets: 10000, backend gets: " << reached);
    CHECK(reached < 500);

    // gets and mg have replies of their own, cached apart from get's.
    const std::string with_cas = client.exchange("gets hot\r\n", "END\r\n");
    CHECK(with_cas.starts_with("VALUE hot 5 3 "));
    for (int i = 0; i < 300; ++i) REQUIRE(client.exchange("gets hot\r\n", "END\r\n") == with_cas);
    for (int i = 0; i < 300; ++i) REQUIRE(client.exchange("mg hot v f\r\n", "\r\nabc\r\n") == "VA 3 f5\r\nabc\r\n");
    // An opaque belongs to its request: never answered from another's reply.
    CHECK(client.exchange("mg hot v O77\r\n", "\r\nabc\r\n") == "VA 3 O77\r\nabc\r\n");

    REQUIRE(client.exchange("set hot 6 0 3\r\nxyz\r\n", "\r\n") == "STORED\r\n");
    CHECK(client.exchange("get hot\r\n", "END\r\n") == "VALUE hot 6 3\r\nxyz\r\nEND\r\n");
    CHECK(client.exchange("mg hot v f\r\n", "\r\nxyz\r\n") == "VA 3 f6\r\nxyz\r\n");
    CHECK(client.exchange("gets hot\r\n", "END\r\n") != with_cas);
    REQUIRE(client.exchange("delete hot\r\n", "\r\n") == "DELETED\r\n");
    CHECK(client.exchange("get hot\r\n", "END\r\n") == "END\r\n");

    // Published once a second: the key shows with its rate while it is read.
    REQUIRE(client.exchange("set hot 7 0 3\r\nabc\r\n", "\r\n") == "STORED\r\n");
    std::string stats;
    for (int i = 0; i < 30 && stats.find("STAT hotkey_main_0 key=hot,rate=") == std::string::npos; ++i) {
        REQUIRE(client.send(gets));
        for (int g = 0; g < 200; ++g) client.read_until("END\r\n");
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        stats = client.exchange("stats hotkeys\r\n", "END\r\n");
    }
    INFO(stats);
    CHECK(stats.find("STAT hotkeys_main hot_keys=") != std::string::npos);
    CHECK(stats.find("STAT hotkey_main_0 key=hot,rate=") != std::string::npos);
}
