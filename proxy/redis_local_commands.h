#pragma once
// Commands the proxy answers itself: PING, ECHO, QUIT, SELECT, HELLO, INFO, COMMAND,
// CLIENT SETNAME / GETNAME.
#include <event2/buffer.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "proxy/redis_command.h"

namespace shardproxy::proxy {

class Worker;

struct LocalCommandContext {
    const Worker& worker;
    std::string& client_name;
    uint64_t client_id;
};

enum class LocalOutcome { reply, close };

// Writes the reply to out. `close` means the client asked to disconnect (QUIT).
LocalOutcome answer_local_command(LocalCommandContext& context, const RedisCommand& command,
                                  std::span<const std::string_view> args, evbuffer* out);

}  // namespace shardproxy::proxy
