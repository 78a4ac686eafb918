#pragma once
// A section of the config file as a table of keys. Each key is declared once, with its type,
// default, help text and the code that reads it; the same table drives the unknown-key check,
// the "did you mean" suggestions and the config reference that conf/README.md is checked against.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "conf/diagnostics.h"
#include "conf/toml.h"

namespace shardproxy::conf {

enum class ValueType { integer, boolean, string, string_array, table, table_array };
// "integer", "string", "array of strings", "table", "array of tables"
std::string_view to_string(ValueType type);

struct Context {
    Diagnostics& diagnostics;
    // The snapshot being built: every pool is in it before any listener is read.
    const Config& config;
};

// One value in the file, named in messages by its key path ("pool.main.timeout_ms").
struct Setting {
    const toml::node& node;
    std::string path;
    const Context& context;

    // Reported at this value's place in the file.
    void error(std::string message) const;
    std::string_view string() const;  // only for a value whose type was checked to be a string
    bool boolean() const { return node.as_boolean()->get(); }  // likewise, a boolean
    // Reports "PATH: unknown WHAT 'value'; did you mean ...?" for a string naming none of known.
    void unknown_name(std::string_view what, std::span<const std::string_view> known) const;

    // Stores the value when it is an integer from min to max; otherwise reports why.
    template <class T>
    void read(T& target, int64_t min, int64_t max) const {
        if (auto value = integer(min, max, false)) target = static_cast<T>(*value);
    }
    // The same, with no limit above but what T holds.
    template <class T>
    void read_at_least(T& target, int64_t min) const {
        constexpr auto limit =
            std::min<uint64_t>(std::numeric_limits<T>::max(), std::numeric_limits<int64_t>::max());
        if (auto value = integer(min, static_cast<int64_t>(limit), true)) target = static_cast<T>(*value);
    }

    // Calls visit(element, index) for each element of this array that has the type; reports
    // the others.
    template <class Visit>
    void for_each_element(ValueType type, Visit visit) const;

private:
    std::optional<int64_t> integer(int64_t min, int64_t max, bool open_ended) const;
};

template <class Section>
struct KeySpec {
    std::string_view name;
    ValueType type;
    // A TOML literal, or prose in parentheses when there is no single value.
    std::string_view default_value;
    std::string_view help;
    void (*apply)(const Setting& setting, Section& section);
    bool required = false;
};

// "pool.main" + "hash" -> "pool.main.hash"; keys that are not bare TOML keys are quoted.
std::string key_path(std::string_view parent, std::string_view key);
// "pool.main.servers" + 2 -> "pool.main.servers[2]"
std::string element_path(std::string_view array_path, std::size_t index);

void report_at(Diagnostics& diagnostics, const toml::source_region& where, std::string message);
// Reports "PATH must be a string" and the like; true when the value has the type.
bool check_type(const Setting& setting, ValueType type);
void report_unknown_keys(const toml::table& table, std::string_view path,
                         std::span<const std::string_view> known, Diagnostics& diagnostics);
void report_missing_key(const toml::table& table, std::string_view path, std::string_view key,
                        Diagnostics& diagnostics);

// Reads every key of a section into section; keys are applied in table order, so a key may rely
// on the ones declared before it.
template <class Section>
void read_keys(const toml::table& table, std::string_view path, std::span<const KeySpec<Section>> keys,
               Section& section, const Context& context) {
    std::vector<std::string_view> names;
    for (const KeySpec<Section>& key : keys) names.push_back(key.name);
    report_unknown_keys(table, path, names, context.diagnostics);
    for (const KeySpec<Section>& key : keys) {
        const toml::node* node = table.get(key.name);
        if (node == nullptr) {
            if (key.required) report_missing_key(table, path, key.name, context.diagnostics);
            continue;
        }
        Setting setting{*node, key_path(path, key.name), context};
        if (check_type(setting, key.type)) key.apply(setting, section);
    }
}

template <class Visit>
void Setting::for_each_element(ValueType type, Visit visit) const {
    const toml::array& array = *node.as_array();
    for (std::size_t index = 0; index < array.size(); ++index) {
        Setting element{*array.get(index), element_path(path, index), context};
        if (check_type(element, type)) visit(element, index);
    }
}

}  // namespace shardproxy::conf
