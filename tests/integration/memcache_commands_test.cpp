// memcached clients through a memcache listener: libmemcached as the application's client for
// every command, and raw bytes compared byte for byte with what a single real memcached answers
// to the same bytes (pipelines, quiet meta commands, noreply, bad input).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "support/memcache_client.h"
#include "support/memcached_servers.h"

using namespace shardproxy::testing;

namespace {

MemcacheCluster& cluster() {
    static MemcacheCluster instance({.servers = 3});
    return instance;
}

// One memcached alone, with the same item size as the pool: the behaviour to match.
MemcachedServer& reference() {
    static MemcachedServer instance;
    return instance;
}

// Keys that land on three different backends.
const std::vector<std::string>& spread_keys() {
    static const std::vector<std::string> keys = cluster().one_key_per_server("spread:");
    return keys;
}

// cas unique values count a server's writes, so they differ from server to server; the rest of
// a reply must not.
std::string without_cas_values(const std::string& reply) {
    std::string out;
    size_t at = 0;
    while (at < reply.size()) {
        size_t end = reply.find("\r\n", at);
        end = end == std::string::npos ? reply.size() : end + 2;
        std::string line = reply.substr(at, end - at);
        if (line.starts_with("VALUE ") && std::count(line.begin(), line.end(), ' ') == 4) {
            line = line.substr(0, line.rfind(' ')) + " <cas>\r\n";
        }
        out += line;
        at = end;
    }
    return out;
}

std::string flush_and_run(int port, const std::string& script) {
    RawConnection connection(port);
    REQUIRE(connection.connected());
    REQUIRE(connection.exchange("flush_all\r\n", "\r\n") == "OK\r\n");
    // Every script ends with mn, so the whole answer is in once MN arrives.
    return without_cas_values(connection.exchange(script + "mn\r\n", "MN\r\n", 5000));
}

// The script's answer through the proxy must be the answer of one memcached.
void check_same_as_memcached(const std::string& script) {
    CAPTURE(script);
    const std::string expected = flush_and_run(reference().port(), script);
    CHECK(flush_and_run(cluster().proxy_port(), script) == expected);
}

}  // namespace

TEST_CASE("storage, retrieval, arithmetic and deletion through libmemcached behave as on memcached") {
    MemcacheClient client(cluster().proxy_port());
    REQUIRE(client.flush().ok());
    for (const auto& key : spread_keys()) {
        CAPTURE(key);
        CHECK(client.set(key, "v1", 7).ok());
        const McValue got = client.get(key);
        CHECK(got.value == "v1");
        CHECK(got.flags == 7);
        CHECK(client.add(key, "other").rc == MEMCACHED_NOTSTORED);
        CHECK(client.replace(key, "v2").ok());
        CHECK(client.append(key, ">").ok());
        CHECK(client.prepend(key, "<").ok());
        CHECK(client.get(key).value == "<v2>");
        CHECK(client.del(key).ok());
        CHECK(client.del(key).rc == MEMCACHED_NOTFOUND);
        CHECK(client.get(key).rc == MEMCACHED_NOTFOUND);
        CHECK(client.replace(key, "x").rc == MEMCACHED_NOTSTORED);
        CHECK(client.add(key, "10").ok());
        CHECK(client.incr(key, 5).value == 15);
        CHECK(client.decr(key, 20).value == 0);  // memcached stops at zero
        CHECK(client.touch(key, 3600).ok());
        CHECK(client.incr(key + ":missing").rc == MEMCACHED_NOTFOUND);
    }
}

TEST_CASE("a cas round trip succeeds once, and a stale cas is refused") {
    MemcacheClient client(cluster().proxy_port());
    for (const auto& key : spread_keys()) {
        CAPTURE(key);
        REQUIRE(client.set(key, "first").ok());
        const McValue read = client.gets(key);
        REQUIRE(read.ok());
        CHECK(read.cas != 0);
        CHECK(client.cas(key, "second", read.cas).ok());
        CHECK(client.cas(key, "third", read.cas).rc == MEMCACHED_DATA_EXISTS);
        CHECK(client.get(key).value == "second");
    }
}

TEST_CASE("a multi-get across backends returns every hit, in the client's key order, under one END") {
    MemcacheClient client(cluster().proxy_port());
    REQUIRE(client.flush().ok());
    std::vector<std::string> keys;
    for (int i = 0; i < 60; ++i) keys.push_back("multi:" + std::to_string(i));
    for (size_t i = 0; i < keys.size(); i += 2) REQUIRE(client.set(keys[i], "value" + std::to_string(i)).ok());

    const McMulti found = client.mget(keys);
    REQUIRE(found.ok());
    CHECK(found.values.size() == keys.size() / 2);
    for (size_t i = 0; i < keys.size(); i += 2) CHECK(found.values.at(keys[i]) == "value" + std::to_string(i));
    CHECK(cluster().holders(keys[0]).size() == 1);

    // The exact bytes: hits in request order (misses and a repeated key included), one END.
    const auto& spread = spread_keys();
    std::string script = "set " + spread[2] + " 1 0 1\r\nc\r\nset " + spread[0] + " 2 0 1\r\na\r\n";
    script += "get " + spread[2] + " nothing " + spread[0] + " " + spread[1] + " " + spread[2] + "\r\n";
    script += "gets " + spread[0] + " " + spread[2] + "\r\n";
    check_same_as_memcached(script);
    RawConnection connection(cluster().proxy_port());
    const std::string reply = connection.exchange(
        "get " + spread[2] + " nothing " + spread[0] + " " + spread[1] + " " + spread[2] + "\r\n", "END\r\n");
    CHECK(reply == "VALUE " + spread[2] + " 1 1\r\nc\r\nVALUE " + spread[0] + " 2 1\r\na\r\nVALUE " + spread[2] +
                       " 1 1\r\nc\r\nEND\r\n");
}

