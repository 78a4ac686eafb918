#pragma once
// Feeds pieces of a fuzz stream into a backend connection's input buffer.
#include <event2/buffer.h>

#include <cstring>
#include <string_view>

namespace shardproxy::fuzz {

// Copied, pieces merge into the buffer's chunks as socket reads usually do. As chunks of their
// own, each in an allocation of exactly its size, every line and data block that straddles two
// pieces takes a framer's paths for replies split across chunks, and AddressSanitizer catches
// a read past the end of a chunk.
inline void append_piece(evbuffer* in, std::string_view piece, bool own_chunk) {
    if (!own_chunk) {
        evbuffer_add(in, piece.data(), piece.size());
        return;
    }
    char* bytes = new char[piece.size()];
    std::memcpy(bytes, piece.data(), piece.size());
    evbuffer_add_reference(
        in, bytes, piece.size(),
        [](const void*, size_t, void* allocation) { delete[] static_cast<char*>(allocation); }, bytes);
}

}  // namespace shardproxy::fuzz
