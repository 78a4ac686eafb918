#pragma once
// Commands a memcache listener answers itself, since no single backend speaks for the pool:
// version, verbosity (accepted, no effect) and stats (the proxy's own counters).
#include <event2/buffer.h>

#include <span>
#include <string_view>

namespace shardproxy::proxy {

class Worker;

// "VERSION 1.6.18 shardproxy-X.Y.Z": clients such as libmemcached parse the leading
// major.minor.micro and refuse a major version of 0, so the memcached release whose protocol
// this proxy speaks comes first.
void append_memcache_version(evbuffer* out);

// "stats" with no argument: STAT lines and END. Anything else gets what memcached says to a
// stats group it does not have.
void append_memcache_stats(const Worker& worker, std::span<const std::string_view> tokens,
                           evbuffer* out);

}  // namespace shardproxy::proxy
