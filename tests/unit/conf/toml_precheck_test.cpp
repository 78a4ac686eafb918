// Text Debian 12's toml++ cannot be trusted with is refused before it reaches the parser, with
// its place; every other use of non-ASCII text still loads.
#include <doctest/doctest.h>

#include <string>

#include "conf/config.h"
#include "conf/toml_precheck.h"
#include "tests/unit/conf/config_text.h"

namespace shardproxy::conf {
namespace {

using test::minimal_config;
using test::problems;

TEST_CASE("non-ASCII text outside strings and comments is refused at its place") {
    CHECK(problems("[pool\xc3\xa9]\n") == "test.toml:1:6: non-ASCII character outside a string or comment\n");
    // U+048C, which toml++ 3.3.0 would ask "is this whitespace?" and reach undefined behaviour.
    CHECK(problems("[proxy]\nworkers = 2 \xd2\x8c\n") ==
          "test.toml:2:13: non-ASCII character outside a string or comment\n");
    // A no-break space pasted from a web page: the column counts code points, as toml++'s do.
    CHECK(problems("[pool.\xc3\xa9t\xc3\xa9]\nx =\xc2\xa0" "1\n") ==
          "test.toml:1:7: non-ASCII character outside a string or comment\n");
}

TEST_CASE("non-ASCII text inside strings and comments loads") {
    const std::string config = "# caf\xc3\xa9 \xd2\x8c\n" + std::string(minimal_config) +
                               "# \xe2\x80\x94 the end\n"
                               "[pool.main.hotkey]\n";
    CHECK(problems(config).empty());
    CHECK_FALSE(find_text_toml_cannot_parse("a = \"\xd2\x8c\\\"\xd2\x8c\"\n"
                                            "b = '\xd2\x8c\\'\n"
                                            "c = \"\"\"\xd2\x8c\"\"\xd2\x8c\\\"\"\"\xd2\x8c\"\"\"\n"
                                            "d = '''\xd2\x8c''\xd2\x8c'''\n"
                                            "e = \"\"\"x\\\n   y\xd2\x8c\"\"\"\n"
                                            "f = \"\"\"\"\xd2\x8c\"\"\"\"\"\n"));
}

TEST_CASE("a line-ending backslash in a \"\"\" string followed by non-ASCII text is refused") {
    const auto problem = find_text_toml_cannot_parse("a = \"\"\"x \\  \r\n\n  \t\xc3\xa9t\xc3\xa9\"\"\"\n");
    REQUIRE(problem.has_value());
    CHECK(problem->line == 3);
    CHECK(problem->column == 4);
    CHECK(problem->message.starts_with("non-ASCII character right after a line-ending backslash"));
    // A backslash that escapes another one ends no line.
    CHECK_FALSE(find_text_toml_cannot_parse("a = \"\"\"x \\\\\n\xc3\xa9\"\"\"\n"));
    // In a literal string a backslash is just a character.
    CHECK_FALSE(find_text_toml_cannot_parse("a = '''x \\\n\xc3\xa9'''\n"));
}

TEST_CASE("a backslash followed by non-ASCII text in a basic string is refused") {
    // Found by the config fuzz target: toml++ asks whether the character after the backslash
    // (and any blanks) is whitespace.
    for (const char* text : {"a = \"\"\"x\\\xc8\x98\"\"\"\n", "a = \"\"\"x\\ \t\xc8\x98\"\"\"\n",
                             "a = \"x\\\xc8\x98\"\n", "a = \"x\\  \xc8\x98\"\n"}) {
        CAPTURE(text);
        const auto problem = find_text_toml_cannot_parse(text);
        REQUIRE(problem.has_value());
        CHECK(problem->message == "non-ASCII character after a backslash in a string (TOML escapes are ASCII)");
    }
    CHECK(problems("a = \"x\\\xc8\x98\"\n") ==
          "test.toml:1:8: non-ASCII character after a backslash in a string (TOML escapes are ASCII)\n");
}

TEST_CASE("text after a string or comment is checked again") {
    CHECK(find_text_toml_cannot_parse("a = \"x\" \xc3\xa9\n")->column == 9);
    CHECK(find_text_toml_cannot_parse("a = 'x' # c\n\xc3\xa9 = 1\n")->line == 2);
    CHECK(find_text_toml_cannot_parse("a = \"\"\"x\"\"\"\"\" \xc3\xa9\n")->column == 15);
    CHECK(find_text_toml_cannot_parse("a = '''x''''' \xc3\xa9\n")->column == 15);
}

}  // namespace
}  // namespace shardproxy::conf
