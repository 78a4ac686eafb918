#pragma once
// Collects every problem found in one config source, so that --check can report them all at
// once instead of making the operator fix them one run at a time.
#include <cstdint>
#include <string>
#include <vector>

#include "conf/config.h"

namespace shardproxy::conf {

class Diagnostics {
public:
    explicit Diagnostics(std::string file);

    // line and column are 1-based.
    void error(uint32_t line, uint32_t column, std::string message);
    // For a problem that has no single place in the file.
    void error(std::string message);

    bool empty() const { return errors_.empty(); }
    // In file order; problems with no place come last.
    std::vector<ConfigError> take();

private:
    std::string file_;
    std::vector<ConfigError> errors_;
};

}  // namespace shardproxy::conf
