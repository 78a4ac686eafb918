#pragma once
// The status page for people that the admin endpoint serves at / and /status: proxy/status_page.html,
// compiled in by CMakeLists.txt. The page itself polls /stats and draws everything client-side.
#include <string_view>

namespace shardproxy::proxy {

std::string_view status_page_html();

}  // namespace shardproxy::proxy
