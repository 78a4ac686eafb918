// The soak: mixed Redis and memcached load through one shardproxy for a set time, while
// backends are killed and restarted and the configuration is reloaded, every reply checked.
// See tests/soak/README.md for what it proves and how to run it.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "loads.h"
#include "support/http.h"
#include "support/memcache_client.h"
#include "support/memcached_servers.h"
#include "support/processes.h"

using namespace shardproxy::testing;
using shardproxy::soak::LoadShape;
using shardproxy::soak::Tally;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    int seconds = 600;
    int kill_every = 30;
    int reload_every = 60;
    int warmup = 60;
    int outage_ms = 2000;  // from a server's kill to its restart
    // 1 shows that the soak sees lost writes: a server restarted empty loses the only copy.
    int replicas = 2;
};

Options parse(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() {
            if (i + 1 >= argc) throw std::invalid_argument("missing value after " + arg);
            return std::stoi(argv[++i]);
        };
        if (arg == "--seconds") {
            options.seconds = value();
        } else if (arg == "--kill-every") {
            options.kill_every = value();
        } else if (arg == "--reload-every") {
            options.reload_every = value();
        } else if (arg == "--warmup") {
            options.warmup = value();
        } else if (arg == "--outage-ms") {
            options.outage_ms = value();
        } else if (arg == "--replicas") {
            options.replicas = value();
        } else {
            throw std::invalid_argument("usage: soak [--seconds N] [--kill-every N] [--reload-every N] "
                                        "[--warmup N] [--outage-ms N] [--replicas 1|2]");
        }
    }
    options.warmup = std::min(options.warmup, options.seconds / 4);
    return options;
}

// Two variants of the same topology: a reload switches between them. Placement (servers,
// names, hash, replicas) never changes, so no key moves and every acknowledged write stays
// readable; what changes is what a reload has to carry live: connection counts (new
// connections, old ones retired), timeouts and health settings.
struct Topology {
    int admin;
    int memcache_port;
    std::vector<std::string> redis;
    std::vector<std::string> memcached;
    int replicas;
};

std::string config(int variant, const Topology& topology) {
    auto servers = [](const std::vector<std::string>& addresses, const std::string& prefix) {
        std::string list;
        for (size_t i = 0; i < addresses.size(); ++i) {
            list += (i ? ", \"" : "\"") + addresses[i] + ":1 " + prefix + std::to_string(i) + "\"";
        }
        return list;
    };
    auto pool = [&](const std::string& name, const std::string& protocol, const std::string& server_list) {
        return "[pool." + name + "]\nprotocol = \"" + protocol + "\"\nservers = [" + server_list +
               "]\nreplicas = " + std::to_string(topology.replicas) +
               "\nmiss_failover = " + (topology.replicas > 1 ? "true" : "false") + "\ntimeout_ms = " + (variant ? "1500" : "1000") +
               "\nserver_connections = " + (variant ? "2" : "1") + "\n[pool." + name +
               ".health]\nfailure_limit = " + (variant ? "5" : "3") + "\n";
    };
    return "[proxy]\nworkers = 2\nadmin = \"127.0.0.1:" + std::to_string(topology.admin) +
           "\"\n\n[[listener]]\nname = \"redis\"\nlisten = \"127.0.0.1:@PORT@\"\nprotocol = \"redis\"\npool = \"rpool\"\n"
           "\n[[listener]]\nname = \"memcache\"\nlisten = \"127.0.0.1:" +
           std::to_string(topology.memcache_port) + "\"\nprotocol = \"memcache\"\npool = \"mpool\"\n\n" +
           pool("rpool", "redis", servers(topology.redis, "r")) + "\n" +
           pool("mpool", "memcache", servers(topology.memcached, "m"));
}

long rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    }
    return -1;
}

