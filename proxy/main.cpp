// shardproxy: a Redis and memcached sharding proxy. See README.md and conf/README.md.
#include <cstdio>
#include <cstring>
#include <string>

#include "conf/config.h"
#include "proxy/process.h"

namespace {

constexpr const char* kUsage =
    "Usage: shardproxy -c FILE            run with the configuration in FILE\n"
    "       shardproxy --check -c FILE    validate FILE; print every problem as\n"
    "                                     FILE:LINE:COL: message and exit 1\n"
    "       shardproxy --version          print the version\n"
    "       shardproxy --help             print this help\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE   TOML configuration (reference: conf/README.md)\n"
    "  --check             validate the configuration and exit\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop accepting, finish in-flight requests, exit 0.\n"
    "         SIGHUP reloads FILE (refused, and logged, when it has errors).\n"
    "         SIGUSR1 reopens the log file.\n";

int usage_error(const std::string& message) {
    std::fprintf(stderr, "shardproxy: %s\n%s", message.c_str(), kUsage);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string config_path;
    bool check_only = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (arg == "-V" || arg == "--version") {
            std::printf("shardproxy %s\n", SHARDPROXY_VERSION);
            return 0;
        }
        if (arg == "--check") {
            check_only = true;
        } else if (arg == "-c" || arg == "--config") {
            if (i + 1 == argc) return usage_error(arg + " needs a file name");
            config_path = argv[++i];
        } else if (arg.starts_with("--config=")) {
            config_path = arg.substr(std::strlen("--config="));
        } else {
            return usage_error("unknown option '" + arg + "'");
        }
    }
    if (config_path.empty()) return usage_error("no configuration file given (-c FILE)");

    shardproxy::conf::ConfigLoad load = shardproxy::conf::load_config_file(config_path);
    if (!load.errors.empty()) {
        for (const auto& error : load.errors) std::fprintf(stderr, "%s\n", error.to_string().c_str());
        return 1;
    }
    if (check_only) {
        std::printf("%s: configuration is valid\n", config_path.c_str());
        return 0;
    }
    return shardproxy::proxy::run_proxy(std::move(*load.config));
}
