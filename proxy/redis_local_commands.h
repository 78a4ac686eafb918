#pragma once
// Commands the proxy answers itself: PING, ECHO, QUIT, SELECT, HELLO, AUTH, INFO, COMMAND,
// CLIENT SETNAME / GETNAME.
#include <event2/buffer.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "conf/config.h"
#include "proxy/redis_command.h"

namespace shardproxy::proxy {

class Worker;

struct LocalCommandContext {
    const Worker& worker;
    std::string& client_name;
    uint64_t client_id;
    std::span<const conf::Credential> credentials;  // the listener's; empty when AUTH is not needed
    bool& authenticated;                            // this client's, set by AUTH and HELLO ... AUTH
};

// Redis's reply to any command but AUTH, HELLO, QUIT and RESET before the client authenticated.
inline constexpr std::string_view kNoAuthError = "NOAUTH Authentication required.";

enum class LocalOutcome { reply, close };

// Writes the reply to out. `close` means the client asked to disconnect (QUIT).
LocalOutcome answer_local_command(LocalCommandContext& context, const RedisCommand& command,
                                  std::span<const std::string_view> args, evbuffer* out);

}  // namespace shardproxy::proxy
