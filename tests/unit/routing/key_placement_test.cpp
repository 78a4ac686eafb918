#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "routing/key_placement.h"

using namespace shardproxy::routing;

namespace {

// Answers with the hash it was given (mod the server count), so tests see what KeyPlacement
// passes on.
class EchoDistribution final : public Distribution {
public:
    explicit EchoDistribution(uint32_t servers) : servers_(servers) {}
    uint32_t server_for(uint32_t key_hash) const override { return key_hash % servers_; }
    void replica_set(uint32_t key_hash, uint32_t count, std::vector<uint32_t>& out) const override {
        out.clear();
        for (uint32_t i = 0; i < count && i < servers_; ++i) out.push_back((key_hash + i) % servers_);
    }

private:
    uint32_t servers_;
};

KeyPlacement placement(std::string_view hash_name, std::string tag, uint32_t servers) {
    return KeyPlacement(find_hash_function(hash_name), std::make_unique<EchoDistribution>(servers),
                        std::move(tag), servers);
}

}  // namespace

TEST_CASE("the hash tag selects the text between the first open and the next close character") {
    CHECK(hashable_part("user:{42}:name", "{}") == "42");
    CHECK(hashable_part("{a}{b}", "{}") == "a");
    CHECK(hashable_part("a}b{c}d", "{}") == "c");
    CHECK(hashable_part("x{ab}}y", "{}") == "ab");
    CHECK(hashable_part("$order$:7", "$$") == "order");
}

TEST_CASE("the whole key is hashed when the tag is absent, unclosed or empty") {
    CHECK(hashable_part("user:42", "{}") == "user:42");
    CHECK(hashable_part("user:{42", "{}") == "user:{42");
    CHECK(hashable_part("user:{}:{42}", "{}") == "user:{}:{42}");
    CHECK(hashable_part("user:}42{", "{}") == "user:}42{");
    CHECK(hashable_part("user:{42}", "") == "user:{42}");
    CHECK(hashable_part("", "{}") == "");
}

TEST_CASE("a tagged key hashes like its tag") {
    const KeyPlacement keys = placement("fnv1a_64", "{}", 8);
    CHECK(keys.hash("cart:{user7}:items") == keys.hash("user7"));
    CHECK(keys.server_for("cart:{user7}:items") == keys.server_for("profile:{user7}"));
    const HashFunction fnv = find_hash_function("fnv1a_64");
    CHECK(keys.hash("user7") == fnv("user7", 5));
}

TEST_CASE("an empty key hashes to 0, as twemproxy does, and goes where hash 0 goes") {
    const KeyPlacement keys = placement("fnv1a_64", "", 8);
    CHECK(keys.hash("") == 0);
    CHECK(keys.server_for("") == 0);

    // On a ring, hash 0 belongs to the server owning the first point, not necessarily server 0.
    const std::vector<WeightedServer> servers = {{"a", 1}, {"b", 1}, {"c", 1}};
    const uint32_t owner_of_zero = make_distribution("ketama", servers).distribution->server_for(0);
    const KeyPlacement ring(find_hash_function("md5"), make_distribution("ketama", servers).distribution, "", 3);
    CHECK(ring.server_for("") == owner_of_zero);
}

TEST_CASE("a one-server pool hashes every key to 0 and places it on server 0") {
    const KeyPlacement keys = placement("md5", "{}", 1);
    CHECK(keys.hash("apple") == 0);
    CHECK(keys.server_for("apple") == 0);
    CHECK(keys.server_for("{x}") == 0);
}

TEST_CASE("key placement feeds the key's hash to the distribution") {
    const KeyPlacement keys = placement("md5", "", 7);
    CHECK(keys.hash("apple") == 3195025439u);
    CHECK(keys.server_for("apple") == 3195025439u % 7);
}
