#pragma once
// A minimal HTTP/1.0 client for the admin endpoint: one request per connection.
#include <string>

namespace shardproxy::testing {

struct HttpReply {
    int status = 0;  // 0 when the request could not be made or the reply was not HTTP
    std::string headers;  // lower-cased, for matching names and values alike
    std::string body;
};

HttpReply http_request(int port, const std::string& method, const std::string& path);
inline HttpReply http_get(int port, const std::string& path) { return http_request(port, "GET", path); }
inline HttpReply http_post(int port, const std::string& path) { return http_request(port, "POST", path); }

}  // namespace shardproxy::testing
