// Replicas: every write reaches every replica of its keys, reads fail over to a replica in
// service, write policies answer when they say, and no acknowledged write is lost when a
// server is killed under load.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "support/http.h"
#include "support/memcache_client.h"
#include "support/memcached_servers.h"
#include "support/redis_cluster.h"

using namespace shardproxy::testing;
using Clock = std::chrono::steady_clock;

namespace {

std::string pool_settings(const std::string& write_policy) {
    return "replicas = 2\nwrite_policy = \"" + write_policy +
           "\"\n\n[pool.main.health]\nfailure_limit = 1\nprobe_interval_ms = 100\nprobe_max_interval_ms = 400\n";
}

bool wait_until(const std::function<bool()>& done, int timeout_ms) {
    const auto start = Clock::now();
    while (!done()) {
        if (Clock::now() - start > std::chrono::milliseconds(timeout_ms)) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

}  // namespace

TEST_CASE("with two replicas every write lands on two servers, and counts are not doubled") {
    RedisCluster cluster({.servers = 3, .workers = 1, .hash = "md5", .extra_pool = pool_settings("all")});
    Client client(cluster.proxy_port());
    for (int i = 0; i < 30; ++i) {
        const std::string key = "two:" + std::to_string(i);
        REQUIRE(describe(client.command({"SET", key, "v"}).get()) == "status:OK");
        CHECK(cluster.holders(key).size() == 2);
    }
    CHECK(describe(client.command({"MSET", "m:1", "a", "m:2", "b", "m:3", "c", "m:4", "d"}).get()) == "status:OK");
    for (const char* key : {"m:1", "m:2", "m:3", "m:4"}) CHECK(cluster.holders(key).size() == 2);
    CHECK(describe(client.command({"INCR", "counter"}).get()) == "integer:1");
    // A script may write: it runs on every replica of its keys.
    CHECK(describe(client.command({"EVAL", "return redis.call('SET', KEYS[1], 'lua')", "1", "script:key"}).get()) ==
          "status:OK");
    CHECK(cluster.holders("script:key").size() == 2);
    // A keyless script too: it runs on both replicas of the empty key.
    CHECK(describe(client.command({"EVAL", "return redis.call('SET', 'keyless:key', 'lua')", "0"}).get()) ==
          "status:OK");
    CHECK(cluster.holders("keyless:key").size() == 2);
    CHECK(describe(client.command({"DEL", "m:1", "m:2", "m:3", "nothing"}).get()) == "integer:3");
    CHECK(cluster.holders("m:1").empty());
    CHECK(describe(client.command({"EXISTS", "m:4", "m:1"}).get()) == "integer:1");
    CHECK(describe(client.command({"MGET", "m:4", "two:1"}).get()) == "array[string:d,string:v]");
}

TEST_CASE("a killed server's keys stay readable and writable through their other replica") {
    RedisCluster cluster({.servers = 3, .workers = 1, .hash = "md5", .timeout_ms = 300, .extra_pool = pool_settings("all")});
    Client client(cluster.proxy_port());
    for (int i = 0; i < 30; ++i) client.command({"SET", "fo:" + std::to_string(i), "value"});
    cluster.server(0).process().kill_hard();
    // Every key is still readable: from its first replica, or from its second once server 0
    // is down.
    REQUIRE(wait_until([&] { return describe(client.command({"GET", "fo:0"}).get()) == "string:value"; }, 3000));
    for (int i = 0; i < 30; ++i) CHECK(describe(client.command({"GET", "fo:" + std::to_string(i)}).get()) == "string:value");
    // Down servers are left out of writes, so "all" means every replica in service.
    for (int i = 0; i < 30; ++i) {
        CHECK(describe(client.command({"SET", "fo:" + std::to_string(i), "new"}).get()) == "status:OK");
        CHECK(describe(client.command({"GET", "fo:" + std::to_string(i)}).get()) == "string:new");
    }
}

TEST_CASE("write_policy all: a replica that fails a write (not yet marked down) fails it, naming the server") {
    RedisCluster cluster({.servers = 2, .workers = 1, .timeout_ms = 200,
                          .extra_pool = "replicas = 2\n\n[pool.main.health]\nfailure_limit = 100\n"});
    Client client(cluster.proxy_port());
    cluster.server(1).process().pause();
    CHECK(describe(client.command({"SET", "all:1", "x"}).get()) ==
          "error:ERR backend cache-b (" + cluster.server(1).address() + ") timed out");
    cluster.server(1).process().resume();
}

TEST_CASE("reads of a hung server's keys fail over to the next replica within timeout_ms, then skip it once down") {
    RedisCluster cluster({.servers = 3, .workers = 1, .hash = "md5", .timeout_ms = 400,
                          .extra_pool = "replicas = 2\n\n[pool.main.health]\nfailure_limit = 3\n"});
    Client client(cluster.proxy_port());
    std::vector<std::string> keys;
    for (int i = 0; i < 30; ++i) {
        keys.push_back("hung:" + std::to_string(i));
        REQUIRE(describe(client.command({"SET", keys.back(), "v"}).get()) == "status:OK");
    }
    cluster.server(0).process().pause();
    long slowest = 0;
    for (const std::string& key : keys) {
        const auto start = Clock::now();
        CHECK(describe(client.command({"GET", key}).get()) == "string:v");
        slowest = std::max(slowest, static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                          Clock::now() - start).count()));
    }
    // Within the request's timeout (400 ms; the proxy answers by then, with the value, since the
    // second replica has half of it), plus room for this shared machine's scheduling.
    CHECK(slowest < 600);
    const std::string info = describe(client.command({"INFO", "servers"}).get());
    const size_t line = info.find("server_main_0:name=cache-a,state=down");
    REQUIRE(line != std::string::npos);
    const size_t failovers = info.find("failovers=", line);
    CHECK(std::stoi(info.substr(failovers + 10)) >= 3);  // the reads it timed out on
    // Once it is down, reads go straight to the other replica.
    for (const std::string& key : keys) {
        const auto start = Clock::now();
        CHECK(describe(client.command({"GET", key}).get()) == "string:v");
        CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count() < 200);
    }
    cluster.server(0).process().resume();
}

