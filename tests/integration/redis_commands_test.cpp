// Commands of every kind through shardproxy to three real redis-servers, driven by hiredis.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "support/redis_cluster.h"

using namespace shardproxy::testing;

namespace {

RedisCluster& cluster() {
    static RedisCluster instance;
    return instance;
}

std::string reply_of(Client& client, const std::vector<std::string>& args) {
    return describe(client.command(args).get());
}

}  // namespace

TEST_CASE("single-key commands of every data type work and each key lives on exactly one backend") {
    Client client(cluster().proxy_port());
    CHECK(reply_of(client, {"SET", "str", "v1"}) == "status:OK");
    CHECK(reply_of(client, {"GET", "str"}) == "string:v1");
    CHECK(reply_of(client, {"APPEND", "str", "x"}) == "integer:3");
    CHECK(reply_of(client, {"INCRBY", "counter", "5"}) == "integer:5");
    CHECK(reply_of(client, {"HSET", "hash", "f1", "a", "f2", "b"}) == "integer:2");
    CHECK(reply_of(client, {"HGET", "hash", "f2"}) == "string:b");
    CHECK(reply_of(client, {"RPUSH", "list", "a", "b", "c"}) == "integer:3");
    CHECK(reply_of(client, {"LRANGE", "list", "0", "-1"}) == "array[string:a,string:b,string:c]");
    CHECK(reply_of(client, {"SADD", "set", "m"}) == "integer:1");
    CHECK(reply_of(client, {"SISMEMBER", "set", "m"}) == "integer:1");
    CHECK(reply_of(client, {"ZADD", "zset", "1", "one", "2", "two"}) == "integer:2");
    CHECK(reply_of(client, {"ZRANGE", "zset", "0", "-1", "WITHSCORES"}) ==
          "array[string:one,string:1,string:two,string:2]");
    CHECK(reply_of(client, {"PFADD", "hll", "a", "b"}) == "integer:1");
    CHECK(reply_of(client, {"PFCOUNT", "hll"}) == "integer:2");
    CHECK(reply_of(client, {"SETBIT", "bits", "7", "1"}) == "integer:0");
    CHECK(reply_of(client, {"BITCOUNT", "bits"}) == "integer:1");
    CHECK(reply_of(client, {"XADD", "stream", "1-1", "f", "v"}) == "string:1-1");
    CHECK(reply_of(client, {"XLEN", "stream"}) == "integer:1");
    CHECK(reply_of(client, {"GEOADD", "geo", "13.361389", "38.115556", "Palermo"}) == "integer:1");
    CHECK(reply_of(client, {"EXPIRE", "str", "100"}) == "integer:1");
    CHECK(client.command({"TTL", "str"})->integer > 0);
    CHECK(reply_of(client, {"OBJECT", "ENCODING", "counter"}) == "string:int");
    CHECK(reply_of(client, {"GET", "missing"}) == "nil");
    CHECK(reply_of(client, {"LRANGE", "missing", "0", "-1"}) == "array[]");

    for (const char* key : {"str", "counter", "hash", "list", "set", "zset", "hll", "bits", "stream", "geo"}) {
        CAPTURE(key);
        CHECK(cluster().holders(key).size() == 1);
    }
}

// twemproxy's fnv1a_64 spreads sequential keys unevenly (nutcracker puts these 300 keys
// 200/90/10 on the same servers), so only presence on every backend is asserted.
TEST_CASE("keys spread over every backend") {
    Client client(cluster().proxy_port());
    for (int i = 0; i < 300; ++i) client.command({"SET", "spread:" + std::to_string(i), "x"});
    for (size_t s = 0; s < cluster().size(); ++s) {
        Client direct(cluster().server(s).port());
        CHECK(direct.command({"DBSIZE"})->integer > 0);
    }
}

TEST_CASE("a deep pipeline across backends gets every reply in request order") {
    Client client(cluster().proxy_port());
    std::vector<std::vector<std::string>> commands;
    for (int i = 0; i < 2000; ++i) commands.push_back({"SET", "pipe:" + std::to_string(i), std::to_string(i)});
    for (int i = 0; i < 2000; ++i) commands.push_back({"GET", "pipe:" + std::to_string(i)});
    const auto replies = client.pipeline(commands);
    REQUIRE(replies.size() == 4000);
    for (int i = 0; i < 2000; ++i) {
        CHECK(describe(replies[static_cast<size_t>(i)].get()) == "status:OK");
        CHECK(describe(replies[static_cast<size_t>(2000 + i)].get()) == "string:" + std::to_string(i));
    }
}

