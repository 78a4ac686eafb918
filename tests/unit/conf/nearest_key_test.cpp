// Suggestions for misspelt keys and names.
#include <doctest/doctest.h>

#include <string_view>
#include <vector>

#include "conf/nearest_key.h"

namespace shardproxy::conf {
namespace {

const std::vector<std::string_view> pool_keys{"protocol",     "servers",  "hash",
                                              "distribution", "hash_tag", "timeout_ms"};

TEST_CASE("edit distance counts insertions, deletions, substitutions and adjacent swaps") {
    CHECK(edit_distance("hash", "hash") == 0);
    CHECK(edit_distance("hsah", "hash") == 1);
    CHECK(edit_distance("kitten", "sitting") == 3);
    CHECK(edit_distance("", "abc") == 3);
    CHECK(edit_distance("abc", "") == 3);
    CHECK(edit_distance("ca", "abc") == 3);
}

TEST_CASE("edit distance ignores ASCII case") { CHECK(edit_distance("Timeout_MS", "timeout_ms") == 0); }

TEST_CASE("the nearest key is suggested when it is close") {
    CHECK(nearest_key("hsah", pool_keys) == "hash");
    CHECK(nearest_key("severs", pool_keys) == "servers");
    CHECK(nearest_key("timeout", pool_keys) == "timeout_ms");
    CHECK(nearest_key("distrbution", pool_keys) == "distribution");
}

TEST_CASE("nothing is suggested when no key is close") {
    CHECK_FALSE(nearest_key("colour", pool_keys).has_value());
    CHECK_FALSE(nearest_key("db", pool_keys).has_value());
    CHECK_FALSE(nearest_key("x", std::vector<std::string_view>{}).has_value());
}

TEST_CASE("a tie goes to the candidate sharing the longer beginning") {
    const std::vector<std::string_view> hashes{"fnv1_64", "fnv1a_64"};
    CHECK(nearest_key("fnv1a64", hashes) == "fnv1a_64");
    CHECK(nearest_key("fnv164", hashes) == "fnv1_64");
}

TEST_CASE("the suggestion text offers the nearest key, or lists them all") {
    CHECK(suggestion("hsah", pool_keys) == "did you mean 'hash'?");
    CHECK(suggestion("colour", std::vector<std::string_view>{"redis", "memcache"}) ==
          "expected one of: redis, memcache");
}

}  // namespace
}  // namespace shardproxy::conf
