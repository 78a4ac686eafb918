#include "conf/key_table.h"

#include <algorithm>

#include "conf/nearest_key.h"

namespace shardproxy::conf {
namespace {

bool is_bare_key(std::string_view key) {
    return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-';
    });
}

std::string with_article(ValueType type) {
    const std::string_view name = to_string(type);
    return (name.front() == 'a' || name.front() == 'i' ? "an " : "a ") + std::string(name);
}

bool has_type(const toml::node& node, ValueType type) {
    switch (type) {
        case ValueType::integer: return node.is_integer();
        case ValueType::boolean: return node.is_boolean();
        case ValueType::string: return node.is_string();
        case ValueType::table: return node.is_table();
        // Element types are checked one by one, so each bad element gets its own place.
        case ValueType::string_array:
        case ValueType::table_array: return node.is_array();
    }
    return false;
}

}  // namespace

std::string_view to_string(ValueType type) {
    switch (type) {
        case ValueType::integer: return "integer";
        case ValueType::boolean: return "boolean";
        case ValueType::string: return "string";
        case ValueType::string_array: return "array of strings";
        case ValueType::table: return "table";
        case ValueType::table_array: return "array of tables";
    }
    return "";
}

std::string key_path(std::string_view parent, std::string_view key) {
    std::string quoted;
    if (is_bare_key(key)) {
        quoted = key;
    } else {
        quoted = "\"";
        for (char c : key) {
            if (c == '"' || c == '\\') quoted += '\\';
            quoted += c;
        }
        quoted += '"';
    }
    return parent.empty() ? quoted : std::string(parent) + "." + quoted;
}

std::string element_path(std::string_view array_path, std::size_t index) {
    return std::string(array_path) + "[" + std::to_string(index) + "]";
}

void report_at(Diagnostics& diagnostics, const toml::source_region& where, std::string message) {
    diagnostics.error(where.begin.line, where.begin.column, std::move(message));
}

void Setting::error(std::string message) const {
    report_at(context.diagnostics, node.source(), std::move(message));
}

std::string_view Setting::string() const { return node.as_string()->get(); }

void Setting::unknown_name(std::string_view what, std::span<const std::string_view> known) const {
    error(path + ": unknown " + std::string(what) + " '" + std::string(string()) + "'; " +
          suggestion(string(), known));
}

std::optional<int64_t> Setting::integer(int64_t min, int64_t max, bool open_ended) const {
    const int64_t value = node.as_integer()->get();
    if (value >= min && value <= max) return value;
    const std::string got = " (got " + std::to_string(value) + ")";
    if (!open_ended) {
        error(path + " must be from " + std::to_string(min) + " to " + std::to_string(max) + got);
    } else if (value < min) {
        error(path + " must be at least " + std::to_string(min) + got);
    } else {
        error(path + " is too large: at most " + std::to_string(max) + got);
    }
    return std::nullopt;
}

bool check_type(const Setting& setting, ValueType type) {
    if (has_type(setting.node, type)) return true;
    setting.error(setting.path + " must be " + with_article(type));
    return false;
}

void report_unknown_keys(const toml::table& table, std::string_view path,
                         std::span<const std::string_view> known, Diagnostics& diagnostics) {
    for (auto&& [key, value] : table) {
        if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
        report_at(diagnostics, key.source(),
                  "unknown key '" + key_path(path, key.str()) + "'; " + suggestion(key.str(), known));
    }
}

void report_missing_key(const toml::table& table, std::string_view path, std::string_view key,
                        Diagnostics& diagnostics) {
    report_at(diagnostics, table.source(),
              std::string(path) + " is missing the required key '" + std::string(key) + "'");
}

}  // namespace shardproxy::conf
