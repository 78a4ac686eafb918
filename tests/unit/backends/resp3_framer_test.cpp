#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "backends/resp3_framer.h"

using shardproxy::backends::Resp3Framer;
using shardproxy::backends::Resp3Type;
using shardproxy::backends::Resp3Value;

namespace {

bool is_aggregate(Resp3Type type) {
    return type == Resp3Type::array || type == Resp3Type::set || type == Resp3Type::map || type == Resp3Type::push;
}

// A value as its type byte and text, aggregates with their elements in brackets, found
// through `next` so that the links are checked too.
std::string show(const std::vector<Resp3Value>& values, size_t i) {
    const Resp3Value& value = values[i];
    std::string out(1, static_cast<char>(value.type));
    if (!is_aggregate(value.type)) {
        CHECK(value.next == i + 1);
        return out.append(value.text);
    }
    out += "[";
    size_t elements = 0;
    for (size_t child = i + 1; child < value.next; child = values[child].next, ++elements) {
        if (elements > 0) out += ",";
        out += show(values, child);
    }
    CHECK(elements == value.count);
    return out + "]";
}

struct Frame {
    std::string shown;
    size_t length;
    size_t value_offset;
    bool operator==(const Frame&) const = default;
};

struct Sample {
    std::string bytes;
    std::string shown;
    size_t value_offset = 0;
};

const std::vector<Sample> kSamples = {
    {"+OK\r\n", "+OK"},
    {"-ERR boom\r\n", "-ERR boom"},
    {":42\r\n", ":42"},
    {":-7\r\n", ":-7"},
    {":+7\r\n", ":+7"},
    {"_\r\n", "_"},
    {"$-1\r\n", "_"},
    {"*-1\r\n", "_"},
    {",3.14\r\n", ",3.14"},
    {",-1.5e-3\r\n", ",-1.5e-3"},
    {",10\r\n", ",10"},
    {",inf\r\n", ",inf"},
    {",-inf\r\n", ",-inf"},
    {",nan\r\n", ",nan"},
    {"#t\r\n", "#t"},
    {"#f\r\n", "#f"},
    {"(3492890328409238509324850943850943825024385\r\n", "(3492890328409238509324850943850943825024385"},
    {"(-12\r\n", "(-12"},
    {"$5\r\nhello\r\n", "$hello"},
    {"$0\r\n\r\n", "$"},
    {"$4\r\na\r\nb\r\n", "$a\r\nb"},
    {"!21\r\nSYNTAX invalid syntax\r\n", "!SYNTAX invalid syntax"},
    {"=15\r\ntxt:Some string\r\n", "=Some string"},
    {"=4\r\nmkd:\r\n", "="},
    {"*3\r\n:1\r\n$1\r\na\r\n_\r\n", "*[:1,$a,_]"},
    {"*0\r\n", "*[]"},
    {"~2\r\n+x\r\n+y\r\n", "~[+x,+y]"},
    {"%2\r\n+first\r\n:1\r\n+second\r\n#f\r\n", "%[+first,:1,+second,#f]"},
    {"%0\r\n", "%[]"},
    {">3\r\n+message\r\n+channel\r\n$5\r\nhello\r\n", ">[+message,+channel,$hello]"},
    // Invalidations as Redis sends them: some keys, or all of them.
    {">2\r\n$10\r\ninvalidate\r\n*2\r\n$1\r\na\r\n$3\r\nbcd\r\n", ">[$invalidate,*[$a,$bcd]]"},
    {">2\r\n$10\r\ninvalidate\r\n_\r\n", ">[$invalidate,_]"},
    // Nested maps, and aggregates in every position.
    {"%2\r\n+a\r\n%1\r\n+b\r\n*2\r\n:1\r\n~1\r\n:2\r\n+c\r\n*0\r\n", "%[+a,%[+b,*[:1,~[:2]]],+c,*[]]"},
    {"*2\r\n*1\r\n*1\r\n*1\r\n:1\r\n>1\r\n%1\r\n:2\r\n:3\r\n", "*[*[*[*[:1]]],>[%[:2,:3]]]"},
    // Attributes are skipped wherever they come, also nested in one another.
    {"|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
     "*[:2039123,:9543892]", 57},
    {"|1\r\n+a\r\n|1\r\n+b\r\n+c\r\n+d\r\n$2\r\nok\r\n", "$ok", 24},
    {"|0\r\n:5\r\n", ":5", 4},
    {"*3\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n:2\r\n|1\r\n+x\r\n*1\r\n|1\r\n+y\r\n_\r\n:0\r\n:3\r\n", "*[:1,:2,:3]"},
    {">2\r\n|1\r\n+a\r\n+b\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n", ">[$invalidate,*[$k]]"},
};

std::string all_samples() {
    std::string stream;
    for (const auto& sample : kSamples) stream += sample.bytes;
    return stream;
}

std::vector<Frame> expected_frames() {
    std::vector<Frame> frames;
    for (const auto& sample : kSamples) frames.push_back({sample.shown, sample.bytes.size(), sample.value_offset});
    return frames;
}

// Delivers the stream in pieces ending at `cuts` (and at its end), frames as far as possible
// after each, and drops each frame's bytes from the front, as a connection does. Every call
// sees a fresh copy holding exactly the bytes received, so a read past them is caught by the
// sanitizers and the scan is shown to survive its bytes moving.
std::vector<Frame> frame_pieces(const std::string& stream, std::vector<size_t> cuts) {
    cuts.push_back(stream.size());
    Resp3Framer framer;
    std::string pending;
    std::vector<Frame> frames;
    size_t delivered = 0;
    for (size_t cut : cuts) {
        pending += stream.substr(delivered, cut - delivered);
        delivered = cut;
        while (true) {
            const std::string copy = pending;
            size_t length = 0;
            const auto result = framer.next(copy, length);
            REQUIRE_MESSAGE(result != Resp3Framer::Result::protocol_error, framer.error());
            if (result == Resp3Framer::Result::need_more) break;
            REQUIRE(length <= copy.size());
            frames.push_back({show(framer.values(), 0), length, framer.value_offset()});
            pending.erase(0, length);
        }
    }
    CHECK(pending.empty());
    return frames;
}

Resp3Framer::Result frame_once(const std::string& bytes, std::string& error) {
    Resp3Framer framer;
    size_t length = 0;
    const auto result = framer.next(bytes, length);
    error = framer.error();
    return result;
}

}  // namespace