TEST_CASE("pipelines of text commands answer as one memcached does") {
    const auto& k = spread_keys();
    check_same_as_memcached("set " + k[0] + " 0 0 3\r\none\r\nset " + k[1] + " 0 0 3\r\ntwo\r\nget " + k[0] + "\r\n" +
                            "append " + k[1] + " 0 0 1\r\n!\r\nprepend " + k[2] + " 0 0 1\r\n!\r\nget " + k[1] + " " +
                            k[2] + "\r\nincr " + k[0] + " 1\r\nset n 0 0 2\r\n41\r\nincr n 1\r\ndecr n 50\r\n"
                            "touch " + k[1] + " 100\r\ntouch missing 100\r\ndelete " + k[0] + "\r\ndelete " + k[0] +
                            "\r\ngat 100 " + k[1] + " " + k[0] + "\r\ngats 0 " + k[1] + "\r\n");
    // noreply: nothing is answered, not even an error, and the next replies stay in step.
    check_same_as_memcached("set " + k[0] + " 0 0 1 noreply\r\na\r\nset " + k[1] + " 0 0 1 noreply\r\nb\r\n"
                            "add " + k[0] + " 0 0 1 noreply\r\nz\r\nincr " + k[1] + " 1 noreply\r\n"
                            "delete missing noreply\r\nget " + k[0] + " " + k[1] + "\r\n"
                            "delete " + k[0] + " noreply\r\nget " + k[0] + "\r\n");
}

TEST_CASE("quiet meta pipelines ended by mn answer exactly what one memcached answers") {
    const auto& k = spread_keys();
    check_same_as_memcached("ms " + k[0] + " 2 T0 F5\r\nhi\r\nms " + k[1] + " 3 q\r\nbye\r\n"
                            "mg " + k[0] + " v f q\r\nmg nothing v q\r\nmg " + k[1] + " v k O77 q\r\n"
                            "mg nothing2 v k O78 q\r\nmn\r\n"
                            "md " + k[0] + " q\r\nmd " + k[0] + " q\r\nmg " + k[0] + " v\r\n"
                            "ma counter q\r\nma counter N0 J5 v\r\nma counter MD D2 v q\r\n"
                            "ms " + k[2] + " 1 MA q\r\nx\r\nms " + k[2] + " 1 I\r\nx\r\n");
    // A base64 key (b flag) is placed by the key it encodes, so a value stored under the
    // encoded form is found under the plain one, on whichever server that is.
    const std::string plain = "b64-plain-key";
    const std::string encoded = "YjY0LXBsYWluLWtleQ==";
    check_same_as_memcached("ms " + encoded + " 3 b\r\nabc\r\nmg " + plain + " v\r\nmg " + encoded +
                            " b v k\r\nmd " + encoded + " b q\r\nmg " + plain + " v\r\n");
}

TEST_CASE("bad input gets memcached's own errors and the connection stays in step") {
    const std::string long_key(251, 'k');
    check_same_as_memcached("get " + long_key + "\r\nget ok\r\n");
    check_same_as_memcached("bogus command\r\nget\r\nset k 0 0 -1\r\nset k 0 0 nope\r\ncas k 0 0 1\r\nx\r\n"
                            "set k 0 0 1\r\nxyz\r\nincr k x\r\nset k 0 0 1\r\na\r\nincr k 1\r\n"
                            "delete k 1\r\ntouch k x\r\nverbosity\r\nmg\r\nms k\r\nmg k zz\r\ngat 10\r\n");
    // A value over the item size is refused and its data skipped, whatever its size.
    const std::string huge(2 * 1024 * 1024, 'h');
    check_same_as_memcached("set big 0 0 " + std::to_string(huge.size()) + "\r\n" + huge +
                            "\r\nset small 0 0 1\r\ns\r\nget big small\r\n");
    // Bare LF line ends are accepted, as memcached accepts them.
    check_same_as_memcached("set lf 0 0 2\nok\r\nget lf\n");
}

TEST_CASE("a set with a bad key gets one error and its data is skipped, so the client stays in step") {
    // memcached answers a storage command whose key is too long and then runs its data block as
    // a command (one more reply than the client expects), and it stores keys with control
    // characters, which its protocol forbids. The proxy refuses both and skips the data block.
    RawConnection connection(cluster().proxy_port());
    CHECK(connection.exchange("set " + std::string(251, 'k') + " 0 0 13\r\ndelete victim\r\nmn\r\n", "MN\r\n") ==
          "CLIENT_ERROR bad command line format\r\nMN\r\n");
    CHECK(connection.exchange("set ctrl\x01key 0 0 1\r\nx\r\nget ctrl\x01key\r\nmg tab\tkey v\r\nmn\r\n", "MN\r\n") ==
          "CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\n"
          "CLIENT_ERROR bad command line format\r\nMN\r\n");
}