// The value of an unlabelled series in /metrics, or -1.
double metric(int admin, const std::string& series) {
    const std::string text = http_get(admin, "/metrics").body;
    const size_t at = text.find("\n" + series + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
}

// Whether every worker has every server in service.
bool all_servers_up(int admin) {
    const std::string text = http_get(admin, "/metrics").body;
    if (text.empty()) return false;
    for (size_t at = text.find("\nshardproxy_server_up{"); at != std::string::npos;
         at = text.find("\nshardproxy_server_up{", at + 1)) {
        const size_t end = text.find('\n', at + 1);
        if (!text.substr(at, end - at).ends_with("} 1")) return false;
    }
    return true;
}

bool wait_for(const std::function<bool()>& condition, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return condition();
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// The write sequence number in a soak value ("KEY|SEQ|filler"), or the value's start when it is
// not one of this key's.
std::string seq_of(const std::string& key, const std::string& value) {
    if (!value.starts_with(key + "|")) return "'" + value.substr(0, 40) + "'";
    const size_t seq = key.size() + 1;
    return value.substr(seq, value.find('|', seq) - seq);
}

// "SEQ" of the value a key holds on one server, asked directly: "miss", or "unreachable".
std::string held_by_redis(int port, const std::string& key) {
    try {
        Client direct(port, 1000);
        const ReplyPtr reply = direct.command({"GET", key});
        if (!reply) return "unreachable";
        if (reply->type == REDIS_REPLY_NIL) return "miss";
        if (reply->type != REDIS_REPLY_STRING) return describe(reply.get());
        return seq_of(key, std::string(reply->str, reply->len));
    } catch (const std::exception&) {
        return "unreachable";
    }
}

std::string held_by_memcached(int port, const std::string& key) {
    MemcacheClientOptions options;
    options.timeout_ms = 1000;
    const McValue got = MemcacheClient(port, options).get(key);
    if (got.value) return seq_of(key, *got.value);
    return got.rc == MEMCACHED_NOTFOUND ? "miss" : "unreachable";
}

struct LoadSpec {
    std::string name;
    bool redis;
    LoadShape shape;
};

const std::vector<LoadSpec> kLoads = {
    {"redis SET/GET", true, {1, 1, false}},
    {"redis SET/GET x32 pipelined", true, {1, 32, true}},
    {"redis MSET/MGET 8 keys", true, {8, 1, false}},
    {"redis MSET/MGET 8 keys x8 pipelined", true, {8, 8, true}},
    {"memcache set/get (libmemcached)", false, {1, 1, false}},
    {"memcache 8 sets/get 8 keys (libmemcached)", false, {8, 1, false}},
    {"memcache set/get x32 pipelined", false, {1, 32, true}},
    {"memcache 8 sets/get 8 keys x8 pipelined", false, {8, 8, true}},
};
constexpr int kKeysPerLoad = 256;

}  // namespace

int main(int argc, char** argv) {
    Options options;
    try {
        options = parse(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    std::vector<std::unique_ptr<RedisServer>> redis;
    std::vector<std::unique_ptr<MemcachedServer>> memcached;
    Topology topology{free_port(), free_port(), {}, {}, options.replicas};
    for (int i = 0; i < 3; ++i) {
        redis.push_back(std::make_unique<RedisServer>());
        topology.redis.push_back(redis.back()->address());
        memcached.push_back(std::make_unique<MemcachedServer>());
        topology.memcached.push_back(memcached.back()->address());
    }
    const int admin = topology.admin;
    const int memcache_port = topology.memcache_port;
    ShardProxy proxy(config(0, topology));
    if (!wait_for_port(memcache_port) || !wait_for([&] { return all_servers_up(admin); }, 5000)) {
        std::fprintf(stderr, "the proxy did not come up; its log:\n%s\n", proxy.log().c_str());
        return 1;
    }
    const pid_t pid = proxy.process().pid();
    std::printf("soak: %d s; one server of each pool killed every %d s (restarted empty %d ms later); "
                "config reloaded every %d s; replicas = %d; RSS after %d s of warm-up\n",
                options.seconds, options.kill_every, options.outage_ms, options.reload_every, options.replicas,
                options.warmup);
    std::printf("proxy pid %d: redis listener 127.0.0.1:%d, memcache listener 127.0.0.1:%d, admin 127.0.0.1:%d\n",
                pid, proxy.port(), memcache_port, admin);
    std::fflush(stdout);

    std::atomic<bool> stop{false};
    std::vector<std::unique_ptr<Tally>> tallies;
    std::vector<std::thread> threads;
    for (size_t i = 0; i < kLoads.size(); ++i) {
        const LoadSpec& load = kLoads[i];
        tallies.push_back(std::make_unique<Tally>(load.name));
        Tally& tally = *tallies.back();
        std::vector<int> ports;
        for (size_t s = 0; s < 3; ++s) ports.push_back(load.redis ? redis[s]->port() : memcached[s]->port());
        tally.set_inspector([ports, redis = load.redis](const std::string& key) {
            std::string held;
            for (size_t s = 0; s < ports.size(); ++s) {
                held += (s ? ", " : "") + std::string(redis ? "r" : "m") + std::to_string(s) + " " +
                        (redis ? held_by_redis(ports[s], key) : held_by_memcached(ports[s], key));
            }
            return held;
        });
        const std::string prefix = "soak" + std::to_string(i);
        threads.emplace_back([&, load, prefix] {
            if (load.redis) {
                shardproxy::soak::run_redis_load(proxy.port(), load.shape, prefix, kKeysPerLoad, stop, tally);
            } else {
                shardproxy::soak::run_memcache_load(memcache_port, load.shape, prefix, kKeysPerLoad, stop, tally);
            }
        });
    }

    auto totals = [&](auto field) {
        uint64_t sum = 0;
        for (const auto& tally : tallies) sum += ((*tally).*field)();
        return sum;
    };
    const auto start = Clock::now();
    auto at = [&](int seconds) { return start + std::chrono::seconds(seconds); };
    int kills = 0;
    int late_kills = 0;  // kills that had to wait for the previous victims to be back in service
    int reloads = 0;
    int failed_reloads = 0;
    long rss_warm = -1;
    long rss_min = -1;
    long rss_max = -1;
    long rss_end = -1;
    int next_kill = options.kill_every;
    int next_reload = options.reload_every;
    int next_report = 30;
    while (Clock::now() < at(options.seconds) && proxy.process().running()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        if (Clock::now() >= at(next_kill) && Clock::now() < at(options.seconds)) {
            // Killing a server while the previous victim is still out would take both replicas
            // of some keys: more than replicas = 2 can survive.
            if (!all_servers_up(admin)) {
                ++late_kills;
                wait_for([&] { return all_servers_up(admin); }, 20000);
            }
            RedisServer& r = *redis[static_cast<size_t>(kills) % redis.size()];
            MemcachedServer& m = *memcached[static_cast<size_t>(kills + 1) % memcached.size()];
            r.process().kill_hard();
            m.process().kill_hard();
            std::this_thread::sleep_for(std::chrono::milliseconds(options.outage_ms));
            r.restart();
            m.restart();
            ++kills;
            next_kill += options.kill_every;
        }
        if (Clock::now() >= at(next_reload)) {
            const double before = metric(admin, "shardproxy_config_reloads_total");
            std::string next = config((reloads + 1) % 2, topology);
            next.replace(next.find("@PORT@"), 6, std::to_string(proxy.port()));
            std::ofstream(proxy.config_path()) << next;
            // Both ways in: SIGHUP and the admin endpoint, in turn.
            bool sent = true;
            if (reloads % 2 == 0) {
                kill(pid, SIGHUP);
            } else {
                sent = http_post(admin, "/reload").status == 200;
            }
            const bool applied = sent && wait_for([&] {
                return metric(admin, "shardproxy_config_reloads_total") > before &&
                       metric(admin, "shardproxy_config_last_reload_successful") == 1;
            }, 10000);
            ++reloads;
            if (!applied) ++failed_reloads;
            next_reload += options.reload_every;
        }
        const long rss = rss_kib(pid);
        if (Clock::now() >= at(options.warmup)) {
            if (rss_warm < 0) rss_warm = rss;
            rss_min = rss_min < 0 ? rss : std::min(rss_min, rss);
            rss_max = std::max(rss_max, rss);
            rss_end = rss;
        }
        if (Clock::now() >= at(next_report)) {
            std::printf("%4.0f s: %llu replies checked, %llu backend errors, %llu lost, %llu mismatched, "
                        "%llu dropped; %d kills, %d reloads; RSS %ld KiB\n",
                        seconds_since(start), static_cast<unsigned long long>(totals(&Tally::replies)),
                        static_cast<unsigned long long>(totals(&Tally::errors)),
                        static_cast<unsigned long long>(totals(&Tally::lost)),
                        static_cast<unsigned long long>(totals(&Tally::mismatched)),
                        static_cast<unsigned long long>(totals(&Tally::drops)), kills, reloads, rss);
            std::fflush(stdout);
            next_report += 30;
        }
    }
    stop = true;
    for (std::thread& thread : threads) thread.join();
    const bool proxy_alive = proxy.process().running();

    std::printf("\n| load | replies checked | right | backend errors | lost writes | mismatched | dropped connections |\n"
                "|---|---:|---:|---:|---:|---:|---:|\n");
    for (const auto& tally : tallies) {
        std::printf("| %s | %llu | %llu | %llu | %llu | %llu | %llu |\n", tally->name().c_str(),
                    static_cast<unsigned long long>(tally->replies()), static_cast<unsigned long long>(tally->oks()),
                    static_cast<unsigned long long>(tally->errors()), static_cast<unsigned long long>(tally->lost()),
                    static_cast<unsigned long long>(tally->mismatched()),
                    static_cast<unsigned long long>(tally->drops()));
    }
    std::printf("| total | %llu | %llu | %llu | %llu | %llu | %llu |\n\n",
                static_cast<unsigned long long>(totals(&Tally::replies)),
                static_cast<unsigned long long>(totals(&Tally::oks)),
                static_cast<unsigned long long>(totals(&Tally::errors)),
                static_cast<unsigned long long>(totals(&Tally::lost)),
                static_cast<unsigned long long>(totals(&Tally::mismatched)),
                static_cast<unsigned long long>(totals(&Tally::drops)));
    std::printf("servers killed: %d redis + %d memcached (%d kills waited for the previous victims to return)\n",
                kills, kills, late_kills);
    std::printf("config reloads: %d, %d not applied\n", reloads, failed_reloads);
    std::printf("proxy RSS after warm-up: %ld KiB at %d s, %ld KiB at the end (min %ld, max %ld)\n", rss_warm,
                options.warmup, rss_end, rss_min, rss_max);
    std::printf("proxy %s\n", proxy_alive ? "still running" : "DIED");
    std::printf("\nfirst errors and failures of each load:\n");
    for (const auto& tally : tallies) {
        for (const std::string& example : tally->examples()) std::printf("  %s: %s\n", tally->name().c_str(), example.c_str());
    }

    const bool passed = proxy_alive && failed_reloads == 0 && totals(&Tally::lost) == 0 &&
                        totals(&Tally::mismatched) == 0 && totals(&Tally::drops) == 0;
    std::printf("%s\n", passed ? "PASS" : "FAIL");
    if (!proxy_alive) {
        std::printf("proxy log:\n%s\n", proxy.log().c_str());
    } else if (!passed) {
        // What each worker made of the servers, to set beside the failures.
        std::istringstream log(proxy.log());
        std::printf("proxy log, servers marked down and up:\n");
        for (std::string line; std::getline(log, line);) {
            if (line.find(" is down") != std::string::npos || line.find("up again") != std::string::npos) {
                std::printf("  %s\n", line.c_str());
            }
        }
    }
    return passed ? 0 : 1;
}
