#pragma once
// Helpers for the conf tests: load a config from text and see its problems as an operator would.
#include <string>
#include <string_view>

#include "conf/config.h"

namespace shardproxy::conf::test {

// The smallest config that loads: one listener, one pool of one server.
inline constexpr std::string_view minimal_config = R"([[listener]]
listen = "127.0.0.1:6380"
pool = "main"

[pool.main]
servers = ["127.0.0.1:7001"]
)";

// Every problem in `text`, loaded as "test.toml", one "FILE:LINE:COL: message" per line.
inline std::string problems(std::string_view text) {
    const ConfigLoad load = load_config_string(text, "test.toml");
    std::string lines;
    for (const ConfigError& error : load.errors) lines += error.to_string() + "\n";
    return lines;
}

}  // namespace shardproxy::conf::test
