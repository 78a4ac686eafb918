#pragma once
// The one way conf/ includes toml++.
//
// Debian's libtomlplusplus is built with exceptions, so it exports only toml::ex::parse, while
// this project builds with TOML_EXCEPTIONS=0 and therefore calls toml::noex::parse, which that
// library does not have. Compiling toml++ header-only here works whatever pkg-config asked for
// (TOML_SHARED_LIB=1 would otherwise force TOML_HEADER_ONLY=0).
#undef TOML_SHARED_LIB
#undef TOML_HEADER_ONLY
#define TOML_HEADER_ONLY 1
#include <toml++/toml.h>