TEST_CASE("every RESP3 type is framed, with its contents") {
    for (const auto& sample : kSamples) {
        CAPTURE(sample.bytes);
        CHECK(frame_pieces(sample.bytes, {}) == std::vector<Frame>{{sample.shown, sample.bytes.size(), sample.value_offset}});
    }
}

TEST_CASE("a stream split at any point gives the same frames") {
    const std::string stream = all_samples();
    const auto expected = expected_frames();
    for (size_t cut = 0; cut <= stream.size(); ++cut) {
        CAPTURE(cut);
        REQUIRE(frame_pieces(stream, {cut}) == expected);
    }
    std::vector<size_t> every_byte;
    for (size_t cut = 1; cut < stream.size(); ++cut) every_byte.push_back(cut);
    CHECK(frame_pieces(stream, every_byte) == expected);
}

TEST_CASE("the links between values let a reader skip any element") {
    Resp3Framer framer;
    size_t length = 0;
    const std::string map = "%2\r\n+a\r\n*2\r\n:1\r\n:2\r\n+b\r\n%1\r\n+c\r\n_\r\n";
    REQUIRE(framer.next(map, length) == Resp3Framer::Result::frame);
    const auto& values = framer.values();
    REQUIRE(values.size() == 9);
    CHECK(values[0].count == 4);
    CHECK(values[0].next == 9);
    CHECK(values[2].next == 5);
    CHECK(values[5].text == "b");
    CHECK(values[6].count == 2);
    CHECK(values[6].next == 9);
}

TEST_CASE("a long simple string arriving slowly is searched once and framed whole") {
    const std::string text(200 * 1024, 'x');
    const std::string stream = "+" + text + "\r\n:1\r\n";
    std::vector<size_t> cuts;
    for (size_t cut = 1000; cut < stream.size(); cut += 1000) cuts.push_back(cut);
    cuts.push_back(stream.size() - 6);  // right after the CR
    const auto frames = frame_pieces(stream, cuts);
    REQUIRE(frames.size() == 2);
    CHECK(frames[0].shown == "+" + text);
    CHECK(frames[1].shown == ":1");
}

