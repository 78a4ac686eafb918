#pragma once
// Suggestions for misspelt names, so "hsah" earns "did you mean 'hash'?" rather than a bare
// "unknown key".
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace shardproxy::conf {

// Damerau-Levenshtein distance (optimal string alignment): insertions, deletions, substitutions
// and swaps of two adjacent characters each cost 1. ASCII case is ignored.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate, when it is close enough to be what the operator meant: at most about a
// third of the longer name's characters differ. Ties go to the candidate that shares the longer
// beginning with the wrong name ("fnv1a64" -> "fnv1a_64", not "fnv1_64"), then to the earlier one.
std::optional<std::string_view> nearest_key(std::string_view wrong,
                                            std::span<const std::string_view> candidates);

// "did you mean 'x'?" when a candidate is close, else "expected one of: a, b, c".
std::string suggestion(std::string_view wrong, std::span<const std::string_view> candidates);

}  // namespace shardproxy::conf
