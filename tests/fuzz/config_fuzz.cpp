// Fuzzes the config loader (conf/config.h) with the input as the text of a config file:
// whatever an operator writes, loading reports problems instead of crashing, and reports them
// at places that exist.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "conf/config.h"
#include "tests/fuzz/fuzz_check.h"

using shardproxy::conf::ConfigError;
using shardproxy::conf::ConfigLoad;

namespace {

const std::string kSource = "fuzz.toml";

void check_error(const ConfigError& error, std::string_view text) {
    FUZZ_CHECK(error.file == kSource);
    FUZZ_CHECK(!error.message.empty());
    if (error.line == 0) {
        FUZZ_CHECK(error.column == 0);
    } else {
        // One more line than the text has newlines: a problem may lie at the very end.
        const auto lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
        FUZZ_CHECK(error.line <= lines);
        FUZZ_CHECK(error.column > 0);
    }
    FUZZ_CHECK(error.to_string().starts_with(kSource + ":"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const ConfigLoad load = shardproxy::conf::load_config_string(text, kSource);
    FUZZ_CHECK(load.config.has_value() == load.errors.empty());
    for (const ConfigError& error : load.errors) check_error(error, text);
    if (load.config) {
        FUZZ_CHECK(load.config->text == text);
        FUZZ_CHECK(!load.config->listeners.empty() && !load.config->pools.empty());
        // The text shown at /config: the loaded text always parses again.
        FUZZ_CHECK(!shardproxy::conf::redacted_config_text(*load.config).empty());
    }
    // Loading keeps no state between loads: a reload of the same text finds the same.
    const ConfigLoad again = shardproxy::conf::load_config_string(text, kSource);
    FUZZ_CHECK(again.errors == load.errors && again.config == load.config);
    return 0;
}
