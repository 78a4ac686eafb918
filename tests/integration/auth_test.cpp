// AUTH on both sides: clients authenticating to a listener with `auth` / `users`, and pools
// logging in to password-protected redis-servers (AUTH, SELECT) on every new connection.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/processes.h"

using namespace shardproxy::testing;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kNoAuth = "error:NOAUTH Authentication required.";
constexpr std::string_view kWrongPass = "WRONGPASS invalid username-password pair or user is disabled.";

long elapsed_ms(Clock::time_point since) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

std::string reply_of(Client& client, const std::vector<std::string>& args) {
    return describe(client.command(args).get());
}

// One worker, one listener with `listener_keys`, one pool of `server` named b1 with `pool_keys`.
std::string proxy_config(const RedisServer& server, const std::string& listener_keys,
                         const std::string& pool_keys) {
    return "[proxy]\nworkers = 1\n[[listener]]\nlisten = \"127.0.0.1:@PORT@\"\npool = \"main\"\n" +
           listener_keys + "\n[pool.main]\nservers = [\"" + server.address() + " b1\"]\ntimeout_ms = 500\n" +
           pool_keys + "\n";
}

std::string label(const RedisServer& server) { return "b1 (" + server.address() + ")"; }

// A redis-server whose default user needs `password`, and which knows the ACL user
// proxy with the password "p:w" (a colon, as pool passwords may hold).
void protect(RedisServer& server, const std::string& password) {
    Client admin(server.port());
    REQUIRE(reply_of(admin, {"ACL", "SETUSER", "proxy", "on", ">p:w", "~*", "+@all"}) == "status:OK");
    REQUIRE(reply_of(admin, {"CONFIG", "SET", "requirepass", password}) == "status:OK");
}

// The INFO "servers" line of the pool's only server: "name=b1,state=down,...".
std::string server_info(Client& client) {
    const std::string info = describe(client.command({"INFO", "servers"}).get());
    const size_t at = info.find("server_main_0:");
    return at == std::string::npos ? "" : info.substr(at, info.find("\r\n", at) - at);
}

}  // namespace

TEST_CASE("a listener with auth answers NOAUTH to everything but AUTH, HELLO, QUIT and RESET until AUTH") {
    RedisServer server;
    ShardProxy proxy(proxy_config(server, "auth = \"s3cret\"\nusers = [\"alice:a:pw\"]", ""));
    Client client(proxy.port());
    for (const std::vector<std::string>& command :
         std::vector<std::vector<std::string>>{{"GET", "k"}, {"SET", "k", "v"}, {"PING"}, {"INFO"},
                                               {"MGET", "a", "b"}, {"NOSUCHCOMMAND"}, {"SELECT", "0"}}) {
        CHECK_MESSAGE(reply_of(client, command) == kNoAuth, command[0]);
    }
    CHECK(reply_of(client, {"HELLO", "2"}).starts_with("error:NOAUTH HELLO must be called with the client already "
                                                       "authenticated"));
    CHECK(reply_of(client, {"AUTH", "wrong"}) == "error:" + std::string(kWrongPass));
    CHECK(reply_of(client, {"AUTH", "s3cre"}) == "error:" + std::string(kWrongPass));
    CHECK(reply_of(client, {"AUTH", "s3cret!"}) == "error:" + std::string(kWrongPass));
    CHECK(reply_of(client, {"AUTH", "alice", "s3cret"}) == "error:" + std::string(kWrongPass));
    CHECK(reply_of(client, {"AUTH", "a", "b", "c"}) == "error:ERR syntax error");
    CHECK(reply_of(client, {"GET", "k"}) == kNoAuth);

    CHECK(reply_of(client, {"AUTH", "s3cret"}) == "status:OK");
    CHECK(reply_of(client, {"SET", "k", "v"}) == "status:OK");
    CHECK(reply_of(client, {"GET", "k"}) == "string:v");
    CHECK(reply_of(client, {"PING"}) == "status:PONG");
    // A failed AUTH later does not undo the first.
    CHECK(reply_of(client, {"AUTH", "wrong"}) == "error:" + std::string(kWrongPass));
    CHECK(reply_of(client, {"GET", "k"}) == "string:v");

    // Per connection: another client still has to authenticate.
    Client second(proxy.port());
    CHECK(reply_of(second, {"GET", "k"}) == kNoAuth);
    CHECK(reply_of(second, {"AUTH", "default", "s3cret"}) == "status:OK");
    CHECK(reply_of(second, {"GET", "k"}) == "string:v");

    Client third(proxy.port());
    CHECK(reply_of(third, {"QUIT"}) == "status:OK");
}

