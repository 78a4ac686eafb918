#include <doctest/doctest.h>
#include <event2/event.h>

#include <chrono>
#include <thread>

#include "backends/server_health.h"

using namespace shardproxy::backends;

TEST_CASE("consecutive failures mark a server down; a reply in between starts the count again") {
    event_base* base = event_base_new();
    PoolHealth pool{.max_down = 1};
    ServerCounters counters;
    {
        ServerHealth health(base, {.failure_limit = 3, .probe_interval_ms = 10, .probe_max_interval_ms = 40}, pool,
                            counters);
        health.on_failure("timed out");
        health.on_failure("timed out");
        health.on_reply();
        health.on_failure("timed out");
        health.on_failure("timed out");
        CHECK_FALSE(health.down());
        health.on_failure("connection refused");
        CHECK(health.down());
        CHECK(health.down_reason() == "is down: 3 consecutive failures, last: connection refused");
        CHECK(pool.down == 1);
        CHECK(counters.failures == 5);
        CHECK(counters.downs == 1);
        CHECK(counters.down_workers == 1);
        // Replies on old connections do not bring it back; only a probe does, and with no
        // connection to send one on, probes fail and back off.
        health.on_reply();
        CHECK(health.down());
        std::this_thread::sleep_for(std::chrono::milliseconds(15));
        event_base_loop(base, EVLOOP_NONBLOCK);
        CHECK(counters.probes == 1);
        CHECK(counters.probe_failures == 1);
        CHECK(health.down());
    }  // the health record (and its probe timer) goes before the event base
    event_base_free(base);
}

TEST_CASE("the pool's cap keeps a failing server in service once enough servers are down") {
    event_base* base = event_base_new();
    PoolHealth pool{.max_down = 1};
    ServerCounters first_counters;
    ServerCounters second_counters;
    {
            ServerHealth first(base, {.failure_limit = 1}, pool, first_counters);
            ServerHealth second(base, {.failure_limit = 1}, pool, second_counters);
            first.on_failure("timed out");
            second.on_failure("timed out");
            second.on_failure("timed out");
            CHECK(first.down());
            CHECK_FALSE(second.down());
            CHECK(second_counters.failures == 2);
            CHECK(pool.down == 1);
        }
        event_base_free(base);
    }
