#include <doctest/doctest.h>
#include <libhashkit-1.0/hashkit.h>

#include <algorithm>
#include <string>
#include <vector>

#include "routing/hash_function.h"
#include "routing/ketama.h"
#include "spread_hashes.h"

using namespace shardproxy::routing;

namespace {

struct Placed {
    std::string key;
    uint32_t server;  // config position
};

std::vector<uint32_t> points_per_server(const KetamaDistribution& ring, size_t servers) {
    std::vector<uint32_t> counts(servers, 0);
    for (uint32_t owner : ring.owners()) ++counts[owner];
    return counts;
}

// Runs keys through the hash and the ring the way a pool does, and checks each lands where the
// real nutcracker 0.5.0 put it.
void check_placements(const std::vector<WeightedServer>& servers, std::string_view hash_name,
                      const std::vector<Placed>& placed) {
    const KetamaDistribution ring(servers);
    const HashFunction hash = find_hash_function(hash_name);
    for (const Placed& p : placed) {
        CAPTURE(p.key);
        CHECK(ring.server_for(hash(p.key.data(), p.key.size())) == p.server);
    }
}

}  // namespace

TEST_CASE("equal weights give every server 160 points on a sorted ring") {
    const std::vector<WeightedServer> servers = {{"10.0.0.1:6379", 1}, {"10.0.0.2:6379", 1}, {"cache-3", 1}};
    const KetamaDistribution ring(servers);
    CHECK(ring.points().size() == 480);
    CHECK(points_per_server(ring, 3) == std::vector<uint32_t>{160, 160, 160});
    CHECK(std::is_sorted(ring.points().begin(), ring.points().end()));
}