TEST_CASE("users from `users` authenticate with AUTH user password or HELLO 2 AUTH") {
    RedisServer server;
    ShardProxy proxy(proxy_config(server, "users = [\"alice:a:pw\", \"bob:pw2\"]", ""));
    Client alice(proxy.port());
    CHECK(reply_of(alice, {"AUTH", "a:pw"}) == "error:" + std::string(kWrongPass));  // no default user
    CHECK(reply_of(alice, {"AUTH", "alice", "pw2"}) == "error:" + std::string(kWrongPass));
    CHECK(reply_of(alice, {"AUTH", "alice", "a:pw"}) == "status:OK");
    CHECK(reply_of(alice, {"SET", "k", "1"}) == "status:OK");

    Client bob(proxy.port());
    CHECK(reply_of(bob, {"HELLO", "2", "AUTH", "bob", "nope"}) == "error:" + std::string(kWrongPass));
    CHECK(reply_of(bob, {"GET", "k"}) == kNoAuth);
    CHECK(reply_of(bob, {"HELLO", "3", "AUTH", "bob", "pw2"}) ==
          "error:NOPROTO sorry, this protocol version is not supported");
    CHECK(reply_of(bob, {"HELLO", "2", "AUTH", "bob", "pw2", "SETNAME", "bobby"})
              .starts_with("array[string:server,string:redis"));
    CHECK(reply_of(bob, {"GET", "k"}) == "string:1");
    CHECK(reply_of(bob, {"CLIENT", "GETNAME"}) == "string:bobby");
}

TEST_CASE("AUTH and the requests pipelined behind it in one write are answered in order") {
    RedisServer server;
    ShardProxy proxy(proxy_config(server, "auth = \"s3cret\"", ""));
    const std::string bytes =
        "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
        "*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n"
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
        "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
    CHECK(raw_exchange(proxy.port(), bytes) == "-NOAUTH Authentication required.\r\n+OK\r\n+OK\r\n$1\r\nv\r\n");
}

TEST_CASE("AUTH on a listener without auth gets Redis's own answers") {
    RedisServer server;
    ShardProxy proxy(proxy_config(server, "", ""));
    Client client(proxy.port());
    CHECK(reply_of(client, {"GET", "k"}) == "nil");
    CHECK(reply_of(client, {"AUTH", "pw"}) ==
          "error:ERR AUTH <password> called without any password configured for the default user. Are you sure "
          "your configuration is correct?");
    CHECK(reply_of(client, {"AUTH", "default", "anything"}) == "status:OK");
    CHECK(reply_of(client, {"AUTH", "alice", "anything"}) == "error:" + std::string(kWrongPass));
    CHECK(reply_of(client, {"HELLO", "2", "AUTH", "default", "x"}).starts_with("array[string:server"));
}