TEST_CASE("read_policy spread shares the reads of a key between its replicas; primary keeps them on one") {
    for (const std::string policy : {"spread", "primary"}) {
        CAPTURE(policy);
        RedisCluster cluster({.servers = 2, .workers = 1,
                              .extra_pool = "replicas = 2\nread_policy = \"" + policy + "\"\n"});
        Client client(cluster.proxy_port());
        REQUIRE(describe(client.command({"SET", "busy", "v"}).get()) == "status:OK");
        std::vector<std::vector<std::string>> reads(200, {"GET", "busy"});
        for (const auto& reply : client.pipeline(reads)) REQUIRE(describe(reply.get()) == "string:v");
        std::vector<long> gets;
        for (size_t i = 0; i < 2; ++i) {
            const std::string stats = describe(Client(cluster.server(i).port()).command({"INFO", "commandstats"}).get());
            const size_t at = stats.find("cmdstat_get:calls=");
            gets.push_back(at == std::string::npos ? 0 : std::stol(stats.substr(at + 18)));
        }
        if (policy == "spread") {
            CHECK(gets[0] >= 40);
            CHECK(gets[1] >= 40);
        } else {
            CHECK((gets[0] == 0) != (gets[1] == 0));
        }
    }
}

TEST_CASE("miss_failover: a replica restarted empty keeps serving through the other and is refilled, TTLs kept") {
    RedisCluster cluster({.servers = 2, .workers = 1, .hash = "md5", .timeout_ms = 300,
                          .extra_pool = "replicas = 2\nmiss_failover = true\n\n[pool.main.health]\n"
                                        "failure_limit = 1\nprobe_interval_ms = 50\nprobe_max_interval_ms = 100\n"});
    Client client(cluster.proxy_port());
    std::vector<std::string> keys;
    for (int i = 0; i < 40; ++i) {
        keys.push_back("heal:" + std::to_string(i));
        if (i % 2 == 0) {
            REQUIRE(describe(client.command({"SET", keys.back(), "v" + std::to_string(i), "EX", "1000"}).get()) == "status:OK");
        } else {
            REQUIRE(describe(client.command({"SET", keys.back(), "v" + std::to_string(i)}).get()) == "status:OK");
        }
    }
    cluster.server(0).restart();  // empty
    // Back in service after a probe; until then reads go to the other replica.
    Client direct0(cluster.server(0).port());
    // Watches what the proxy writes back to the restarted server.
    Client monitor(cluster.server(0).port(), 500);
    REQUIRE(describe(monitor.command({"MONITOR"}).get()) == "status:OK");
    REQUIRE(wait_until([&] {
        client.command({"GET", keys[0]});
        return describe(client.command({"INFO", "servers"}).get()).find("server_main_0:name=cache-a,state=up") !=
               std::string::npos;
    }, 3000));
    // The first half read with GET, the second with one MGET: both heal.
    for (size_t i = 0; i < keys.size() / 2; ++i) {
        CHECK(describe(client.command({"GET", keys[i]}).get()) == "string:v" + std::to_string(i));
    }
    std::vector<std::string> mget{"MGET"};
    std::string expected = "array[";
    for (size_t i = keys.size() / 2; i < keys.size(); ++i) {
        mget.push_back(keys[i]);
        expected += (i > keys.size() / 2 ? "," : "") + std::string("string:v") + std::to_string(i);
    }
    CHECK(describe(client.command(mget).get()) == expected + "]");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // write-backs need no reply
    CHECK(describe(client.command({"GET", "heal:never-written"}).get()) == "nil");
    // The keys read from the restarted server first (those whose first replica it is) are
    // written back there, with the time to live they had.
    size_t refilled = 0;
    for (size_t i = 0; i < keys.size(); ++i) {
        const std::string value = describe(direct0.command({"GET", keys[i]}).get());
        if (value == "nil") continue;
        ++refilled;
        CHECK(value == "string:v" + std::to_string(i));
        const long long ttl = direct0.command({"PTTL", keys[i]})->integer;
        if (i % 2 == 0) {
            CHECK(ttl > 900000);
            CHECK(ttl <= 1000000);
        } else {
            CHECK(ttl == -1);
        }
    }
    MESSAGE(refilled << " of " << keys.size() << " keys written back to the restarted replica");
    CHECK(refilled >= 10);
    // Each write-back is a SET NX: a client's write that reached the replica while the proxy
    // asked the other one for the time to live must not be overwritten with the older value.
    size_t write_backs = 0;
    for (void* reply = nullptr; redisGetReply(monitor.context(), &reply) == REDIS_OK; freeReplyObject(reply)) {
        const std::string line = describe(static_cast<redisReply*>(reply));
        if (line.find("\"SET\"") == std::string::npos) continue;
        ++write_backs;
        CAPTURE(line);
        CHECK(line.find(" \"NX\"") != std::string::npos);
    }
    CHECK(write_backs == refilled);
}

