#include <algorithm>
#include <thread>

#include "conf/sections.h"

namespace shardproxy::conf {
namespace {

// Pools come before listeners so that a listener can check the pools it names.
const KeySpec<Config> document_table[] = {
    {.name = "proxy",
     .type = ValueType::table,
     .default_value = "(all defaults)",
     .help = "Process-wide settings: the [proxy] table.",
     .apply =
         [](const Setting& proxy, Config& config) {
             read_keys(*proxy.node.as_table(), proxy.path, proxy_keys(), config.proxy, proxy.context);
         }},
    {.name = "pool",
     .type = ValueType::table,
     .default_value = "(required)",
     .help = "The pools of backend servers, one [pool.NAME] table each.",
     .apply = read_pools},
    {.name = "listener",
     .type = ValueType::table_array,
     .default_value = "(required)",
     .help = "The sockets clients connect to, one [[listener]] table each; at least one.",
     .apply = read_listeners},
};

}  // namespace

std::span<const KeySpec<Config>> document_keys() { return document_table; }

void read_document(const toml::table& document, Config& config, Diagnostics& diagnostics) {
    const Context context{diagnostics, config};
    read_keys(document, "", document_keys(), config, context);
    if (!document.contains("listener")) {
        diagnostics.error("no [[listener]] is defined; at least one is required");
    }
    if (config.proxy.workers == 0) config.proxy.workers = std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace shardproxy::conf
