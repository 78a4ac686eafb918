#include "conf/nearest_key.h"

#include <algorithm>
#include <vector>

namespace shardproxy::conf {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::size_t common_prefix(std::string_view a, std::string_view b) {
    std::size_t length = 0;
    while (length < a.size() && length < b.size() && lower(a[length]) == lower(b[length])) ++length;
    return length;
}

bool close_enough(std::size_t distance, std::string_view a, std::string_view b) {
    const std::size_t longer = std::max(a.size(), b.size());
    return distance < longer && distance <= (longer + 2) / 3;
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
    // Three rows are enough: a swap looks back two rows.
    std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const bool same = lower(a[i - 1]) == lower(b[j - 1]);
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (same ? 0 : 1)});
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1])) {
                current[j] = std::min(current[j], before[j - 2] + 1);
            }
        }
        std::swap(before, previous);
        std::swap(previous, current);
    }
    return previous[b.size()];
}

std::optional<std::string_view> nearest_key(std::string_view wrong,
                                            std::span<const std::string_view> candidates) {
    std::optional<std::string_view> best;
    std::size_t best_distance = 0;
    std::size_t best_prefix = 0;
    for (std::string_view candidate : candidates) {
        const std::size_t distance = edit_distance(wrong, candidate);
        if (!close_enough(distance, wrong, candidate)) continue;
        const std::size_t prefix = common_prefix(wrong, candidate);
        if (!best || distance < best_distance || (distance == best_distance && prefix > best_prefix)) {
            best = candidate;
            best_distance = distance;
            best_prefix = prefix;
        }
    }
    return best;
}

std::string suggestion(std::string_view wrong, std::span<const std::string_view> candidates) {
    if (auto nearest = nearest_key(wrong, candidates)) {
        return "did you mean '" + std::string(*nearest) + "'?";
    }
    std::string text = "expected one of: ";
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (i > 0) text += ", ";
        text += candidates[i];
    }
    return text;
}

}  // namespace shardproxy::conf
