#include <sstream>
#include <string>
#include <vector>

#include "conf/config.h"
#include "conf/toml.h"

namespace shardproxy::conf {
namespace {

// By name rather than by a list of today's keys, so that a secret added later is hidden too.
bool is_secret(std::string_view key) {
    return key.find("auth") != std::string_view::npos || key.find("password") != std::string_view::npos ||
           key.find("secret") != std::string_view::npos || key == "users";
}

void redact(toml::node& node);

void redact(toml::table& table) {
    std::vector<std::string> secrets;
    for (auto&& [key, value] : table) {
        if (is_secret(key.str())) {
            secrets.emplace_back(key.str());
        } else {
            redact(value);
        }
    }
    for (const std::string& key : secrets) table.insert_or_assign(key, "<redacted>");
}

void redact(toml::node& node) {
    if (toml::table* table = node.as_table()) {
        redact(*table);
    } else if (toml::array* array = node.as_array()) {
        for (toml::node& element : *array) redact(element);
    }
}

}  // namespace

std::string redacted_config_text(const Config& config) {
    toml::parse_result parsed = toml::parse(config.text, std::string_view(config.source));
    if (!parsed) return "";  // cannot happen: the config was loaded from this very text
    toml::table table = std::move(parsed).table();
    redact(table);
    std::ostringstream out;
    out << table << '\n';
    return out.str();
}

}  // namespace shardproxy::conf