TEST_CASE("version, verbosity, stats, quit and flush_all are answered by the proxy for the whole pool") {
    RawConnection connection(cluster().proxy_port());
    CHECK(connection.exchange("version\r\n", "\r\n").starts_with("VERSION 1.6.18 shardproxy-"));
    CHECK(connection.exchange("verbosity 1\r\n", "\r\n") == "OK\r\n");
    CHECK(connection.exchange("verbosity 1 noreply\r\nmn\r\n", "MN\r\n") == "MN\r\n");
    const std::string stats = connection.exchange("stats\r\n", "END\r\n");
    CHECK(stats.find("STAT curr_connections ") != std::string::npos);
    CHECK(stats.find("STAT cmd_total ") != std::string::npos);
    CHECK(stats.ends_with("\r\nEND\r\n"));

    MemcacheClient client(cluster().proxy_port());
    const McVersion version = client.version();
    CHECK(version.ok());
    CHECK(version.version == "1.6.18");

    for (const auto& key : spread_keys()) REQUIRE(client.set(key, "x").ok());
    CHECK(client.flush().ok());
    for (const auto& key : spread_keys()) CHECK(client.get(key).rc == MEMCACHED_NOTFOUND);

    // Requests pipelined after quit are not run; the ones before it are answered.
    RawConnection quitting(cluster().proxy_port());
    quitting.send("set q 0 0 1\r\n1\r\nquit\r\nset q 0 0 1\r\n2\r\n");
    CHECK(quitting.read_for(300) == "STORED\r\n");
    CHECK(quitting.wait_closed());
    CHECK(client.get("q").value == "1");
}

TEST_CASE("gets of many clients at once each get the reply for their own key") {
    // Single-key gets that reach one server in the same moment travel as one multi-key get;
    // hits, misses, repeated keys and gets with cas must still go back to the right client.
    MemcacheClient setup(cluster().proxy_port());
    for (int i = 0; i < 40; i += 2) REQUIRE(setup.set("crowd:" + std::to_string(i), "v" + std::to_string(i), 3).ok());
    std::vector<std::unique_ptr<RawConnection>> clients;
    std::vector<std::string> requests;
    for (int round = 0; round < 5; ++round) {
        clients.clear();
        requests.clear();
        for (int i = 0; i < 60; ++i) {
            const std::string key = "crowd:" + std::to_string((i * 7 + round) % 40);
            requests.push_back((i % 3 == 0 ? "gets " : "get ") + key + "\r\n");
            clients.push_back(std::make_unique<RawConnection>(cluster().proxy_port()));
        }
        for (size_t i = 0; i < clients.size(); ++i) REQUIRE(clients[i]->send(requests[i]));
        for (size_t i = 0; i < clients.size(); ++i) {
            const std::string key = requests[i].substr(requests[i].find(' ') + 1, requests[i].size() - requests[i].find(' ') - 3);
            const int number = std::stoi(key.substr(6));
            const std::string reply = clients[i]->read_until("END\r\n");
            CAPTURE(requests[i]);
            if (number % 2 != 0) {
                CHECK(reply == "END\r\n");
            } else if (requests[i].starts_with("gets")) {
                const std::string value = "v" + std::to_string(number);
                CHECK(reply.starts_with("VALUE " + key + " 3 " + std::to_string(value.size()) + " "));
                CHECK(reply.ends_with("\r\n" + value + "\r\nEND\r\n"));
            } else {
                const std::string value = "v" + std::to_string(number);
                CHECK(reply == "VALUE " + key + " 3 " + std::to_string(value.size()) + "\r\n" + value + "\r\nEND\r\n");
            }
        }
    }
}

TEST_CASE("libmemcached noreply and buffered pipelines store everything") {
    MemcacheClient quiet(cluster().proxy_port(), {.noreply = true});
    for (int i = 0; i < 500; ++i) quiet.set("nr:" + std::to_string(i), std::to_string(i));
    MemcacheClient buffered(cluster().proxy_port(), {.buffer_requests = true});
    for (int i = 0; i < 500; ++i) buffered.set("buf:" + std::to_string(i), std::to_string(i));
    REQUIRE(buffered.flush_buffers().ok());

    MemcacheClient reader(cluster().proxy_port());
    std::vector<std::string> keys;
    for (int i = 0; i < 500; ++i) keys.push_back("nr:" + std::to_string(i));
    for (int i = 0; i < 500; ++i) keys.push_back("buf:" + std::to_string(i));
    const McMulti found = reader.mget(keys);
    REQUIRE(found.ok());
    CHECK(found.values.size() == keys.size());
    CHECK(found.values.at("nr:499") == "499");
    CHECK(found.values.at("buf:250") == "250");
}
