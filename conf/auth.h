#pragma once
// Checking a client's AUTH against a listener's credentials without telling, by how long the
// check takes, how much of a guess was right or how long a password is.
#include <span>
#include <string_view>

#include "conf/config.h"

namespace shardproxy::conf {

// Whether user and password match one of the credentials. Every credential is compared in
// full, whatever matched, and the time taken depends on the lengths of what the client sent.
bool credentials_match(std::span<const Credential> credentials, std::string_view user, std::string_view password);

}  // namespace shardproxy::conf
