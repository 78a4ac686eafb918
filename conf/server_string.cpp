#include "conf/server_string.h"

#include <algorithm>
#include <charconv>

#include "conf/address.h"

namespace shardproxy::conf {
namespace {

constexpr std::string_view blanks = " \t";
constexpr uint16_t memcached_default_port = 11211;

std::string_view trim(std::string_view text) {
    const std::size_t first = text.find_first_not_of(blanks);
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

bool all_digits(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Where the ":weight" suffix starts in an address, or npos when there is none. Only a trailing
// run of digits counts, so a unix path may still contain ':' elsewhere.
std::size_t weight_separator(std::string_view spec) {
    const std::size_t last = spec.rfind(':');
    if (last == std::string_view::npos) return last;
    if (spec.starts_with("unix:")) {
        return (last >= 5 && all_digits(spec.substr(last + 1))) ? last : std::string_view::npos;
    }
    std::size_t port_colon = 0;
    if (spec.front() == '[') {
        const std::size_t close = spec.find(']');
        if (close == std::string_view::npos) return std::string_view::npos;
        port_colon = close + 1;
    } else {
        port_colon = spec.find(':');
    }
    // Without brackets, more than two ':' is an unbracketed IPv6 address; parse_address says so.
    const bool two_colons = spec.find(':', port_colon + 1) == last;
    return (last > port_colon && two_colons) ? last : std::string_view::npos;
}

bool parse_weight(std::string_view text, uint32_t& weight) {
    uint32_t value = 0;
    const char* end = text.data() + text.size();
    auto [stop, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc{} || stop != end || value < 1 || value > max_server_weight) {
        return false;
    }
    weight = value;
    return true;
}

}  // namespace

std::string server_identity(const Address& address, std::string_view name) {
    if (!name.empty()) return std::string(name);
    if (address.kind == Address::Kind::tcp && address.port == memcached_default_port) return address.host;
    return address.to_string();
}

ServerParse parse_server(std::string_view text) {
    ServerParse result;
    text = trim(text);
    const std::size_t blank = text.find_first_of(blanks);
    std::string_view spec = text.substr(0, blank);
    const std::string_view name = blank == std::string_view::npos ? "" : trim(text.substr(blank));
    if (spec.empty()) {
        result.error = "the server is empty; expected \"host:port[:weight] [name]\"";
        return result;
    }
    if (name.find_first_of(blanks) != std::string_view::npos) {
        result.error = "'" + std::string(text) +
                       "' has more than an address and a name; expected \"host:port[:weight] [name]\"";
        return result;
    }
    if (const std::size_t separator = weight_separator(spec); separator != std::string_view::npos) {
        const std::string_view weight = spec.substr(separator + 1);
        if (!parse_weight(weight, result.server.weight)) {
            result.error = "weight '" + std::string(weight) + "' must be a whole number from 1 to " +
                           std::to_string(max_server_weight);
            return result;
        }
        spec = spec.substr(0, separator);
    }
    AddressParse address = parse_address(spec);
    if (!address.error.empty()) {
        result.error = std::move(address.error);
        return result;
    }
    result.server.address = std::move(address.address);
    result.server.name = std::string(name);
    result.server.identity = server_identity(result.server.address, name);
    return result;
}

}  // namespace shardproxy::conf
