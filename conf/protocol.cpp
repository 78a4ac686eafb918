#include "conf/protocol.h"

namespace shardproxy::conf {

std::string_view to_string(Protocol protocol) {
    switch (protocol) {
        case Protocol::redis: return "redis";
        case Protocol::memcache: return "memcache";
    }
    return "unknown";
}

std::optional<Protocol> parse_protocol(std::string_view name) {
    for (Protocol protocol : {Protocol::redis, Protocol::memcache}) {
        if (to_string(protocol) == name) return protocol;
    }
    return std::nullopt;
}

const std::vector<std::string_view>& protocol_names() {
    static const std::vector<std::string_view> names{to_string(Protocol::redis),
                                                     to_string(Protocol::memcache)};
    return names;
}

}  // namespace shardproxy::conf
