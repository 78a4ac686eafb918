// Listen addresses and server strings as operators write them.
#include <doctest/doctest.h>

#include <string>

#include "conf/address.h"
#include "conf/server_string.h"

namespace shardproxy::conf {
namespace {

std::string address_error(std::string_view text) { return parse_address(text).error; }
std::string server_error(std::string_view text) { return parse_server(text).error; }

TEST_CASE("host:port parses to a TCP address and prints back the same") {
    const AddressParse parsed = parse_address("127.0.0.1:6380");
    REQUIRE(parsed.error.empty());
    CHECK(parsed.address.kind == Address::Kind::tcp);
    CHECK(parsed.address.host == "127.0.0.1");
    CHECK(parsed.address.port == 6380);
    CHECK(parsed.address.to_string() == "127.0.0.1:6380");
    CHECK(parse_address("cache-1.internal:6379").address.host == "cache-1.internal");
}

TEST_CASE("a bracketed IPv6 literal parses and prints back in brackets") {
    const AddressParse parsed = parse_address("[::1]:7001");
    REQUIRE(parsed.error.empty());
    CHECK(parsed.address.host == "::1");
    CHECK(parsed.address.port == 7001);
    CHECK(parsed.address.to_string() == "[::1]:7001");
}

TEST_CASE("unix:/path parses to a unix socket address") {
    const AddressParse parsed = parse_address("unix:/run/shardproxy.sock");
    REQUIRE(parsed.error.empty());
    CHECK(parsed.address.kind == Address::Kind::unix_socket);
    CHECK(parsed.address.path == "/run/shardproxy.sock");
    CHECK(parsed.address.to_string() == "unix:/run/shardproxy.sock");
}

TEST_CASE("malformed addresses are refused with the reason") {
    CHECK(address_error("") == "the address is empty; expected host:port, [IPv6]:port or unix:/path");
    CHECK(address_error("127.0.0.1") ==
          "'127.0.0.1' has no port; expected host:port, [IPv6]:port or unix:/path");
    CHECK(address_error(":6379") == "':6379' has no host; expected host:port, [IPv6]:port or unix:/path");
    CHECK(address_error("127.0.0.1:0") == "port '0' must be a number from 1 to 65535");
    CHECK(address_error("127.0.0.1:65536") == "port '65536' must be a number from 1 to 65535");
    CHECK(address_error("127.0.0.1:+80") == "port '+80' must be a number from 1 to 65535");
    CHECK(address_error("127.0.0.1:") == "port '' must be a number from 1 to 65535");
    CHECK(address_error("cache one:6379") == "'cache one' is not a valid host name or IPv4 address");
    CHECK(address_error("::1:7001") ==
          "'::1:7001' has too many ':'; write IPv6 addresses in brackets, like [::1]:6379");
    CHECK(address_error("[::1:7001") == "'[::1:7001' has no ']' after the IPv6 address");
    CHECK(address_error("[fe80::zz]:7001") == "'fe80::zz' is not an IPv6 address");
    CHECK(address_error("[::1]") == "'[::1]' has no port; expected host:port, [IPv6]:port or unix:/path");
    CHECK(address_error("unix:") ==
          "the unix socket path is empty; expected host:port, [IPv6]:port or unix:/path");
    CHECK(address_error("unix:run/x.sock") ==
          "unix socket path 'run/x.sock' must be absolute (start with '/')");
}

TEST_CASE("a unix socket path longer than sockaddr_un allows is refused") {
    const std::string path = "/" + std::string(107, 'x');
    CHECK(address_error("unix:" + path.substr(0, 107)).empty());
    CHECK(address_error("unix:" + path) ==
          "unix socket path '" + path + "' is 108 bytes long; the limit is 107");
}

TEST_CASE("a server string gives address, weight, name and identity") {
    const ServerParse parsed = parse_server("127.0.0.1:7001:2 cache-a");
    REQUIRE(parsed.error.empty());
    CHECK(parsed.server.address.to_string() == "127.0.0.1:7001");
    CHECK(parsed.server.weight == 2);
    CHECK(parsed.server.name == "cache-a");
    CHECK(parsed.server.identity == "cache-a");
}

TEST_CASE("a server without weight weighs 1 and without name is identified by host:port") {
    const ServerParse parsed = parse_server("127.0.0.1:7001");
    REQUIRE(parsed.error.empty());
    CHECK(parsed.server.weight == 1);
    CHECK(parsed.server.name.empty());
    CHECK(parsed.server.identity == "127.0.0.1:7001");
}

TEST_CASE("an unnamed server on port 11211 is identified by its host alone") {
    CHECK(parse_server("10.0.0.5:11211").server.identity == "10.0.0.5");
    CHECK(parse_server("10.0.0.5:11211:3").server.identity == "10.0.0.5");
    CHECK(parse_server("10.0.0.5:11211:3 mc-1").server.identity == "mc-1");
    CHECK(parse_server("[::1]:11211").server.identity == "::1");
}

TEST_CASE("a bracketed IPv6 server takes a weight and a name") {
    const ServerParse parsed = parse_server("[::1]:7001:2 name");
    REQUIRE(parsed.error.empty());
    CHECK(parsed.server.address.host == "::1");
    CHECK(parsed.server.address.port == 7001);
    CHECK(parsed.server.weight == 2);
    CHECK(parsed.server.identity == "name");
    CHECK(parse_server("[::1]:7001").server.identity == "[::1]:7001");
}

TEST_CASE("a unix socket server takes a weight and a name, and is identified by unix:/path unnamed") {
    const ServerParse named = parse_server("unix:/run/redis-c.sock:3 cache-c");
    REQUIRE(named.error.empty());
    CHECK(named.server.address.path == "/run/redis-c.sock");
    CHECK(named.server.weight == 3);
    CHECK(named.server.identity == "cache-c");
    const ServerParse unnamed = parse_server("unix:/run/redis-c.sock");
    REQUIRE(unnamed.error.empty());
    CHECK(unnamed.server.weight == 1);
    CHECK(unnamed.server.identity == "unix:/run/redis-c.sock");
}

TEST_CASE("blanks around and between a server's fields are ignored") {
    const ServerParse parsed = parse_server("  127.0.0.1:7001 \t cache-a  ");
    REQUIRE(parsed.error.empty());
    CHECK(parsed.server.name == "cache-a");
}

TEST_CASE("malformed server strings are refused with the reason") {
    CHECK(server_error("") == "the server is empty; expected \"host:port[:weight] [name]\"");
    CHECK(server_error("127.0.0.1:7001:0") == "weight '0' must be a whole number from 1 to 65535");
    CHECK(server_error("127.0.0.1:7001:65536") == "weight '65536' must be a whole number from 1 to 65535");
    CHECK(server_error("127.0.0.1:7001:x") == "weight 'x' must be a whole number from 1 to 65535");
    CHECK(server_error("127.0.0.1:7001:") == "weight '' must be a whole number from 1 to 65535");
    CHECK(server_error("[::1]:7001:-1") == "weight '-1' must be a whole number from 1 to 65535");
    CHECK(server_error("unix:/run/r.sock:0") == "weight '0' must be a whole number from 1 to 65535");
    CHECK(server_error("127.0.0.1:7001 cache a") ==
          "'127.0.0.1:7001 cache a' has more than an address and a name; expected \"host:port[:weight] "
          "[name]\"");
    CHECK(server_error("127.0.0.1 cache-a") ==
          "'127.0.0.1' has no port; expected host:port, [IPv6]:port or unix:/path");
}

}  // namespace
}  // namespace shardproxy::conf
