// libFuzzer target: arbitrary bytes as one client connection's input, through the real connection
// code: an event loop (event_loop.hpp) serving one end of a socketpair, with cpp-httplib's parser
// and this service's handlers, exactly as a pod serves a TCP connection. Besides crashes and
// sanitizer reports it checks what clients may rely on: every reply is well-formed HTTP/1.1 and
// none is a server error (5xx but 501).
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "service/http_server.hpp"

namespace fa = favorite_athlete;

namespace {

// What the server sent back for `input`, sent by a client that then closes its side.
std::string exchange(fa::HttpServer& server, const fa::Limits& limits, const uint8_t* input, size_t size) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  const int buffer = 1 << 20;  // the whole input and every reply fit: one thread plays both ends
  for (const int fd : fds) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  }
  if (size > 0 && ::send(fds[0], input, size, MSG_NOSIGNAL) != static_cast<ssize_t>(size)) std::abort();
  ::shutdown(fds[0], SHUT_WR);
  ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
  {
    fa::EventLoop loop(
        -1, limits, [&](fa::ConnectionStream& s, bool last, fa::AccessLog& log) { return server.answer(s, last, log); },
        -1);
    loop.adopt(fds[1]);
    loop.run_until_empty();
  }
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = ::recv(fds[0], buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  return out;
}

void require(bool ok, const char* what, const std::string& output) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n--- output ---\n%s\n", what, output.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fa::Metrics metrics("fuzz", "fuzz", CPPHTTPLIB_VERSION);
  static const fa::Service service("Usain Bolt");
  static const std::atomic<bool> draining{false};
  static const fa::Limits limits = [] {
    fa::Limits l;
    l.keepalive_max_requests = 64;
    l.write_timeout = std::chrono::milliseconds(100);
    return l;
  }();
  static fa::HttpServer server(service, limits, draining, metrics, -1, [](const char*) {});

  const std::string out = exchange(server, limits, data, size);
  require(out.empty() || out.rfind("HTTP/1.1 ", 0) == 0, "output starts with a status line", out);
  // No server error: the only 5xx is 501, the deliberate answer to a transfer coding other than
  // chunked (RFC 9112 6.1, check_head in service/request_head.hpp).
  for (std::size_t at = out.find("HTTP/1.1 "); at != std::string::npos; at = out.find("HTTP/1.1 ", at + 1)) {
    require(out.compare(at + 9, 1, "5") != 0 || out.compare(at + 9, 3, "501") == 0, "no 5xx reply but 501", out);
  }
  return 0;
}
