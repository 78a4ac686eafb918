#include "conf/reference.h"

#include "conf/sections.h"

namespace shardproxy::conf {
namespace {

template <class Section>
SectionReference section(std::string_view title, std::span<const KeySpec<Section>> keys) {
    SectionReference reference{title, {}};
    for (const KeySpec<Section>& key : keys) {
        reference.keys.push_back({key.name, to_string(key.type), key.default_value, key.help});
    }
    return reference;
}

}  // namespace

std::vector<SectionReference> config_reference() {
    return {
        section("Top level", document_keys()),    section("[proxy]", proxy_keys()),
        section("[[listener]]", listener_keys()), section("Listener routes", route_keys()),
        section("[pool.NAME]", pool_keys()),      section("[pool.NAME.health]", health_keys()),
        section("[pool.NAME.hotkey]", hotkey_keys()),
    };
}

}  // namespace shardproxy::conf