TEST_CASE("a pool with auth_user, auth and db logs in and writes to that database") {
    RedisServer server;
    protect(server, "backend-pw");
    ShardProxy proxy(proxy_config(server, "", "auth_user = \"proxy\"\nauth = \"p:w\"\ndb = 3"));
    Client client(proxy.port());
    // A pipeline, so that on a fresh connection requests queue behind the handshake.
    std::vector<std::vector<std::string>> commands;
    for (int i = 0; i < 50; ++i) commands.push_back({"INCR", "counter"});
    commands.push_back({"SET", "k", "in-db-3"});
    const auto replies = client.pipeline(commands);
    REQUIRE(replies.size() == commands.size());
    for (int i = 0; i < 50; ++i) CHECK(describe(replies[i].get()) == "integer:" + std::to_string(i + 1));
    CHECK(describe(replies[50].get()) == "status:OK");

    Client direct(server.port());
    REQUIRE(reply_of(direct, {"AUTH", "backend-pw"}) == "status:OK");
    CHECK(reply_of(direct, {"GET", "k"}) == "nil");
    REQUIRE(reply_of(direct, {"SELECT", "3"}) == "status:OK");
    CHECK(reply_of(direct, {"GET", "k"}) == "string:in-db-3");
    CHECK(reply_of(direct, {"GET", "counter"}) == "string:50");

    // A new connection after the server restarts (and loses its ACL user) logs in again.
    server.restart();
    protect(server, "backend-pw");
    bool back = false;
    for (int i = 0; i < 50 && !back; ++i) {
        back = reply_of(client, {"SET", "k2", "again"}) == "status:OK";
        if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(back);
    Client direct_again(server.port());
    REQUIRE(reply_of(direct_again, {"AUTH", "backend-pw"}) == "status:OK");
    REQUIRE(reply_of(direct_again, {"SELECT", "3"}) == "status:OK");
    CHECK(reply_of(direct_again, {"GET", "k2"}) == "string:again");
}

TEST_CASE("a wrong backend password fails requests at once with the server's refusal, then marks it down") {
    RedisServer server;
    protect(server, "backend-pw");
    ShardProxy proxy(proxy_config(
        server, "", "auth = \"wrong\"\n[pool.main.health]\nfailure_limit = 2\nmax_down_percent = 100\n"));
    Client client(proxy.port());
    const auto start = Clock::now();
    const std::string refused = reply_of(client, {"GET", "k"});
    CHECK(elapsed_ms(start) < 300);
    CHECK(refused.starts_with("error:ERR backend " + label(server) + " "));
    CHECK(refused.find("refused AUTH: " + std::string(kWrongPass)) != std::string::npos);

    std::string line;
    for (int i = 0; i < 60 && line.find("state=down") == std::string::npos; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        line = server_info(client);
    }
    CHECK(line.find("state=down") != std::string::npos);
    const std::string down = reply_of(client, {"SET", "k", "v"});
    CHECK(down.starts_with("error:ERR backend " + label(server) + " is down: "));
    CHECK(down.find("refused AUTH: " + std::string(kWrongPass)) != std::string::npos);
}

TEST_CASE("a database the server does not have is refused the same way") {
    RedisServer server;
    ShardProxy proxy(proxy_config(server, "", "db = 100"));
    Client client(proxy.port());
    const std::string refused = reply_of(client, {"GET", "k"});
    CHECK(refused.starts_with("error:ERR backend " + label(server) + " "));
    CHECK(refused.find("refused SELECT 100: ERR DB index is out of range") != std::string::npos);
}

TEST_CASE("the near cache's tracking connection logs in and selects the database too") {
    RedisServer server;
    protect(server, "backend-pw");
    ShardProxy proxy(proxy_config(server, "",
                                  "auth_user = \"proxy\"\nauth = \"p:w\"\ndb = 3\n[pool.main.hotkey]\n"
                                  "near_cache = true\ninvalidation = \"tracking\"\n"));
    Client direct(server.port());
    REQUIRE(reply_of(direct, {"AUTH", "backend-pw"}) == "status:OK");
    bool tracking = false;
    for (int i = 0; i < 60 && !tracking; ++i) {
        const std::string clients = reply_of(direct, {"CLIENT", "LIST"});
        // One line per client: the tracking one has flag t, RESP3, database 3 and user proxy.
        for (size_t at = 0; at < clients.size() && !tracking;) {
            const size_t end = std::min(clients.find('\n', at), clients.size());
            const std::string client_line = clients.substr(at, end - at);
            tracking = client_line.find("flags=t ") != std::string::npos &&
                       client_line.find(" db=3 ") != std::string::npos &&
                       client_line.find(" user=proxy") != std::string::npos &&
                       client_line.find(" resp=3") != std::string::npos;
            at = end + 1;
        }
        if (!tracking) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(tracking);
}