TEST_CASE("miss_failover: a miss that a reload keeps from the other replica is an error, not a lost value") {
    const int admin = free_port();
    RedisCluster cluster({.servers = 2, .workers = 1, .hash = "md5", .timeout_ms = 2000,
                          .extra_proxy = "admin = \"127.0.0.1:" + std::to_string(admin) + "\"\n",
                          .extra_pool = "replicas = 2\nmiss_failover = true\n"});
    Client client(cluster.proxy_port());
    Client direct0(cluster.server(0).port());
    Client direct1(cluster.server(1).port());
    // A key whose first replica is server 0: held by server 1 alone, a read through the proxy
    // misses on server 0 and writes the value back there.
    std::string key;
    for (int i = 0; i < 64 && key.empty(); ++i) {
        const std::string candidate = "cut:" + std::to_string(i);
        REQUIRE(describe(direct1.command({"SET", candidate, "v"}).get()) == "status:OK");
        REQUIRE(describe(client.command({"GET", candidate}).get()) == "string:v");
        if (wait_until([&] { return describe(direct0.command({"GET", candidate}).get()) == "string:v"; }, 300)) {
            key = candidate;
        }
    }
    REQUIRE(!key.empty());
    REQUIRE(describe(direct0.command({"DEL", key}).get()) == "integer:1");

    // The read is on its way to server 0 when a reload renumbers the servers (a changed
    // timeout_ms gives both new connections); server 0's miss arrives afterwards, when the
    // replica to ask next can no longer be named. "Not found" would hide the value server 1
    // holds: the client gets an error instead, and its next read finds the value.
    cluster.server(0).process().pause();
    RawConnection raw(cluster.proxy_port());
    REQUIRE(raw.send("*2\r\n$3\r\nGET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // sent on to server 0
    std::string config = cluster.config();
    config.replace(config.find("timeout_ms = 2000"), 17, "timeout_ms = 2001");
    config.replace(config.find("@PORT@"), 6, std::to_string(cluster.proxy_port()));
    std::ofstream(cluster.proxy().config_path(), std::ios::trunc) << config;
    REQUIRE(http_post(admin, "/reload").status == 200);
    cluster.server(0).process().resume();
    const std::string reply = raw.read_until("\r\n", 3000);
    CHECK(reply == "-ERR read cut short by a configuration reload\r\n");
    CHECK(describe(client.command({"GET", key}).get()) == "string:v");
}

TEST_CASE("miss_failover works for memcached gets too") {
    MemcacheCluster cluster({.servers = 2, .hash = "md5", .timeout_ms = 300,
                             .extra_pool = "replicas = 2\nmiss_failover = true\n\n[pool.main.health]\n"
                                           "failure_limit = 1\nprobe_interval_ms = 50\nprobe_max_interval_ms = 100\n"});
    MemcacheClient client(cluster.proxy_port());
    for (int i = 0; i < 40; ++i) REQUIRE(client.set("mheal:" + std::to_string(i), "v" + std::to_string(i), 5, 1000).ok());
    cluster.server(0).restart();
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // probed back in
    for (int i = 0; i < 40; ++i) {
        const McValue got = client.get("mheal:" + std::to_string(i));
        CHECK(got.value == "v" + std::to_string(i));
        CHECK(got.flags == 5);
    }
    int refilled = 0;
    MemcacheClient direct(cluster.server(0).port());
    RawConnection raw(cluster.server(0).port());
    for (int i = 0; i < 40; ++i) {
        const std::string key = "mheal:" + std::to_string(i);
        const McValue got = direct.get(key);
        if (!got.value) continue;
        ++refilled;
        CHECK(got.value == "v" + std::to_string(i));
        CHECK(got.flags == 5);
        // Written back with the time it had left (of 1000 s), not without expiry.
        const std::string meta = raw.exchange("mg " + key + " t\r\n", "\r\n");
        CAPTURE(meta);
        REQUIRE(meta.starts_with("HD t"));
        const long ttl = std::stol(meta.substr(4));
        CHECK(ttl > 900);
        CHECK(ttl <= 1000);
    }
    MESSAGE(refilled << " of 40 keys written back to the restarted replica");
    CHECK(refilled >= 10);
}

TEST_CASE("gat and mg with T set the new time to live on every replica, not only the one read") {
    MemcacheCluster cluster({.servers = 3, .hash = "md5", .extra_pool = "replicas = 2\n"});
    MemcacheClient client(cluster.proxy_port());
    REQUIRE(client.set("ttl:a", "x", 0, 1000).ok());
    REQUIRE(client.set("ttl:b", "y", 0, 1000).ok());
    RawConnection raw(cluster.proxy_port());
    CHECK(raw.exchange("gat 5000 ttl:a\r\n", "END\r\n") == "VALUE ttl:a 0 1\r\nx\r\nEND\r\n");
    CHECK(raw.exchange("mg ttl:b T7000 v\r\n", "\r\ny\r\n") == "VA 1\r\ny\r\n");
    auto ttl_on = [&](size_t server, const std::string& key) {
        RawConnection direct = cluster.server(server).connect();
        const std::string meta = direct.exchange("mg " + key + " t\r\n", "\r\n");
        return meta.starts_with("HD t") ? std::stol(meta.substr(4)) : -100;
    };
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the touches need no reply
    for (const auto& [key, at_least] : std::vector<std::pair<std::string, long>>{{"ttl:a", 4900}, {"ttl:b", 6900}}) {
        const auto holders = cluster.holders(key);
        REQUIRE(holders.size() == 2);
        for (size_t server : holders) {
            const std::string& checked_key = key;  // clang 14 cannot capture a structured binding
            CAPTURE(checked_key);
            CAPTURE(server);
            CHECK(ttl_on(server, key) >= at_least);
        }
    }
}

TEST_CASE("write_policy quorum answers once a majority succeeded, without waiting for a hung replica") {
    RedisCluster cluster({.servers = 3, .workers = 1, .timeout_ms = 500,
                          .extra_pool = "replicas = 3\nwrite_policy = \"quorum\"\n\n[pool.main.health]\n"
                                        "failure_limit = 100\n"});
    Client client(cluster.proxy_port());
    cluster.server(2).process().pause();
    for (int i = 0; i < 5; ++i) {
        const auto start = Clock::now();
        CHECK(describe(client.command({"SET", "q:" + std::to_string(i), "v"}).get()) == "status:OK");
        CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count() < 300);
    }
    // The hung replica's writes time out in the background and are counted.
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    const std::string info = describe(client.command({"INFO", "stats"}).get());
    CHECK(info.find("background_write_failures:5\r\n") != std::string::npos);
    cluster.server(2).process().resume();
}

TEST_CASE("multi-key reads fail over key by key when a server hangs") {
    RedisCluster cluster({.servers = 3, .workers = 1, .hash = "md5", .timeout_ms = 400,
                          .extra_pool = "replicas = 2\n\n[pool.main.health]\nfailure_limit = 1000\n"});
    Client client(cluster.proxy_port());
    std::vector<std::string> mget{"MGET"};
    std::string expected = "array[";
    for (int i = 0; i < 20; ++i) {
        const std::string key = "multi:" + std::to_string(i);
        if (i % 4 != 3) REQUIRE(describe(client.command({"SET", key, "v" + std::to_string(i)}).get()) == "status:OK");
        mget.push_back(key);
        expected += (i ? "," : "") + (i % 4 == 3 ? std::string("nil") : "string:v" + std::to_string(i));
    }
    REQUIRE(describe(client.command({"LPUSH", "multi:list", "x"}).get()) == "integer:1");
    mget.push_back("multi:list");  // not a string: nil, as MGET has it
    expected += ",nil]";
    CHECK(describe(client.command(mget).get()) == expected);
    std::vector<std::string> exists = mget;
    exists[0] = "EXISTS";
    CHECK(describe(client.command(exists).get()) == "integer:16");
    cluster.server(1).process().pause();  // not marked down: every read of its keys times out there
    const auto start = Clock::now();
    CHECK(describe(client.command(mget).get()) == expected);
    CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count() < 700);
    CHECK(describe(client.command(exists).get()) == "integer:16");
    cluster.server(1).process().resume();
}

