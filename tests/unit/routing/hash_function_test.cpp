#include <doctest/doctest.h>

#include <algorithm>

#include "routing/hash_function.h"

using namespace shardproxy::routing;

TEST_CASE("every twemproxy hash name is accepted and resolves to a function") {
    for (std::string_view name : {"one_at_a_time", "md5", "crc16", "crc32", "crc32a", "fnv1_64", "fnv1a_64",
                                  "fnv1_32", "fnv1a_32", "hsieh", "murmur", "jenkins"}) {
        CAPTURE(name);
        CHECK(static_cast<bool>(find_hash_function(name)));
        const auto& names = hash_function_names();
        CHECK(std::find(names.begin(), names.end(), name) != names.end());
    }
}

TEST_CASE("every listed hash name resolves, and unknown or differently cased names do not") {
    for (std::string_view name : hash_function_names()) {
        CAPTURE(name);
        CHECK(static_cast<bool>(find_hash_function(name)));
    }
    CHECK_FALSE(static_cast<bool>(find_hash_function("")));
    CHECK_FALSE(static_cast<bool>(find_hash_function("FNV1A_64")));
    CHECK_FALSE(static_cast<bool>(find_hash_function("sha1")));
}
