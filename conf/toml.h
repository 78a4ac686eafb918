#pragma once
// The one way conf/ includes toml++.
//
// Debian's libtomlplusplus is built with exceptions, so it exports only toml::ex::parse, while
// this project builds with TOML_EXCEPTIONS=0 and therefore calls toml::noex::parse, which that
// library does not have. The build compiles toml++ header-only (TOML_HEADER_ONLY=1) instead.
#include <toml++/toml.h>
