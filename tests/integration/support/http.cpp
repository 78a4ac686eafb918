#include "support/http.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>

#include "support/processes.h"

namespace shardproxy::testing {

HttpReply http_request(int port, const std::string& method, const std::string& path) {
    const int fd = connect_loopback(port);
    if (fd < 0) return {};
    const std::string request = method + " " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
        close(fd);
        return {};
    }
    std::string response;
    char buffer[65536];
    for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) response.append(buffer, static_cast<size_t>(n));
    close(fd);
    HttpReply reply;
    if (std::sscanf(response.c_str(), "HTTP/1.%*d %d", &reply.status) != 1) return {};
    const size_t body = response.find("\r\n\r\n");
    if (body == std::string::npos) return reply;
    reply.headers = response.substr(0, body);
    for (char& c : reply.headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.body = response.substr(body + 4);
    return reply;
}

}  // namespace shardproxy::testing
