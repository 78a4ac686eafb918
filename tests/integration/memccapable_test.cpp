// libmemcached's own protocol conformance checker, memccapable, against a memcache listener in
// front of three memcached servers.
//
// Every ASCII test it has is run (-a), 27 of them: version, quit, verbosity, set, add, replace,
// cas, append, prepend, delete, incr, decr, flush (each also with noreply), get, gets, mget and
// stat. Its 27 binary-protocol tests are skipped: shardproxy speaks memcached's text and meta
// protocols, not the binary protocol (deprecated by memcached itself since 1.6).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <sstream>
#include <string>
#include <sys/wait.h>

#include "support/memcached_servers.h"

using namespace shardproxy::testing;

TEST_CASE("memccapable passes every ASCII test through the proxy") {
    MemcacheCluster cluster({.servers = 3});
    const std::string command =
        "memccapable -a -v -t 2 -h 127.0.0.1 -p " + std::to_string(cluster.proxy_port()) + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    std::array<char, 4096> buffer{};
    size_t n;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
    const int status = pclose(pipe);
    INFO(output);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(output.find("All tests passed") != std::string::npos);

    int passed = 0;
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.starts_with("ascii ") && line.ends_with("[pass]")) ++passed;
    }
    CHECK(passed == 27);
}