TEST_CASE("memcached multi-key gets fail over key by key when a server hangs") {
    MemcacheCluster cluster({.servers = 3, .hash = "md5", .timeout_ms = 400,
                             .extra_pool = "replicas = 2\n\n[pool.main.health]\nfailure_limit = 1000\n"});
    MemcacheClient client(cluster.proxy_port());
    std::string request = "get";
    std::string expected;
    for (int i = 0; i < 20; ++i) {
        const std::string key = "mmulti:" + std::to_string(i);
        request += " " + key;
        if (i % 4 == 3) continue;
        const std::string value = "v" + std::to_string(i);
        REQUIRE(client.set(key, value).ok());
        expected += "VALUE " + key + " 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\n";
    }
    expected += "END\r\n";
    RawConnection raw(cluster.proxy_port());
    CHECK(raw.exchange(request + "\r\n", "END\r\n") == expected);
    cluster.server(1).process().pause();
    const auto start = Clock::now();
    CHECK(raw.exchange(request + "\r\n", "END\r\n", 3000) == expected);
    CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count() < 700);
    cluster.server(1).process().resume();
}

TEST_CASE("write_policy one answers with the first success and counts the replica that failed") {
    RedisCluster cluster({.servers = 2, .workers = 1, .timeout_ms = 300, .extra_pool = pool_settings("one")});
    Client client(cluster.proxy_port());
    cluster.server(1).process().kill_hard();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (int i = 0; i < 10; ++i) {
        CHECK(describe(client.command({"SET", "one:" + std::to_string(i), "x"}).get()) == "status:OK");
        CHECK(describe(client.command({"GET", "one:" + std::to_string(i)}).get()) == "string:x");
    }
}

