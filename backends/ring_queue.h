#pragma once
// A FIFO over one growing array: push at the back, pop at the front, index from the front.
// Unlike std::deque it stops allocating once it has grown to the deepest pipeline seen.
#include <cstddef>
#include <vector>

namespace shardproxy::backends {

template <typename T>
class RingQueue {
public:
    bool empty() const { return size_ == 0; }
    size_t size() const { return size_; }
    T& front() { return slots_[head_]; }
    const T& front() const { return slots_[head_]; }
    T& operator[](size_t i) { return slots_[(head_ + i) & (slots_.size() - 1)]; }

    void push_back(const T& value) {
        if (size_ == slots_.size()) grow();
        slots_[(head_ + size_) & (slots_.size() - 1)] = value;
        ++size_;
    }
    void pop_front() {
        head_ = (head_ + 1) & (slots_.size() - 1);
        --size_;
    }
    void clear() {
        head_ = 0;
        size_ = 0;
    }

private:
    void grow() {
        std::vector<T> bigger(slots_.empty() ? 16 : slots_.size() * 2);
        for (size_t i = 0; i < size_; ++i) bigger[i] = (*this)[i];
        slots_.swap(bigger);
        head_ = 0;
    }

    std::vector<T> slots_;  // size is zero or a power of two
    size_t head_ = 0;
    size_t size_ = 0;
};

}  // namespace shardproxy::backends
