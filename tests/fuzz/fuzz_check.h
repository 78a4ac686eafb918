#pragma once
// The invariants the fuzz targets assert. Not assert(): the replay tests run in the default
// RelWithDebInfo build, where NDEBUG compiles assert() out.
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                \
    do {                                                                                     \
        if (!(condition)) {                                                                  \
            std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #condition); \
            std::abort();                                                                    \
        }                                                                                    \
    } while (false)
