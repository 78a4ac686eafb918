// /config shows the running config without its secrets, whatever table they are in.
#include <doctest/doctest.h>

#include "conf/config.h"

namespace shardproxy::conf {
namespace {

TEST_CASE("redacted_config_text hides every secret and keeps everything else") {
    Config config;
    config.source = "test.toml";
    config.text = R"([proxy]
workers = 2
[[listener]]
listen = "127.0.0.1:6380"
pool = "main"
auth = "listener-secret"
users = ["alice:pw1"]
[pool.main]
servers = ["127.0.0.1:7001"]
auth = "backend-secret"
auth_user = "app"
db = 3
)";
    const std::string shown = redacted_config_text(config);
    INFO(shown);
    CHECK(shown.find("listener-secret") == std::string::npos);
    CHECK(shown.find("backend-secret") == std::string::npos);
    CHECK(shown.find("alice") == std::string::npos);
    CHECK(shown.find("auth = '<redacted>'") != std::string::npos);
    CHECK(shown.find("127.0.0.1:7001") != std::string::npos);
    CHECK(shown.find("db = 3") != std::string::npos);
    CHECK(shown.find("workers = 2") != std::string::npos);
}

}  // namespace
}  // namespace shardproxy::conf
