#include "conf/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <charconv>

namespace shardproxy::conf {
namespace {

constexpr std::string_view unix_prefix = "unix:";
constexpr std::string_view expected_forms = "expected host:port, [IPv6]:port or unix:/path";

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

bool is_host_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

// Port numbers are plain decimal: no sign, no spaces, nothing after.
bool parse_port(std::string_view text, uint16_t& port) {
    unsigned value = 0;
    const char* end = text.data() + text.size();
    auto [stop, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc{} || stop != end || value < 1 || value > 65535) return false;
    port = static_cast<uint16_t>(value);
    return true;
}

AddressParse parse_unix(std::string_view path) {
    AddressParse result;
    // The kernel needs room for the terminating NUL.
    constexpr std::size_t max_path = sizeof(sockaddr_un{}.sun_path) - 1;
    if (path.empty()) {
        result.error = "the unix socket path is empty; " + std::string(expected_forms);
    } else if (path.front() != '/') {
        result.error = "unix socket path " + quoted(path) + " must be absolute (start with '/')";
    } else if (path.size() > max_path) {
        result.error = "unix socket path " + quoted(path) + " is " + std::to_string(path.size()) +
                       " bytes long; the limit is " + std::to_string(max_path);
    } else {
        result.address.kind = Address::Kind::unix_socket;
        result.address.path = std::string(path);
    }
    return result;
}

AddressParse parse_tcp(std::string_view text) {
    AddressParse result;
    std::string_view host;
    std::string_view port_text;
    if (text.front() == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos) {
            result.error = quoted(text) + " has no ']' after the IPv6 address";
            return result;
        }
        host = text.substr(1, close - 1);
        in6_addr ignored{};
        if (inet_pton(AF_INET6, std::string(host).c_str(), &ignored) != 1) {
            result.error = quoted(host) + " is not an IPv6 address";
            return result;
        }
        if (close + 1 >= text.size() || text[close + 1] != ':') {
            result.error = quoted(text) + " has no port; " + std::string(expected_forms);
            return result;
        }
        port_text = text.substr(close + 2);
    } else {
        const std::size_t colon = text.find(':');
        if (colon == std::string_view::npos) {
            result.error = quoted(text) + " has no port; " + std::string(expected_forms);
            return result;
        }
        if (text.find(':', colon + 1) != std::string_view::npos) {
            result.error =
                quoted(text) + " has too many ':'; write IPv6 addresses in brackets, like [::1]:6379";
            return result;
        }
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (host.empty()) {
            result.error = quoted(text) + " has no host; " + std::string(expected_forms);
            return result;
        }
        for (char c : host) {
            if (!is_host_name_char(c)) {
                result.error = quoted(host) + " is not a valid host name or IPv4 address";
                return result;
            }
        }
    }
    if (!parse_port(port_text, result.address.port)) {
        result.error = "port " + quoted(port_text) + " must be a number from 1 to 65535";
        return result;
    }
    result.address.kind = Address::Kind::tcp;
    result.address.host = std::string(host);
    return result;
}

}  // namespace

std::string Address::to_string() const {
    if (kind == Kind::unix_socket) return std::string(unix_prefix) + path;
    const bool ipv6 = host.find(':') != std::string::npos;
    return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

AddressParse parse_address(std::string_view text) {
    if (text.empty()) return AddressParse{{}, "the address is empty; " + std::string(expected_forms)};
    if (text.starts_with(unix_prefix)) return parse_unix(text.substr(unix_prefix.size()));
    return parse_tcp(text);
}

}  // namespace shardproxy::conf
