#pragma once
// Defers socket writes to the end of the event-loop turn, the way redis-server writes replies
// before it sleeps: everything queued for a socket during the turn leaves in one write, and the
// poller is asked to watch for writability only when the socket cannot take it all.
// (A bufferevent left to itself registers for writability, waits a loop turn, writes, and
// unregisters: two epoll_ctl calls and a turn of latency for every reply.)
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <vector>

namespace shardproxy::backends {

class WriteBatcher {
public:
    class Writer {
    public:
        // Write what is queued; called once per loop turn in which schedule() was called.
        virtual void flush_writes() = 0;

    protected:
        ~Writer() = default;

    private:
        friend class WriteBatcher;
        bool queued_ = false;
    };

    explicit WriteBatcher(event_base* base);
    ~WriteBatcher();
    WriteBatcher(const WriteBatcher&) = delete;
    WriteBatcher& operator=(const WriteBatcher&) = delete;

    void schedule(Writer* writer);
    // Must be called before a scheduled writer is destroyed.
    void cancel(Writer* writer);

    // Writes as much of the bufferevent's output as the socket takes now. What is left is left
    // to the bufferevent, which is enabled for writing until it has drained it (the owner's
    // write callback should then call write_drained()).
    static void write_now(bufferevent* bev);
    // Called from a write callback: stop watching for writability once the output is empty.
    static void write_drained(bufferevent* bev);

private:
    static void run_cb(evutil_socket_t, short, void* self);

    event* event_;
    std::vector<Writer*> queue_;
    std::vector<Writer*> running_;
};

}  // namespace shardproxy::backends
