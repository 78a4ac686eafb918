#pragma once
// Listen and server addresses as operators write them: "host:port", "[v6]:port", "unix:/path".
#include <string>
#include <string_view>

#include "conf/config.h"

namespace shardproxy::conf {

struct AddressParse {
    Address address;
    std::string error;  // empty on success; otherwise says what is wrong, for an operator
};

// Accepts IPv4 literals and host names before ":port", IPv6 literals only in brackets, ports
// 1..65535, and absolute unix socket paths that fit in sockaddr_un.
AddressParse parse_address(std::string_view text);

}  // namespace shardproxy::conf
