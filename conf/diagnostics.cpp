#include "conf/diagnostics.h"

#include <algorithm>
#include <tuple>
#include <utility>

namespace shardproxy::conf {

Diagnostics::Diagnostics(std::string file) : file_(std::move(file)) {}

void Diagnostics::error(uint32_t line, uint32_t column, std::string message) {
    errors_.push_back(ConfigError{file_, line, column, std::move(message)});
}

void Diagnostics::error(std::string message) { error(0, 0, std::move(message)); }

std::vector<ConfigError> Diagnostics::take() {
    // Sections are read in dependency order (pools before the listeners that name them), not
    // file order; sorting gives the operator a list that walks down the file.
    std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
        return std::tuple(a.line == 0, a.line, a.column) < std::tuple(b.line == 0, b.line, b.column);
    });
    return std::exchange(errors_, {});
}

}  // namespace shardproxy::conf