TEST_CASE("a large announced string waits for its bytes; a larger one is refused") {
    std::string error;
    CHECK(frame_once("$536870912\r\nabc", error) == Resp3Framer::Result::need_more);
    CHECK(frame_once("$536870913\r\n", error) == Resp3Framer::Result::protocol_error);
    CHECK(error == "invalid length '536870913'");
    CHECK(frame_once("*1\r\n$3\r\nab", error) == Resp3Framer::Result::need_more);
    CHECK(frame_once("|1\r\n+a\r\n+b\r\n", error) == Resp3Framer::Result::need_more);  // the value is still due
}

TEST_CASE("malformed input is refused with a reason") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"?x\r\n", "unexpected type byte '?'"},
        {"\r\n", "empty line"},
        {"+a\rb\r\n", "CR without LF"},
        {"+a\nb\r\n", "LF without CR"},
        {":12a\r\n", "invalid integer '12a'"},
        {":\r\n", "invalid integer ''"},
        {":+-1\r\n", "invalid integer '+-1'"},
        {":99999999999999999999\r\n", "invalid integer '99999999999999999999'"},
        {"_x\r\n", "invalid null 'x'"},
        {",1.\r\n", "invalid double '1.'"},
        {",.5\r\n", "invalid double '.5'"},
        {",1e\r\n", "invalid double '1e'"},
        {",infinity\r\n", "invalid double 'infinity'"},
        {"#true\r\n", "invalid boolean 'true'"},
        {"(12a\r\n", "invalid big number '12a'"},
        {"(\r\n", "invalid big number ''"},
        {"$-2\r\n", "invalid length '-2'"},
        {"$x\r\n", "invalid length 'x'"},
        {"$?\r\n;3\r\nabc\r\n;0\r\n", "invalid length '?'"},
        {"!-1\r\n", "invalid length '-1'"},
        {"$3\r\nabcd\r\n", "string not followed by CRLF"},
        {"=3\r\ntxt\r\n", "verbatim string without a format"},
        {"=5\r\ntxtab\r\n", "verbatim string without a format"},
        {"*-2\r\n", "invalid element count '-2'"},
        {"%-1\r\n", "invalid element count '-1'"},
        {"*?\r\n:1\r\n.\r\n", "invalid element count '?'"},
        {"*999999999999\r\n", "invalid element count '999999999999'"},
        {"*2\r\n:1\r\n&\r\n", "unexpected type byte '&'"},
        {"|1\r\n+a\r\n+b\r\n*1\r\n%1\r\n+c\r\n:x\r\n", "invalid integer 'x'"},
    };
    for (const auto& [input, reason] : cases) {
        const std::string& bytes = input;  // clang 14 cannot capture a structured binding
        CAPTURE(bytes);
        std::string error;
        CHECK(frame_once(bytes, error) == Resp3Framer::Result::protocol_error);
        CHECK(error == reason);
    }
}

TEST_CASE("overlong lines are refused before the line ends") {
    std::string error;
    CHECK(frame_once(":" + std::string(70 * 1024, '1'), error) == Resp3Framer::Result::protocol_error);
    CHECK(error == "line too long");
    CHECK(frame_once("$" + std::string(70 * 1024, '1') + "\r\n", error) == Resp3Framer::Result::protocol_error);
    CHECK(error == "line too long");
    // Simple strings may be long.
    CHECK(frame_once("+" + std::string(70 * 1024, 'a'), error) == Resp3Framer::Result::need_more);
}

TEST_CASE("reset forgets a partly scanned frame") {
    Resp3Framer framer;
    size_t length = 0;
    CHECK(framer.next("*2\r\n|1\r\n+a\r\n", length) == Resp3Framer::Result::need_more);
    framer.reset();
    REQUIRE(framer.next(":1\r\n", length) == Resp3Framer::Result::frame);
    CHECK(length == 4);
    CHECK(show(framer.values(), 0) == ":1");
    CHECK(framer.value_offset() == 0);
}
