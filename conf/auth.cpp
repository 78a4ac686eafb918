#include "conf/auth.h"

namespace shardproxy::conf {
namespace {

// Zero when equal. Walks `given` (the client's bytes) to its end, cycling through `expected`,
// so neither an early mismatch nor the secret's length changes the number of steps.
unsigned differs(std::string_view given, std::string_view expected) {
    unsigned difference = given.size() != expected.size() ? 1u : 0u;
    if (expected.empty()) return difference | (given.empty() ? 0u : 1u);
    for (size_t i = 0; i < given.size(); ++i) {
        difference |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
    }
    return difference;
}

}  // namespace

bool credentials_match(std::span<const Credential> credentials, std::string_view user, std::string_view password) {
    unsigned matches = 0;
    for (const Credential& credential : credentials) {
        const unsigned difference = differs(user, credential.user) | differs(password, credential.password);
        matches |= difference == 0 ? 1u : 0u;
    }
    return matches != 0;
}

}  // namespace shardproxy::conf