TEST_CASE("no acknowledged write is lost when a server is killed under load (replicas 2, write_policy all)") {
    RedisCluster cluster({.servers = 3, .workers = 2, .hash = "md5", .timeout_ms = 300, .extra_pool = pool_settings("all")});
    std::mutex mutex;
    std::set<std::string> acknowledged;
    std::atomic<bool> stop{false};
    std::atomic<int> failed{0};
    std::atomic<long> kill_at_ms{0};
    std::atomic<long> last_failure_ms{0};
    const auto start = Clock::now();
    auto now_ms = [&] {
        return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
    };
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
        writers.emplace_back([&, w] {
            Client client(cluster.proxy_port());
            for (int i = 0; !stop; ++i) {
                const std::string key = "load:" + std::to_string(w) + ":" + std::to_string(i);
                auto reply = client.command({"SET", key, key});
                if (reply && describe(reply.get()) == "status:OK") {
                    std::lock_guard<std::mutex> lock(mutex);
                    acknowledged.insert(key);
                } else {
                    ++failed;
                    last_failure_ms = now_ms();
                }
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    kill_at_ms = now_ms();
    cluster.server(1).process().kill_hard();
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    stop = true;
    for (auto& writer : writers) writer.join();
    REQUIRE(acknowledged.size() > 100);
    MESSAGE(acknowledged.size() << " writes acknowledged, " << failed.load() << " failed");
    // The only failures are the writes in flight when the server died: the lost connection
    // marks it down at once, and later writes go to the replicas in service. (One timeout_ms,
    // 300 ms, plus room for this shared machine's scheduling.)
    MESSAGE("last failure " << last_failure_ms - kill_at_ms << " ms after the kill");
    if (failed > 0) CHECK(last_failure_ms - kill_at_ms <= 800);

    // Every acknowledged write is readable through the proxy.
    Client reader(cluster.proxy_port());
    size_t lost = 0;
    for (const std::string& key : acknowledged) {
        if (describe(reader.command({"GET", key}).get()) != "string:" + key) ++lost;
    }
    CHECK(lost == 0);
}

TEST_CASE("memcached pools replicate writes and fail reads over to a replica too") {
    MemcacheCluster cluster({.servers = 3, .hash = "md5", .timeout_ms = 300, .extra_pool = pool_settings("all")});
    MemcacheClient client(cluster.proxy_port());
    for (int i = 0; i < 20; ++i) {
        const std::string key = "mc:" + std::to_string(i);
        REQUIRE(client.set(key, "v" + std::to_string(i)).ok());
        CHECK(cluster.holders(key).size() == 2);
    }
    RawConnection raw(cluster.proxy_port());
    CHECK(raw.exchange("set quiet 0 0 1 noreply\r\nq\r\nms quiet2 1 q\r\nr\r\nmn\r\n", "MN\r\n") == "MN\r\n");
    CHECK(cluster.holders("quiet").size() == 2);
    CHECK(cluster.holders("quiet2").size() == 2);
    CHECK(client.del("mc:0").ok());
    CHECK(cluster.holders("mc:0").empty());

    cluster.server(0).process().kill_hard();
    REQUIRE(wait_until([&] { return client.get("mc:1").value == "v1"; }, 3000));
    for (int i = 1; i < 20; ++i) CHECK(client.get("mc:" + std::to_string(i)).value == "v" + std::to_string(i));
}
