// The key tables, conf/README.md and conf/example.toml tell the same story.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "conf/reference.h"
#include "tests/unit/conf/config_text.h"

namespace shardproxy::conf {
namespace {

std::string read_source_file(std::string_view relative) {
    std::ifstream file(std::string(SHARDPROXY_SOURCE_DIR) + "/" + std::string(relative));
    REQUIRE(file);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream stream(text);
    for (std::string line; std::getline(stream, line);) lines.push_back(line);
    return lines;
}

// The lines under "### TITLE", up to the next heading of that level or above. Lines in code
// blocks are never headings: TOML comments start with '#' too.
std::vector<std::string> readme_section(const std::vector<std::string>& readme, std::string_view title) {
    std::vector<std::string> section;
    bool inside = false;
    bool in_code = false;
    for (const std::string& line : readme) {
        if (line.starts_with("```")) in_code = !in_code;
        if (!in_code && line.starts_with("#")) {
            if (inside && !line.starts_with("####")) break;
            inside = inside || line == "### " + std::string(title);
        } else if (inside) {
            section.push_back(line);
        }
    }
    return section;
}

// "| `name` | type | default | meaning |" -> {"`name`", "type", "default", "meaning"}
std::vector<std::string> cells(std::string_view row) {
    std::vector<std::string> result;
    row.remove_prefix(1);
    while (!row.empty()) {
        const std::size_t bar = row.find('|');
        std::string_view cell = row.substr(0, bar);
        while (cell.starts_with(' ')) cell.remove_prefix(1);
        while (cell.ends_with(' ')) cell.remove_suffix(1);
        result.emplace_back(cell);
        if (bar == std::string_view::npos) break;
        row.remove_prefix(bar + 1);
    }
    return result;
}

std::string without_backticks(std::string text) {
    std::erase(text, '`');
    return text;
}

// The README shows literal defaults as code and prose defaults without their parentheses.
std::string documented_default(std::string_view default_value) {
    if (default_value.starts_with('(')) return std::string(default_value.substr(1, default_value.size() - 2));
    return std::string(default_value);
}

TEST_CASE("every key in the key tables is documented in conf/README.md with its type and default") {
    const std::vector<std::string> readme = lines_of(read_source_file("conf/README.md"));
    for (const SectionReference& section : config_reference()) {
        const std::vector<std::string> lines = readme_section(readme, section.title);
        INFO("README section: ### " << section.title);
        REQUIRE_FALSE(lines.empty());
        for (const KeyReference& key : section.keys) {
            INFO("key: " << key.name);
            const std::string row_start = "| `" + std::string(key.name) + "` |";
            auto row = std::find_if(lines.begin(), lines.end(),
                                    [&](const std::string& line) { return line.starts_with(row_start); });
            REQUIRE(row != lines.end());
            const std::vector<std::string> columns = cells(*row);
            REQUIRE(columns.size() >= 4);
            CHECK(columns[1] == key.type);
            CHECK(without_backticks(columns[2]) == documented_default(key.default_value));
            CHECK_FALSE(columns[3].empty());
        }
    }
}

TEST_CASE("conf/example.toml loads without error") {
    const ConfigLoad load = load_config_file(std::string(SHARDPROXY_SOURCE_DIR) + "/conf/example.toml");
    std::string problems;
    for (const ConfigError& error : load.errors) problems += error.to_string() + "\n";
    INFO(problems);
    CHECK(load.errors.empty());
}

TEST_CASE("conf/example.toml shows every key of the key tables") {
    const std::string example = read_source_file("conf/example.toml");
    for (const SectionReference& section : config_reference()) {
        for (const KeyReference& key : section.keys) {
            INFO("key: " << key.name);
            const std::string name(key.name);
            CHECK((example.find(name + " =") != std::string::npos ||
                   example.find("[" + name) != std::string::npos ||
                   example.find("." + name + "]") != std::string::npos));
        }
    }
}

// Where a key goes in a config that otherwise loads; "@" marks the spot.
std::string_view config_with_key(std::string_view title) {
    if (title == "[proxy]")
        return "[proxy]\n@\n[[listener]]\nlisten = \"127.0.0.1:6380\"\npool = \"main\"\n"
               "[pool.main]\nservers = [\"127.0.0.1:7001\"]\n";
    if (title == "[[listener]]")
        return "[[listener]]\nlisten = \"127.0.0.1:6380\"\npool = \"main\"\n@\n"
               "[pool.main]\nservers = [\"127.0.0.1:7001\"]\n";
    if (title == "Listener routes")
        return "[[listener]]\nlisten = \"127.0.0.1:6380\"\npool = \"main\"\n"
               "[[listener.routes]]\nprefix = \"a:\"\npool = \"main\"\n@\n"
               "[pool.main]\nservers = [\"127.0.0.1:7001\"]\n";
    if (title == "[pool.NAME.health]")
        return "[[listener]]\nlisten = \"127.0.0.1:6380\"\npool = \"main\"\n"
               "[pool.main]\nservers = [\"127.0.0.1:7001\"]\n[pool.main.health]\n@\n";
    if (title == "[pool.NAME.hotkey]")
        return "[[listener]]\nlisten = \"127.0.0.1:6380\"\npool = \"main\"\n"
               "[pool.main]\nservers = [\"127.0.0.1:7001\"]\n[pool.main.hotkey]\n@\n";
    if (title == "[pool.NAME]")
        return "[[listener]]\nlisten = \"127.0.0.1:6380\"\npool = \"main\"\n"
               "[pool.main]\nservers = [\"127.0.0.1:7001\"]\n@\n";
    return "";
}

// Keys that only memcache listeners and pools take.
std::string_view memcache_config_with_key(std::string_view key) {
    if (key == "item_size_max")
        return "[[listener]]\nlisten = \"127.0.0.1:11311\"\nprotocol = \"memcache\"\npool = \"main\"\n"
               "[pool.main]\nprotocol = \"memcache\"\nservers = [\"127.0.0.1:11211\"]\n@\n";
    if (key == "key_rules")
        return "[[listener]]\nlisten = \"127.0.0.1:11311\"\nprotocol = \"memcache\"\npool = \"main\"\n@\n"
               "[pool.main]\nprotocol = \"memcache\"\nservers = [\"127.0.0.1:11211\"]\n";
    return "";
}

Config load_with(std::string_view templ, std::string_view line) {
    std::string text(templ);
    text.replace(text.find('@'), 1, line);
    ConfigLoad load = load_config_string(text, "test.toml");
    INFO(test::problems(text));
    REQUIRE(load.config.has_value());
    return std::move(*load.config);
}

TEST_CASE("every documented default is the value a key takes when it is absent") {
    for (const SectionReference& section : config_reference()) {
        for (const KeyReference& key : section.keys) {
            // Prose defaults are computed or required, so there is no literal to write.
            if (key.default_value.starts_with('(')) continue;
            INFO("key: " << key.name << " in " << section.title);
            std::string_view templ = memcache_config_with_key(key.name);
            if (templ.empty()) templ = config_with_key(section.title);
            REQUIRE_FALSE(templ.empty());
            CHECK(load_with(templ, std::string(key.name) + " = " + std::string(key.default_value)) ==
                  load_with(templ, ""));
        }
    }
}

}  // namespace
}  // namespace shardproxy::conf
