#pragma once
// A pass over config text before toml++ sees it, for what Debian 12's toml++ (3.3.0) cannot be
// trusted with: asked whether some non-ASCII code points are whitespace (U+00A1..U+0499,
// U+2D6E..U+3167 but U+3000, U+FEE6..U+FEFE), it reaches __builtin_unreachable() (upstream
// marzer/tomlplusplus issues 190 and 295; fixed after 3.3.0). It asks that of a non-ASCII
// character outside strings and comments, and of the first character after a backslash (and
// any blanks) in a basic string. The first is not TOML 1.0 anyway (keys and non-string values
// are ASCII), nor is the second except after a line-ending backslash in a """ string; all are
// refused with a message saying where. Without this pass a POST /reload of such a file would
// run undefined behaviour inside the proxy.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shardproxy::conf {

struct TextProblem {
    uint32_t line;    // 1-based
    uint32_t column;  // 1-based, in code points, as toml++ counts
    std::string message;
};

// The first such character, or nothing when toml++ can parse the text safely.
std::optional<TextProblem> find_text_toml_cannot_parse(std::string_view text);

}  // namespace shardproxy::conf
