#pragma once
// Every section and key the loader accepts, taken from the key tables, for the config reference
// (conf/README.md is checked against it) and anything else that documents the file.
#include <string_view>
#include <vector>

namespace shardproxy::conf {

struct KeyReference {
    std::string_view name;
    std::string_view type;           // "integer", "string", "array of strings", ...
    std::string_view default_value;  // a TOML literal, or prose in parentheses
    std::string_view help;
};

struct SectionReference {
    std::string_view title;  // "[proxy]", "[[listener]]", ...: the README's heading for it
    std::vector<KeyReference> keys;
};

std::vector<SectionReference> config_reference();

}  // namespace shardproxy::conf