TEST_CASE("MSET and MGET across backends split per backend and merge in key order") {
    Client client(cluster().proxy_port());
    const auto keys = cluster().one_key_per_server("multi:");
    CHECK(reply_of(client, {"MSET", keys[0], "v0", keys[1], "v1", keys[2], "v2"}) == "status:OK");
    for (size_t i = 0; i < keys.size(); ++i) CHECK(cluster().holder(keys[i]) == static_cast<int>(i));
    CHECK(reply_of(client, {"MGET", keys[2], "multi:none", keys[0], keys[1], keys[2]}) ==
          "array[string:v2,nil,string:v0,string:v1,string:v2]");
    CHECK(reply_of(client, {"EXISTS", keys[0], keys[1], keys[2], "multi:none", keys[0]}) == "integer:4");
    CHECK(reply_of(client, {"TOUCH", keys[0], keys[1], keys[2]}) == "integer:3");
    CHECK(reply_of(client, {"DEL", keys[0], keys[1], "multi:none"}) == "integer:2");
    CHECK(reply_of(client, {"UNLINK", keys[2]}) == "integer:1");
    CHECK(reply_of(client, {"MGET", keys[0], keys[1], keys[2]}) == "array[nil,nil,nil]");
}

TEST_CASE("multi-key commands that cannot be split run only when all keys share a server") {
    Client client(cluster().proxy_port());
    const auto keys = cluster().one_key_per_server("cross:");
    client.command({"SET", keys[0], "v"});
    const std::string crossslot = "error:CROSSSLOT Keys in request don't hash to the same server";
    CHECK(reply_of(client, {"RENAME", keys[0], keys[1]}) == crossslot);
    CHECK(reply_of(client, {"SINTER", keys[0], keys[1]}) == crossslot);
    CHECK(reply_of(client, {"EVAL", "return 1", "2", keys[0], keys[1]}) == crossslot);
    CHECK(reply_of(client, {"GET", keys[0]}) == "string:v");  // nothing was moved

    // Hash tags put related keys together, so the same commands work.
    CHECK(reply_of(client, {"SET", "{user:1}:name", "ann"}) == "status:OK");
    CHECK(reply_of(client, {"RENAME", "{user:1}:name", "{user:1}:alias"}) == "status:OK");
    CHECK(reply_of(client, {"GET", "{user:1}:alias"}) == "string:ann");
    CHECK(reply_of(client, {"SADD", "{t}a", "1", "2"}) == "integer:2");
    CHECK(reply_of(client, {"SADD", "{t}b", "2", "3"}) == "integer:2");
    CHECK(reply_of(client, {"SINTER", "{t}a", "{t}b"}) == "array[string:2]");
    CHECK(reply_of(client, {"EVAL", "return redis.call('GET', KEYS[1])", "2", "{user:1}:alias",
                            "{user:1}:x"}) == "string:ann");
    CHECK(reply_of(client, {"EVAL", "return ARGV[1]", "0", "hi"}) == "string:hi");
    CHECK(reply_of(client, {"LMOVE", "{t}a", "{t}b", "LEFT", "RIGHT"}) ==
          "error:WRONGTYPE Operation against a key holding the wrong kind of value");
}

TEST_CASE("commands with no single server to run on get an error and the connection stays open") {
    Client client(cluster().proxy_port());
    CHECK(reply_of(client, {"SUBSCRIBE", "ch"}) == "error:ERR unsupported command 'subscribe'");
    CHECK(reply_of(client, {"MULTI"}) == "error:ERR unsupported command 'multi'");
    CHECK(reply_of(client, {"KEYS", "*"}) == "error:ERR unsupported command 'keys'");
    CHECK(reply_of(client, {"CONFIG", "GET", "maxmemory"}) == "error:ERR unsupported command 'config get'");
    CHECK(reply_of(client, {"BLPOP", "list", "0"}) == "error:ERR unsupported command 'blpop'");
    CHECK(reply_of(client, {"SORT", "list", "BY", "w_*"}).starts_with("error:ERR SORT BY/GET"));
    CHECK(reply_of(client, {"NOSUCHCOMMAND", "a"}) ==
          "error:ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'a' ");
    CHECK(reply_of(client, {"GET"}) == "error:ERR wrong number of arguments for 'get' command");
    CHECK(reply_of(client, {"SET", "k"}) == "error:ERR wrong number of arguments for 'set' command");
    CHECK(reply_of(client, {"PING"}) == "status:PONG");
}

