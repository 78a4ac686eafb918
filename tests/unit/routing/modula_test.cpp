#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "routing/hash_function.h"
#include "routing/modula.h"
#include "spread_hashes.h"

using namespace shardproxy::routing;

TEST_CASE("modula takes hash % total weight over servers in identity order, each repeated by weight") {
    // Identity order is "a" (weight 2), then "bb" (weight 1): slots a, a, bb.
    const std::vector<WeightedServer> servers = {{"bb", 1}, {"a", 2}};
    const ModulaDistribution modula(servers);
    CHECK(modula.server_for(0) == 1);
    CHECK(modula.server_for(1) == 1);
    CHECK(modula.server_for(2) == 0);
    CHECK(modula.server_for(3) == 1);
    CHECK(modula.server_for(UINT32_MAX) == 1);  // 4294967295 % 3 == 0
}

TEST_CASE("modula shares keys in proportion to weight") {
    const std::vector<WeightedServer> servers = {{"a", 1}, {"b", 3}};
    const ModulaDistribution modula(servers);
    size_t on_b = 0;
    const std::vector<uint32_t> hashes = test::spread_hashes(20000);
    for (uint32_t hash : hashes) on_b += modula.server_for(hash) == 1;
    CHECK(on_b > hashes.size() * 70 / 100);
    CHECK(on_b < hashes.size() * 80 / 100);
}

// Expected servers were observed through nutcracker 0.5.0; they only come out right when the
// servers are sorted by identity (shorter first) before the slots are laid out.
TEST_CASE("modula places keys exactly as nutcracker 0.5.0 does") {
    const std::vector<WeightedServer> servers = {
        {"zeta", 3}, {"al", 1}, {"beta", 2}, {"b", 1}, {"gamma-long-name", 4}};
    const ModulaDistribution modula(servers);
    const HashFunction hash = find_hash_function("fnv1a_64");
    struct Placed {
        std::string key;
        uint32_t server;
    };
    const Placed placed[] = {
        {"mo:pk[SFXtfp<%\"?\\n-", 3},
        {"mo:\371A7*\271Z8C\201\342\345\317\213\354\272'\257", 1},
        {"mo:~a/fV\\8U8y|/", 4},
        {"mo:\323\223\302\3448\255\235{\2019\2768\250\254\343\323\377\273O}\341\231\360T\234", 3},
        {"mo:]8;Ko", 2},
        {"mo:\334^\224\214n\366\377\241\206$\215\210Z\235\221\326\232", 2},
        {"mo:u`\"<MEfE6;),", 4},
        {"mo:|H\3738\246E+", 4},
        {"mo:CbJ7vH9Yh>m//uc\"sm,gZH", 4},
        {"mo:\340\277O\351\275\251O\213P6\326\340\361G1\251\214*", 1},
        {"mo:\\bh#dD)pQB", 0},
        {"mo:4\251\327\314GL\234\370\356J#q\334\373\332\304", 4},
    };
    for (const Placed& p : placed) {
        CAPTURE(p.key);
        CHECK(modula.server_for(hash(p.key.data(), p.key.size())) == p.server);
    }
}
