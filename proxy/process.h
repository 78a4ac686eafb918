#pragma once
// The proxy process: opens listeners, resolves backends, runs the workers, and turns signals
// into a graceful stop.
#include "conf/config.h"

namespace shardproxy::proxy {

// Runs until SIGTERM or SIGINT; returns the process exit code.
int run_proxy(conf::Config config);

}  // namespace shardproxy::proxy
