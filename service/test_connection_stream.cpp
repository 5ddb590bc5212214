// Unit tests of connection_stream.hpp: when a request head counts as whole, what the parser may
// read of it, and non-blocking fill()/flush() over a real socketpair.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "service/connection_stream.hpp"

namespace fa = favorite_athlete;
using Io = fa::ConnectionStream::Io;

namespace {

// A connected socketpair: server is non-blocking (the stream's end), client blocking.
struct Pair {
  int server = -1, client = -1;
  Pair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    server = fds[0];
    client = fds[1];
    ::fcntl(server, F_SETFL, O_NONBLOCK);
  }
  Pair(const Pair&) = delete;
  Pair& operator=(const Pair&) = delete;
  ~Pair() {
    if (server >= 0) ::close(server);
    if (client >= 0) ::close(client);
  }
  void send(std::string_view bytes) const {
    REQUIRE(::send(client, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }
};

fa::ConnectionStream stream(const Pair& p, std::size_t max_head_bytes = 1024) {
  return fa::ConnectionStream(p.server, max_head_bytes, "192.0.2.1", 4242, "192.0.2.2", 8080);
}

// Sends bytes from the client and reads them into the stream (a socketpair delivers at once).
void feed(const Pair& p, fa::ConnectionStream& s, std::string_view bytes) {
  p.send(bytes);
  REQUIRE(s.fill() == Io::Done);
}

// Whether the stream, fed bytes in one piece, has a whole head.
bool ready_after(std::string_view bytes, std::size_t max_head_bytes = 1024) {
  Pair p;
  auto s = stream(p, max_head_bytes);
  feed(p, s, bytes);
  return s.head_ready();
}

// What the parser would read, in reads of at most `size`, until read() stops returning bytes.
std::string read_all(fa::ConnectionStream& s, std::size_t size, ssize_t& last) {
  std::string out;
  char buf[256];
  REQUIRE(size <= sizeof buf);
  while ((last = s.read(buf, size)) > 0) out.append(buf, static_cast<std::size_t>(last));
  return out;
}

}  // namespace

TEST_CASE("a head is whole at its blank line, ended by CRLF or by a bare LF") {
  CHECK_FALSE(ready_after("GET / HTTP/1.1\r\nHost: a\r\n"));
  CHECK(ready_after("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  CHECK_FALSE(ready_after("GET / HTTP/1.1\nHost: a\n"));
  CHECK(ready_after("GET / HTTP/1.1\nHost: a\n\n"));
  CHECK(ready_after("GET / HTTP/1.0\r\n\r\n"));
  CHECK_FALSE(ready_after("GET / HTTP/1.0\r\n"));
  CHECK_FALSE(ready_after("GET / HTTP/1.1"));  // the request line itself is not over
  CHECK_FALSE(ready_after("G"));
}

TEST_CASE("a head arriving in pieces is whole only once its last byte is buffered") {
  Pair p;
  auto s = stream(p);
  CHECK_FALSE(s.head_ready());
  CHECK_FALSE(s.has_buffered());
  const std::string head = "GET /x HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
  for (std::size_t i = 0; i + 1 < head.size(); ++i) {
    feed(p, s, head.substr(i, 1));
    CAPTURE(i);
    CHECK_FALSE(s.head_ready());
  }
  feed(p, s, head.substr(head.size() - 1));
  CHECK(s.head_ready());
  CHECK(s.head() == head);
}

TEST_CASE("a first line that is not HTTP/1.x is answered at once, without waiting for a blank line") {
  CHECK(ready_after("GET /\r\n"));  // HTTP/0.9
  CHECK(ready_after("GET /\n"));
  CHECK(ready_after("PRI * HTTP/2.0\r\n"));  // HTTP/2 preface
  CHECK(ready_after("GET / HTTP/1.2\r\n"));
  CHECK(ready_after("GET / http/1.1\r\n"));  // the version is case-sensitive
  CHECK(ready_after("GET / HTTP/1.1 \r\n"));
  CHECK(ready_after("HTTP/1.1\r\n"));  // no space before the version
  CHECK(ready_after("\r\n"));
  CHECK_FALSE(ready_after("GET / HTTP/1.1\r\n"));  // HTTP/1.x: the headers follow
  CHECK_FALSE(ready_after("GET / HTTP/1.1\n"));
}

TEST_CASE("a head is handed over once it reaches the head budget, blank line or not") {
  const std::size_t budget = 64;
  std::string bytes = "GET / HTTP/1.1\r\nX: ";
  bytes.resize(budget - 1, 'a');
  CHECK_FALSE(ready_after(bytes, budget));
  bytes += 'a';
  CHECK(ready_after(bytes, budget));
  std::string line(budget, 'b');  // a first line longer than the budget, no line end at all
  CHECK(ready_after(line, budget));
}

TEST_CASE("the end of input hands over what is buffered, and a client that closed is at_eof") {
  Pair p;
  auto s = stream(p);
  feed(p, s, "GET / HTTP/1.1\r\nHost: a\r\n");
  CHECK_FALSE(s.head_ready());
  CHECK_FALSE(s.at_eof());
  ::shutdown(p.client, SHUT_WR);
  CHECK(s.fill() == Io::Closed);
  CHECK(s.at_eof());
  CHECK(s.head_ready());
  CHECK(s.has_buffered());
  CHECK(s.head() == "GET / HTTP/1.1\r\nHost: a\r\n");
  CHECK(s.fill() == Io::Closed);  // and stays so
}

TEST_CASE("an empty connection at end of input is ready with nothing buffered") {
  Pair p;
  auto s = stream(p);
  ::shutdown(p.client, SHUT_WR);
  CHECK(s.fill() == Io::Closed);
  CHECK(s.head_ready());
  CHECK_FALSE(s.has_buffered());
  CHECK(s.head().empty());
}

TEST_CASE("head() shows the unread bytes, at most the budget plus the two bytes that could end it") {
  Pair p;
  const std::size_t budget = 32;
  auto s = stream(p, budget);
  const std::string bytes(100, 'h');
  feed(p, s, bytes);
  CHECK(s.head() == bytes.substr(0, budget + 2));
  s.begin_request();
  char buf[10];
  REQUIRE(s.read(buf, sizeof buf) == 10);
  CHECK(s.head() == bytes.substr(10, budget + 2));  // from the first unread byte

  Pair q;
  auto t = stream(q, budget);
  feed(q, t, "GET / HTTP/1.1\r\n\r\nGET /2");
  CHECK(t.head() == "GET / HTTP/1.1\r\n\r\nGET /2");  // shorter than the cap: everything
}

TEST_CASE("read() gives the parser the buffered head: at most the budget, then -1; 0 at the end of the buffer") {
  Pair p;
  const std::size_t budget = 16;
  auto s = stream(p, budget);
  feed(p, s, std::string(40, 'r'));
  char buf[64];
  CHECK(s.read(buf, sizeof buf) == -1);  // no request begun: no budget at all

  s.begin_request();
  ssize_t last = 0;
  CHECK(read_all(s, 5, last) == std::string(budget, 'r'));
  CHECK(last == -1);  // past the budget: a failed read, not an end of input
  CHECK(s.has_buffered());

  s.begin_request();  // the next request has a budget of its own
  CHECK(read_all(s, 7, last) == std::string(budget, 'r'));
  CHECK(last == -1);

  s.begin_request();
  CHECK(read_all(s, 64, last) == std::string(40 - 2 * budget, 'r'));
  CHECK(last == 0);  // budget left, buffer empty: end of input
  CHECK_FALSE(s.has_buffered());
  CHECK_FALSE(s.is_readable());
}

TEST_CASE("buffered_data() exposes what read() would give, within the budget") {
  Pair p;
  const std::size_t budget = 16;
  auto s = stream(p, budget);
  feed(p, s, "0123456789abcdefghijklmnop");
  std::size_t size = 99;
  CHECK(s.buffered_data(size) == nullptr);  // no budget yet
  CHECK(size == 0);
  s.begin_request();
  const char* data = s.buffered_data(size);
  REQUIRE(data != nullptr);
  CHECK(std::string_view(data, size) == "0123456789abcdef");
  s.consume_buffered(10);
  data = s.buffered_data(size);
  REQUIRE(data != nullptr);
  CHECK(std::string_view(data, size) == "abcdef");
  s.consume_buffered(size);
  CHECK(s.buffered_data(size) == nullptr);
  char c;
  CHECK(s.read(&c, 1) == -1);  // both views share one budget
  CHECK(s.head() == "ghijklmnop");
}

TEST_CASE("fill() on a socketpair: Done when bytes arrived, Again when none, Closed at the peer's end") {
  Pair p;
  auto s = stream(p);
  CHECK(s.fill() == Io::Again);
  CHECK_FALSE(s.has_buffered());
  p.send("abc");
  CHECK(s.fill() == Io::Done);
  CHECK(s.head() == "abc");
  CHECK(s.fill() == Io::Again);  // nothing more yet; what was read stays
  CHECK(s.head() == "abc");
  p.send("def");
  CHECK(s.fill() == Io::Done);
  CHECK(s.head() == "abcdef");
  ::close(p.client);
  p.client = -1;
  CHECK(s.fill() == Io::Closed);
  CHECK(s.at_eof());
  CHECK(s.head() == "abcdef");
}

TEST_CASE("fill() reads nothing more once a head's worth is buffered") {
  Pair p;
  const std::size_t budget = 16;
  auto s = stream(p, budget);
  feed(p, s, std::string(budget, 'x'));
  p.send("more");
  CHECK(s.fill() == Io::Done);  // without reading: the socket keeps "more"
  CHECK(s.head() == std::string(budget, 'x'));
  int queued = 0;
  REQUIRE(::ioctl(p.server, FIONREAD, &queued) == 0);
  CHECK(queued == 4);
}

TEST_CASE("bytes read in many fills and consumed in pieces arrive intact and in order") {
  Pair p;
  const std::size_t budget = 1000;
  auto s = stream(p, budget);
  std::string sent;
  for (int i = 0; sent.size() < 50'000; ++i) sent += std::to_string(i) + ',';
  std::string got;
  std::size_t at = 0;
  while (got.size() < sent.size()) {
    if (at < sent.size()) {
      const std::size_t n = std::min<std::size_t>(3000, sent.size() - at);
      p.send(std::string_view(sent).substr(at, n));
      at += n;
    }
    while (s.head().size() < budget && s.fill() == Io::Done) {
    }
    s.begin_request();
    ssize_t last = 0;
    got += read_all(s, 173, last);
  }
  CHECK(got == sent);
}

TEST_CASE("flush() sends what the socket takes, says Again, and sends the rest in order once the peer reads") {
  Pair p;
  const int small = 4096;
  REQUIRE(::setsockopt(p.server, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
  REQUIRE(::setsockopt(p.client, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
  ::fcntl(p.client, F_SETFL, O_NONBLOCK);
  auto s = stream(p);
  std::string sent;
  for (int i = 0; sent.size() < 1'000'000; ++i) sent += std::to_string(i) + '\n';
  CHECK_FALSE(s.has_output());
  CHECK(s.write(sent.data(), sent.size()) == static_cast<ssize_t>(sent.size()));
  CHECK(s.has_output());

  std::string got;
  auto drain = [&] {
    char buf[65536];
    for (ssize_t n; (n = ::recv(p.client, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<std::size_t>(n));
  };
  CHECK(s.flush() == Io::Again);  // far more than the socket buffers hold
  CHECK(s.has_output());
  drain();
  CHECK(got.size() < sent.size());
  int agains = 1;
  Io io;
  while ((io = s.flush()) == Io::Again) {
    ++agains;
    drain();
  }
  CHECK(io == Io::Done);
  CHECK_FALSE(s.has_output());
  drain();
  CHECK(agains > 1);
  CHECK(got.size() == sent.size());
  CHECK(got == sent);
  CHECK(s.flush() == Io::Done);  // nothing left: nothing to do

  const std::string second = "after\n";  // the buffer is reused from its start
  s.write(second.data(), second.size());
  CHECK(s.flush() == Io::Done);
  got.clear();
  drain();
  CHECK(got == second);
}

TEST_CASE("flush() to a peer that is gone is Closed, without SIGPIPE") {
  Pair p;
  auto s = stream(p);
  ::close(p.client);
  p.client = -1;
  s.write("HTTP/1.1 200 OK\r\n", 17);
  CHECK(s.flush() == Io::Closed);
}

TEST_CASE("the stream reports the addresses it was given, and the peer as address:port") {
  Pair p;
  auto s = stream(p);
  CHECK(s.peer() == "192.0.2.1:4242");
  std::string ip;
  int port = 0;
  s.get_remote_ip_and_port(ip, port);
  CHECK(ip == "192.0.2.1");
  CHECK(port == 4242);
  s.get_local_ip_and_port(ip, port);
  CHECK(ip == "192.0.2.2");
  CHECK(port == 8080);
  CHECK(s.socket() == p.server);
}
