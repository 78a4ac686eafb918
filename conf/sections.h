#pragma once
// The key tables of the config file, one per section, and the readers that tie them together.
#include <span>

#include "conf/key_table.h"

namespace shardproxy::conf {

std::span<const KeySpec<Config>> document_keys();
std::span<const KeySpec<ProxyConfig>> proxy_keys();
std::span<const KeySpec<ListenerConfig>> listener_keys();
std::span<const KeySpec<RouteConfig>> route_keys();
std::span<const KeySpec<PoolConfig>> pool_keys();
std::span<const KeySpec<HealthConfig>> health_keys();
std::span<const KeySpec<HotKeyConfig>> hotkey_keys();

// Reads a parsed file into config, reporting every problem, and fills in the computed defaults.
void read_document(const toml::table& document, Config& config, Diagnostics& diagnostics);

// The `pool` table: one [pool.NAME] table per pool.
void read_pools(const Setting& pools, Config& config);
// The `listener` array of tables. Reads pools from config, so pools go first.
void read_listeners(const Setting& listeners, Config& config);

}  // namespace shardproxy::conf
