#pragma once
// The names of the client/backend protocols in the config file.
#include <optional>
#include <string_view>
#include <vector>

#include "conf/config.h"

namespace shardproxy::conf {

std::optional<Protocol> parse_protocol(std::string_view name);
const std::vector<std::string_view>& protocol_names();

}  // namespace shardproxy::conf
