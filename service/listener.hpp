// The public port's listening socket, shared by every event loop. Only SO_REUSEADDR: with
// SO_REUSEPORT (cpp-httplib's default) a second instance could bind the same port silently and
// take part of the traffic.
#pragma once

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace favorite_athlete {

inline constexpr int kListenBacklog = 1024;  // bursts of connects must not overflow it

// A non-blocking socket listening on address:port (a numeric IPv4 or IPv6 address; port 0: any
// free one). Returns the fd and sets bound_port, or returns -1 with errno set.
inline int listen_on(const std::string& address, int port, int& bound_port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(address.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    errno = rc == EAI_SYSTEM ? errno : EINVAL;
    return -1;
  }
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int yes = 1;
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  const bool ok = fd >= 0 && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) == 0 &&
                  ::bind(fd, found->ai_addr, found->ai_addrlen) == 0 && ::listen(fd, kListenBacklog) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) == 0;
  const int err = errno;
  ::freeaddrinfo(found);
  if (!ok) {
    if (fd >= 0) ::close(fd);
    errno = err;
    return -1;
  }
  bound_port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                 : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

}  // namespace favorite_athlete
