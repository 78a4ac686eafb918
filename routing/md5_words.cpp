#include "routing/md5_words.h"

#include <libhashkit-1.0/hashkit.h>

namespace shardproxy::routing {

std::array<uint32_t, 4> md5_words(std::string_view text) {
    unsigned char digest[16];
    libhashkit_md5_signature(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
    std::array<uint32_t, 4> words{};
    for (size_t i = 0; i < words.size(); ++i) {
        const unsigned char* b = digest + 4 * i;
        words[i] = static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 |
                   static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24;
    }
    return words;
}

}  // namespace shardproxy::routing
