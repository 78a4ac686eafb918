#pragma once
// Finds where each RESP3 frame ends in the byte stream of a connection that said HELLO 3, and
// what it holds. Only the near cache's tracking connection speaks RESP3 (tracking_connection.h):
// Debian's hiredis (0.14) predates RESP3, and the proxy's own backend connections stay on RESP2.
//
// A frame is one value, possibly preceded by attributes (`|`), which carry side information
// about the value after them and are skipped, wherever they appear. Values come out flattened
// in document order: an aggregate is followed by its elements, each with its own elements,
// before the aggregate's next sibling:
//
//     >2 [ "invalidate", *2 [ "a", "b" ] ]   →   values(): push(2) "invalidate" array(2) "a" "b"
//
// Streamed strings and aggregates (`$?`, `*?`) are not accepted: Redis never sends them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shardproxy::backends {

enum class Resp3Type : char {
    simple_string = '+',
    simple_error = '-',
    integer = ':',
    null = '_',  // also RESP2's "$-1" and "*-1"
    double_number = ',',
    boolean = '#',
    big_number = '(',
    blob_string = '$',
    blob_error = '!',
    verbatim_string = '=',
    array = '*',
    set = '~',
    map = '%',
    push = '>',
};

struct Resp3Value {
    Resp3Type type;
    // Strings and errors: their bytes (a verbatim string's without its "txt:" format prefix).
    // Numbers and booleans ("t", "f"): as written. Empty for null and aggregates.
    std::string_view text;
    size_t count = 0;  // aggregates: the elements that follow (a map's keys and values both)
    size_t next = 0;   // index in values() just past this value and all it contains
};

class Resp3Framer {
public:
    enum class Result { frame, need_more, protocol_error };

    // The frame at the start of `data`, which holds everything received since that start:
    // while the result is need_more, call again with the same start and more bytes, and the
    // scan resumes where it stopped (the bytes may have moved in memory meanwhile). On `frame`,
    // `length` is its size in bytes, and values() describes it, viewing into `data`, until the
    // next call.
    Result next(std::string_view data, size_t& length);
    const std::vector<Resp3Value>& values() const { return values_; }
    // Bytes of attributes before the frame's value (values()[0]).
    size_t value_offset() const { return value_offset_; }
    // After protocol_error: what was wrong.
    const std::string& error() const { return error_; }
    // Forget a partly scanned frame, for a new connection.
    void reset();

private:
    struct Open {
        size_t remaining;  // elements still due
        size_t value;      // index in values_, unless in an attribute
        bool attribute;
    };
    // Where a value's text lies, as an offset: views are made once the frame is whole.
    struct Span {
        size_t at = 0;
        size_t size = 0;
    };

    Result fail(std::string error);
    void add_value(Resp3Type type, size_t count, Span text);
    // A value (not an attribute) is complete; true when that completes the frame.
    bool complete_element();

    size_t scanned_ = 0;       // bytes of the current frame already taken apart
    size_t line_checked_ = 0;  // bytes of an unfinished line already searched for its end
    size_t attributes_open_ = 0;  // entries of open_ that are attributes
    size_t value_offset_ = 0;
    bool frame_returned_ = false;  // values_ still describes the last frame
    std::vector<Open> open_;       // innermost last
    std::vector<Resp3Value> values_;
    std::vector<Span> texts_;  // one per entry of values_
    std::string error_;
};

}  // namespace shardproxy::backends
