#include "conf/config.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "conf/diagnostics.h"
#include "conf/sections.h"
#include "conf/toml.h"
#include "conf/toml_precheck.h"

namespace shardproxy::conf {

const PoolConfig* Config::find_pool(std::string_view name) const {
    for (const PoolConfig& pool : pools) {
        if (pool.name == name) return &pool;
    }
    return nullptr;
}

std::string ConfigError::to_string() const {
    if (line == 0) return file + ": " + message;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

ConfigLoad load_config_string(std::string_view text, const std::string& source_name) {
    ConfigLoad load;
    Diagnostics diagnostics(source_name);
    if (const auto problem = find_text_toml_cannot_parse(text)) {
        diagnostics.error(problem->line, problem->column, problem->message);
        load.errors = diagnostics.take();
        return load;
    }
    toml::parse_result parsed = toml::parse(text, std::string_view(source_name));
    if (!parsed) {
        const toml::parse_error& error = parsed.error();
        diagnostics.error(error.source().begin.line, error.source().begin.column,
                          std::string(error.description()));
        load.errors = diagnostics.take();
        return load;
    }
    Config config;
    config.source = source_name;
    config.text = text;
    read_document(parsed.table(), config, diagnostics);
    if (diagnostics.empty()) load.config = std::move(config);
    load.errors = diagnostics.take();
    return load;
}

ConfigLoad load_config_file(const std::string& path) {
    // stdio rather than iostreams: it keeps errno, so the operator learns why ("Is a directory").
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
    std::string text;
    int error = file ? 0 : errno;
    if (file) {
        char buffer[1 << 16];
        std::size_t got = 0;
        while ((got = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) text.append(buffer, got);
        if (std::ferror(file.get())) error = errno;
    }
    if (error != 0) {
        ConfigLoad load;
        load.errors.push_back(
            ConfigError{path, 0, 0, std::string("cannot read the file: ") + std::strerror(error)});
        return load;
    }
    return load_config_string(text, path);
}

}  // namespace shardproxy::conf
