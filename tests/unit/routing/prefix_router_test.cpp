#include <doctest/doctest.h>

#include "routing/prefix_router.h"

using shardproxy::routing::PrefixRouter;

TEST_CASE("keys no route matches go to the default pool") {
    PrefixRouter router(3);
    CHECK_FALSE(router.has_routes());
    CHECK(router.pool_for("anything") == 3);
    router.add_route("session:", 1);
    CHECK(router.has_routes());
    CHECK(router.pool_for("user:1") == 3);
    CHECK(router.pool_for("session") == 3);
    CHECK(router.pool_for("") == 3);
}

TEST_CASE("the longest matching prefix wins whatever order routes were added in") {
    PrefixRouter router(0);
    router.add_route("a:", 1);
    router.add_route("a:b:c:", 3);
    router.add_route("a:b:", 2);
    CHECK(router.pool_for("a:x") == 1);
    CHECK(router.pool_for("a:b:x") == 2);
    CHECK(router.pool_for("a:b:c:x") == 3);
    CHECK(router.pool_for("a:b:c:") == 3);
    CHECK(router.pool_for("b:a:b:c:") == 0);
}

TEST_CASE("adding a prefix again replaces its pool") {
    PrefixRouter router(0);
    router.add_route("user:", 1);
    router.add_route("user:", 2);
    CHECK(router.pool_for("user:9") == 2);
}

TEST_CASE("prefixes match bytes exactly, including case and high bytes") {
    PrefixRouter router(0);
    router.add_route("User:", 1);
    router.add_route("\xc3\xa9t\xc3\xa9:", 2);
    CHECK(router.pool_for("user:1") == 0);
    CHECK(router.pool_for("User:1") == 1);
    CHECK(router.pool_for("\xc3\xa9t\xc3\xa9:juin") == 2);
}