TEST_CASE("a server's points are the four little-endian words of MD5(\"<identity>-<i>\")") {
    const std::vector<WeightedServer> servers = {{"solo", 1}};
    const KetamaDistribution ring(servers);
    std::vector<uint32_t> expected;
    for (int i = 0; i < 40; ++i) {
        const std::string text = "solo-" + std::to_string(i);
        unsigned char digest[16];
        libhashkit_md5_signature(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
        for (int word = 0; word < 4; ++word) {
            const unsigned char* b = digest + 4 * word;
            expected.push_back(static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 |
                               static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24);
        }
    }
    std::sort(expected.begin(), expected.end());
    CHECK(ring.points() == expected);
}

TEST_CASE("point text longer than twemproxy's 272-byte buffer is hashed cut to 272 bytes") {
    // With a 280-byte identity the "-<i>" suffix is always cut off, so every digest is the same.
    const std::vector<WeightedServer> servers = {{std::string(280, 'n'), 1}};
    const KetamaDistribution ring(servers);
    CHECK(ring.points().size() == 160);
    const std::string cut(272, 'n');
    unsigned char digest[16];
    libhashkit_md5_signature(reinterpret_cast<const unsigned char*>(cut.data()), cut.size(), digest);
    const uint32_t first_word = static_cast<uint32_t>(digest[0]) | static_cast<uint32_t>(digest[1]) << 8 |
                                static_cast<uint32_t>(digest[2]) << 16 | static_cast<uint32_t>(digest[3]) << 24;
    CHECK(std::count(ring.points().begin(), ring.points().end(), first_word) == 40);
}

TEST_CASE("point counts follow twemproxy's single-precision rule, not exact arithmetic") {
    CHECK(ketama_point_count(1, 3, 3) == 160);
    CHECK(ketama_point_count(1, 6, 3) == 80);
    CHECK(ketama_point_count(2, 6, 3) == 160);
    CHECK(ketama_point_count(3, 6, 3) == 240);
    // 1/25 of 40 hashes x 5 servers is exactly 8 hashes, but in float it comes out just under 8.
    CHECK(ketama_point_count(1, 25, 5) == 28);
    CHECK(ketama_point_count(12, 25, 5) == 380);
    // A weight tiny next to the total rounds to no points at all: the server gets no keys.
    CHECK(ketama_point_count(1, 1002, 3) == 0);
    CHECK(ketama_point_count(1000, 1002, 3) == 476);
}

TEST_CASE("heavier servers get proportionally more points") {
    const std::vector<WeightedServer> servers = {{"a", 1}, {"b", 2}, {"c", 3}};
    const KetamaDistribution ring(servers);
    CHECK(points_per_server(ring, 3) == std::vector<uint32_t>{80, 160, 240});
}

TEST_CASE("a server whose weight rounds to no points receives no keys") {
    const std::vector<WeightedServer> servers = {{"s1", 1}, {"s2", 1000}, {"s3", 1}};
    const KetamaDistribution ring(servers);
    CHECK(points_per_server(ring, 3) == std::vector<uint32_t>{0, 476, 0});
    for (uint32_t hash : test::spread_hashes(1000)) CHECK(ring.server_for(hash) == 1);
}

TEST_CASE("a hash past the last point wraps to the first point's server") {
    const std::vector<WeightedServer> servers = {{"a", 1}, {"b", 1}};
    const KetamaDistribution ring(servers);
    const uint32_t last = ring.points().back();
    if (last < UINT32_MAX) CHECK(ring.server_for(last + 1) == ring.owners().front());
    CHECK(ring.server_for(0) == ring.owners().front());
    CHECK(ring.server_for(last) == ring.owners().back());
    CHECK(ring.server_for(ring.points()[7]) == ring.owners()[7]);
    CHECK(ring.server_for(ring.points()[7] - 1) == ring.owners()[7]);
}

TEST_CASE("config order does not change where a server's keys go") {
    const std::vector<WeightedServer> forward = {{"alpha", 1}, {"b", 2}, {"gamma-long", 1}, {"delta", 3}};
    const std::vector<WeightedServer> backward(forward.rbegin(), forward.rend());
    const KetamaDistribution one(forward);
    const KetamaDistribution two(backward);
    for (uint32_t hash : test::spread_hashes(5000)) {
        CHECK(forward[one.server_for(hash)].identity == backward[two.server_for(hash)].identity);
    }
}

TEST_CASE("adding a server only moves keys onto the new server") {
    std::vector<WeightedServer> servers = {{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}};
    const KetamaDistribution before(servers);
    servers.push_back({"e", 1});
    const KetamaDistribution after(servers);
    size_t moved = 0;
    const std::vector<uint32_t> hashes = test::spread_hashes(20000);
    for (uint32_t hash : hashes) {
        const uint32_t old_server = before.server_for(hash);
        const uint32_t new_server = after.server_for(hash);
        if (old_server == new_server) continue;
        ++moved;
        CHECK(new_server == 4);
    }
    // About a fifth of the keys should move: the new server's share.
    CHECK(moved > hashes.size() / 8);
    CHECK(moved < hashes.size() / 3);
}

// Expected servers were observed by storing each key through nutcracker 0.5.0 and finding the
// memcached that received it; keys with bytes >= 0x80 included.
TEST_CASE("named servers place keys exactly as nutcracker 0.5.0 does") {
    const std::vector<WeightedServer> servers = {
        {"zeta", 1}, {"al", 1}, {"beta", 1}, {"b", 1}, {"gamma-long-name", 1}};
    check_placements(servers, "fnv1a_64",
                     {
                         {"ka:4St'*e-Ok(a", 0},
                         {"ka:*7\221\2152^8", 3},
                         {"ka:W(i0=qqk(jkS'=&h2F", 3},
                         {"ka:E\254?\264o\261\362\320O;\266\264\305Q", 3},
                         {"ka:-g|)i(p;`xeW", 0},
                         {"ka:q\231\267\226}m`\355O\324\351_5\265m\250\240x\334\224j\2753?\245", 1},
                         {"ka:6L4_V&v*hjILyM", 0},
                         {"ka:\241\266\356\2262\3718f\233\324\31410\335\325p\307\265\320\364", 3},
                         {"ka:E|RvM#\\N6o/`(<E", 1},
                         {"ka:\337`\207\206\241", 2},
                         {"ka:6ZT", 4},
                         {"ka:hD\363\220\377\256h\326\214|\320\203\\G6NG\\", 2},
                     });
}

TEST_CASE("weighted host:port servers place keys exactly as nutcracker 0.5.0 does") {
    const std::vector<WeightedServer> servers = {{"127.0.0.1:22105", 5},
                                                 {"127.0.0.1:22101", 1},
                                                 {"127.0.0.1:22103", 3},
                                                 {"127.0.0.1:22102", 2},
                                                 {"127.0.0.1:22104", 1}};
    check_placements(servers, "murmur",
                     {
                         {"kb:1NOf}72PAPO6cu/@6EQ$=t9=RO?s", 2},
                         {"kb:\232d\"-:\313\202\370\200]i(\232\222\236>=\227\260\330\2378\211?\236\234M\\\217", 0},
                         {"kb:(09)COY]?Lh(*b=", 0},
                         {"kb:\340X\262\276\375\202=0\220\250/^\247L\244\377", 3},
                         {"kb:<-+^B\\[~1*Z", 0},
                         {"kb:r:Uh\313\354}2?\326\233\235bO\244#\302\311\361\245'", 0},
                         {"kb:]x%es>`vn2tO3RJ&Put8z", 2},
                         {"kb:%\273\227\3335\225X\373", 0},
                         {"kb:EY", 2},
                         {"kb:\370Rn\341q", 0},
                         {"kb::)T$w6\"O^>)^Pb_w<p<", 4},
                         {"kb:\367\232Tp\352\226f", 0},
                     });
}

// With weights 1, 2, 4, 6 and 12 every server gets 4 points fewer than exact arithmetic would
// give it; the first four keys land elsewhere on a ring computed in double precision.
TEST_CASE("weights where float rounding matters place keys exactly as nutcracker 0.5.0 does") {
    const std::vector<WeightedServer> servers = {{"127.0.0.1:22101", 1},
                                                 {"127.0.0.1:22102", 2},
                                                 {"127.0.0.1:22103", 4},
                                                 {"127.0.0.1:22104", 6},
                                                 {"127.0.0.1:22105", 12}};
    check_placements(servers, "md5",
                     {
                         {"kw:\227\222\326%\204u\246\301l\2451=\353[;6df", 0},
                         {"kw:ZTG~3VMQI0K!JLS0:|\"FAP", 3},
                         {"kw:\355\365P\240\271y\366\245c\265Ii\362W\325\\\241K=\304\3465\237", 4},
                         {"kw:#\354\204\227\2547\253\360{\3471\\\207\266\247c\367\247s\234\243\270TQW", 3},
                         {"kw:VU@4$CjFK", 4},
                         {"kw:?-RFV5(}", 1},
                         {"kw:4St'*e-Ok(a", 1},
                         {"kw:*7\221\2152^8", 4},
                         {"kw:W(i0=qqk(jkS'=&h2F", 2},
                         {"kw:E\254?\264o\261\362\320O;\266\264\305Q", 4},
                     });
}
