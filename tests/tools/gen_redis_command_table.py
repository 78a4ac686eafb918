#!/usr/bin/env python3
"""Generates proxy/redis_command_table.inc from the COMMAND reply of a real redis-server.

The table holds what Redis itself says about every command and subcommand: arity, flags, the
legacy first/last/step key triple and the Redis 7 key specifications. shardproxy's policy (which
commands are keyed, split, broadcast, local or refused) lives in proxy/redis_command.cpp, not here.

Usage, from the repository root (standard library only; needs redis-server on PATH):
    python3 tests/tools/gen_redis_command_table.py [--redis-server PATH] [--output FILE]
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

# The flags COMMAND reports, each with its constant in proxy/redis_command.h.
COMMAND_FLAGS = {
    name: "command_flag::" + name for name in [
        "write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking",
        "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth",
        "may_replicate", "no_mandatory_keys", "no_async_loading", "no_multi", "movablekeys",
        "allow_busy",
    ]
}
KEY_FLAGS = {
    name: "key_flag::" + ("delete_" if name == "delete" else name.lower()) for name in [
        "RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key", "incomplete",
        "variable_flags",
    ]
}

class RespError(Exception):
    pass


class RespConnection:
    """Just enough of a RESP2 client for COMMAND: arrays, bulk and simple strings, integers."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")

    def close(self):
        self.file.close()
        self.sock.close()

    def call(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg.encode() if isinstance(arg, str) else arg
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(parts))
        return self._read()

    def _read(self):
        line = self.file.readline()
        if not line.endswith(b"\r\n"):
            raise RespError("connection closed")
        kind, body = line[:1], line[1:-2]
        if kind == b"+":
            return body.decode()
        if kind == b"-":
            raise RespError(body.decode())
        if kind == b":":
            return int(body)
        if kind == b"$":
            length = int(body)
            if length < 0:
                return None
            data = self.file.read(length + 2)[:-2]
            return data.decode()
        if kind == b"*":
            count = int(body)
            return None if count < 0 else [self._read() for _ in range(count)]
        raise RespError("unexpected reply type %r" % kind)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_command_reply(redis_server):
    with tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        server = subprocess.Popen(
            [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    conn = RespConnection(port)
                    if conn.call("PING") == "PONG":
                        break
                    conn.close()
                except (OSError, RespError):
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit("redis-server did not answer PING on port %d" % port)
                time.sleep(0.05)
            try:
                version = conn.call("INFO", "server")
                reply = conn.call("COMMAND")
            finally:
                conn.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    redis_version = next(line.split(":", 1)[1].strip() for line in version.splitlines()
                         if line.startswith("redis_version:"))
    return redis_version, reply


def pairs(flat):
    """RESP2 sends maps as flat [key, value, ...] arrays."""
    return dict(zip(flat[0::2], flat[1::2]))


def flag_expression(names, constants):
    for name in names:
        if name not in constants:
            sys.exit("unknown flag %r: add it to %s and proxy/redis_command.h" %
                     (name, os.path.basename(__file__)))
    return " | ".join(constants[name] for name in names) if names else "0"

def key_spec_initializer(spec):
    spec = pairs(spec)
    flags = flag_expression(spec["flags"], KEY_FLAGS)
    begin, find = pairs(spec["begin_search"]), pairs(spec["find_keys"])
    begin_spec, find_spec = pairs(begin["spec"]), pairs(find["spec"])
    if begin["type"] == "index":
        begin_text = "begin_index(%d)" % begin_spec["index"]
    elif begin["type"] == "keyword":
        begin_text = 'begin_keyword("%s", %d)' % (begin_spec["keyword"].lower(),
                                                 begin_spec["startfrom"])
    elif begin["type"] == "unknown":
        begin_text = "begin_unknown()"
    else:
        sys.exit("unknown begin_search type %r" % begin["type"])
    if find["type"] == "range":
        find_text = "find_range(%d, %d, %d)" % (find_spec["lastkey"], find_spec["keystep"],
                                                find_spec["limit"])
    elif find["type"] == "keynum":
        find_text = "find_keynum(%d, %d, %d)" % (find_spec["keynumidx"], find_spec["firstkey"],
                                                 find_spec["keystep"])
    elif find["type"] == "unknown":
        find_text = "find_unknown()"
    else:
        sys.exit("unknown find_keys type %r" % find["type"])
    return "key_spec(%s, %s, %s)" % (flags, begin_text, find_text)


def flatten(reply):
    """Yields every command and subcommand as (entry, is_container), subcommands as 'a|b'."""
    for entry in reply:
        subcommands = entry[9] if len(entry) > 9 else []
        yield entry, bool(subcommands)
        for sub in subcommands:
            yield sub, False


def render(redis_version, reply):
    entries = sorted(flatten(reply), key=lambda item: item[0][0])
    specs, rows = [], []
    for entry, is_container in entries:
        name, arity, flags, first, last, step = entry[:6]
        offset = len(specs)
        specs.extend("    %s,  // %s" % (key_spec_initializer(spec), name) for spec in entry[8])
        rows.append('    {"%s", %d, %s, %d, %d, %d, %s, %d, %d},' % (
            name, arity, flag_expression(flags, COMMAND_FLAGS), first, last,
            step, "true" if is_container else "false", offset, len(entry[8])))
    containers = sum(1 for _, is_container in entries if is_container)
    lines = [
        "// Generated from the COMMAND reply of redis-server %s by" % redis_version,
        "// tests/tools/gen_redis_command_table.py; do not edit by hand. To regenerate, from the",
        "// repository root: python3 tests/tools/gen_redis_command_table.py",
        "// %d entries: %d commands (%d with subcommands) and %d subcommands." % (
            len(rows), len(reply), containers, len(rows) - len(reply)),
        "// Included by proxy/redis_command.cpp only.",
        "",
        "// clang-format off",
        "constexpr KeySpec generated_key_specs[] = {",
        *specs,
        "};",
        "",
        "// name, arity, flags, first key, last key, key step, has subcommands,",
        "// key specs (offset into generated_key_specs, count)",
        "constexpr GeneratedCommand generated_commands[] = {",
        *rows,
        "};",
        "// clang-format on",
        "",
    ]
    return "\n".join(lines)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-server", default="redis-server")
    parser.add_argument("--output", default=os.path.join(root, "proxy", "redis_command_table.inc"))
    args = parser.parse_args()
    redis_version, reply = read_command_reply(args.redis_server)
    text = render(redis_version, reply)
    with open(args.output, "w", encoding="utf-8") as out:
        out.write(text)
    print("wrote %s" % os.path.relpath(args.output, root))


if __name__ == "__main__":
    main()