TEST_CASE("the proxy answers connection commands itself") {
    Client client(cluster().proxy_port());
    CHECK(reply_of(client, {"PING"}) == "status:PONG");
    CHECK(reply_of(client, {"PING", "hi"}) == "string:hi");
    CHECK(reply_of(client, {"ECHO", "hello"}) == "string:hello");
    CHECK(reply_of(client, {"SELECT", "0"}) == "status:OK");
    CHECK(reply_of(client, {"SELECT", "1"}) == "error:ERR DB index is out of range");
    CHECK(reply_of(client, {"HELLO", "3"}) == "error:NOPROTO sorry, this protocol version is not supported");
    CHECK(reply_of(client, {"HELLO", "2"}).starts_with("array[string:server,string:redis"));
    CHECK(reply_of(client, {"CLIENT", "GETNAME"}) == "nil");
    CHECK(reply_of(client, {"CLIENT", "SETNAME", "worker-7"}) == "status:OK");
    CHECK(reply_of(client, {"CLIENT", "GETNAME"}) == "string:worker-7");
    CHECK(reply_of(client, {"CLIENT", "SETNAME", "a b"}) ==
          "error:ERR Client names cannot contain spaces, newlines or special characters.");
    const std::string info = reply_of(client, {"INFO"});
    CHECK(info.find("redis_version:") != std::string::npos);
    CHECK(info.find("connected_clients:") != std::string::npos);
    CHECK(client.command({"COMMAND", "COUNT"})->integer > 200);
    CHECK(reply_of(client, {"COMMAND", "INFO", "get"}) == "array[array[string:get,integer:2,array[],integer:1,integer:1,integer:1]]");
    CHECK(reply_of(client, {"COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"}) == "array[string:a,string:b]");
}

TEST_CASE("FLUSHDB and DBSIZE reach every backend of the pool") {
    Client client(cluster().proxy_port());
    for (int i = 0; i < 30; ++i) client.command({"SET", "flush:" + std::to_string(i), "x"});
    CHECK(client.command({"DBSIZE"})->integer >= 30);
    CHECK(reply_of(client, {"FLUSHDB"}) == "status:OK");
    CHECK(reply_of(client, {"DBSIZE"}) == "integer:0");
    const std::string sha = reply_of(client, {"SCRIPT", "LOAD", "return 7"});
    CHECK(sha.starts_with("string:"));
    CHECK(reply_of(client, {"EVALSHA", sha.substr(7), "1", "anykey"}) == "integer:7");
}

TEST_CASE("large values pass through intact") {
    Client client(cluster().proxy_port());
    std::string value(3 * 1024 * 1024, 'v');
    for (size_t i = 0; i < value.size(); i += 997) value[i] = static_cast<char>(i % 251);
    CHECK(reply_of(client, {"SET", "big", value}) == "status:OK");
    ReplyPtr reply = client.command({"GET", "big"});
    REQUIRE(reply);
    REQUIRE(reply->type == REDIS_REPLY_STRING);
    CHECK(std::string(reply->str, reply->len) == value);
}

TEST_CASE("prefix routes send keys to their own pool, the longest prefix winning") {
    RedisServer main_server;
    RedisServer session_server;
    RedisServer admin_server;
    ShardProxy proxy("[proxy]\nworkers = 2\n[[listener]]\nlisten = \"127.0.0.1:@PORT@\"\n"
                     "protocol = \"redis\"\npool = \"main\"\n"
                     "routes = [ { prefix = \"session:\", pool = \"sessions\" },\n"
                     "           { prefix = \"session:admin:\", pool = \"admin\" } ]\n"
                     "[pool.main]\nprotocol = \"redis\"\nservers = [\"" + main_server.address() + "\"]\n"
                     "[pool.sessions]\nprotocol = \"redis\"\nservers = [\"" + session_server.address() + "\"]\n"
                     "[pool.admin]\nprotocol = \"redis\"\nservers = [\"" + admin_server.address() + "\"]\n");
    Client client(proxy.port());
    CHECK(reply_of(client, {"SET", "user:1", "u"}) == "status:OK");
    CHECK(reply_of(client, {"SET", "session:abc", "s"}) == "status:OK");
    CHECK(reply_of(client, {"SET", "session:admin:root", "a"}) == "status:OK");
    Client on_main(main_server.port());
    Client on_sessions(session_server.port());
    Client on_admin(admin_server.port());
    CHECK(reply_of(on_main, {"KEYS", "*"}) == "array[string:user:1]");
    CHECK(reply_of(on_sessions, {"KEYS", "*"}) == "array[string:session:abc]");
    CHECK(reply_of(on_admin, {"KEYS", "*"}) == "array[string:session:admin:root]");
    // Split commands may span pools; other multi-key commands may not.
    CHECK(reply_of(client, {"MGET", "session:abc", "user:1", "session:admin:root"}) ==
          "array[string:s,string:u,string:a]");
    CHECK(reply_of(client, {"RENAME", "user:1", "session:new"}) ==
          "error:CROSSSLOT Keys in request don't hash to the same server");
}
