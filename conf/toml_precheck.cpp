#include "conf/toml_precheck.h"

namespace shardproxy::conf {

namespace {

bool is_ascii(char c) { return static_cast<unsigned char>(c) < 0x80; }

TextProblem problem_at(std::string_view text, size_t at, std::string message) {
    uint32_t line = 1;
    uint32_t column = 1;
    for (size_t i = 0; i < at; ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) {  // not a UTF-8 continuation byte
            ++column;
        }
    }
    return {line, column, std::move(message)};
}

size_t run_of(std::string_view text, size_t at, char c) {
    size_t n = 0;
    while (at + n < text.size() && text[at + n] == c) ++n;
    return n;
}

// After a backslash in a basic string toml++ skips spaces and tabs, and asks of the next
// character whether it is whitespace (a line-ending backslash may have blanks before the
// newline). No TOML escape is non-ASCII, so such a character is refused.
std::optional<TextProblem> non_ascii_after_backslash(std::string_view text, size_t backslash) {
    size_t next = backslash + 1;
    while (next < text.size() && (text[next] == ' ' || text[next] == '\t')) ++next;
    if (next < text.size() && !is_ascii(text[next])) {
        return problem_at(text, next, "non-ASCII character after a backslash in a string (TOML escapes are ASCII)");
    }
    return std::nullopt;
}

}  // namespace

std::optional<TextProblem> find_text_toml_cannot_parse(std::string_view text) {
    enum class State { normal, comment, basic, literal, multiline_basic, multiline_literal };
    State state = State::normal;
    size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        switch (state) {
            case State::normal:
                if (c == '#') {
                    state = State::comment;
                } else if (c == '"' || c == '\'') {
                    const bool multiline = run_of(text, i, c) >= 3;
                    if (multiline) i += 2;
                    state = c == '"' ? (multiline ? State::multiline_basic : State::basic)
                                     : (multiline ? State::multiline_literal : State::literal);
                } else if (!is_ascii(c)) {
                    return problem_at(text, i, "non-ASCII character outside a string or comment");
                }
                ++i;
                break;
            case State::comment:
                if (c == '\n') state = State::normal;
                ++i;
                break;
            case State::basic:
            case State::literal:
                if (state == State::basic && c == '\\') {
                    if (const auto problem = non_ascii_after_backslash(text, i)) return problem;
                    i += 2;  // an escape: the next character cannot end the string
                    break;
                }
                // A newline ends an unterminated string too: toml++ reports that itself.
                if (c == '\n' || c == (state == State::basic ? '"' : '\'')) state = State::normal;
                ++i;
                break;
            case State::multiline_basic:
                if (c == '\\') {
                    if (const auto problem = non_ascii_after_backslash(text, i)) return problem;
                    size_t next = i + 1;
                    while (next < text.size() && (text[next] == ' ' || text[next] == '\t')) ++next;
                    if (next < text.size() && (text[next] == '\n' || text[next] == '\r')) {
                        // A line-ending backslash: toml++ skips whitespace and newlines, asking of
                        // each character whether it is whitespace.
                        while (next < text.size() && (text[next] == ' ' || text[next] == '\t' ||
                                                      text[next] == '\n' || text[next] == '\r')) {
                            ++next;
                        }
                        if (next < text.size() && !is_ascii(text[next])) {
                            return problem_at(text, next,
                                              "non-ASCII character right after a line-ending backslash in a "
                                              "\"\"\" string (the TOML parser in use cannot read it; start "
                                              "the line with an ASCII character or drop the backslash)");
                        }
                        i = next;
                    } else {
                        i += 2;  // an escape: the next character cannot end the string
                    }
                    break;
                }
                [[fallthrough]];
            case State::multiline_literal: {
                const char quote = state == State::multiline_basic ? '"' : '\'';
                if (c != quote) {
                    ++i;
                    break;
                }
                // Up to two quotes may sit right before the closing three.
                const size_t quotes = run_of(text, i, quote);
                if (quotes >= 3) state = State::normal;
                i += quotes;
                break;
            }
        }
    }
    return std::nullopt;
}

}  // namespace shardproxy::conf
