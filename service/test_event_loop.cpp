// Unit tests of event_loop.hpp's rules, over real sockets and threads: order, turns, the
// per-state deadlines, replies the socket cannot take, stop(). A fake Respond answers each head
// with a small fixed reply ("R <path>\n"), so nothing here depends on cpp-httplib's parser.
// Timeouts are short (tens to hundreds of ms) and only ever bound how long a test may take: what
// is asserted is what the loop did, never that it was fast.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "service/event_loop.hpp"
#include "service/listener.hpp"

namespace fa = favorite_athlete;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto kPatience = seconds(5);  // the longest any test waits for anything

// Polls pred until it holds, for kPatience at most.
template <typename Pred>
bool eventually(Pred pred) {
  const auto until = SteadyClock::now() + kPatience;
  while (!pred()) {
    if (SteadyClock::now() > until) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// A client's end of a connection: blocking, but never for longer than kPatience.
class Client {
 public:
  explicit Client(int fd) : fd_(fd) {
    const timeval tv{static_cast<time_t>(kPatience.count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client() { close(); }
  int fd() const { return fd_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void send(std::string_view bytes) const {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      REQUIRE(n > 0);
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void shutdown_write() const { ::shutdown(fd_, SHUT_WR); }
  // Exactly n bytes, or fewer if the server closed (or kPatience passed).
  std::string recv_exact(std::size_t n) const {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      const ssize_t r = ::recv(fd_, out.data() + got, n - got, 0);
      if (r <= 0) break;
      got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
  }
  // Whether the server closed: reads (and returns in `rest`) what comes first.
  bool closed_by_server(std::string* rest = nullptr) const {
    char buf[4096];
    for (;;) {
      const ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r == 0) return true;
      if (r < 0) return errno == ECONNRESET;
      if (rest) rest->append(buf, static_cast<std::size_t>(r));
    }
  }
  // Bytes received and not read yet.
  std::size_t queued() const {
    int n = 0;
    REQUIRE(::ioctl(fd_, FIONREAD, &n) == 0);
    return static_cast<std::size_t>(n);
  }
  // Whether the server closed or sent something, without waiting.
  bool readable_now() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }

 private:
  int fd_;
};

// A socketpair: the server end (non-blocking) for EventLoop::adopt, and a Client.
struct Pair {
  int server = -1;
  std::unique_ptr<Client> client;
  explicit Pair(int server_sndbuf = 0) {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    server = fds[0];
    ::fcntl(server, F_SETFL, O_NONBLOCK);
    if (server_sndbuf > 0) ::setsockopt(server, SOL_SOCKET, SO_SNDBUF, &server_sndbuf, sizeof server_sndbuf);
    client = std::make_unique<Client>(fds[1]);
  }
  Client& operator*() const { return *client; }
  Client* operator->() const { return client.get(); }
};

std::string request(std::string_view path, std::size_t size = 0) {
  std::string r = "GET " + std::string(path) + " HTTP/1.1\r\n";
  if (size > r.size() + 6) r += "X: " + std::string(size - r.size() - 7, 'x') + "\r\n";
  return r + "\r\n";
}

// The fake server's reply to path: "R <path>" padded with dots to size, and a line end.
std::string reply(std::string_view path, std::size_t size = 0) {
  std::string r = "R " + std::string(path);
  if (r.size() + 1 < size) r.resize(size - 1, '.');
  return r + '\n';
}

// What the fake Respond answered, in order, over all connections of a loop.
struct Answer {
  int fd;
  std::string path;
  bool last;
};

// A Respond that consumes one head (up to its blank line) and appends reply(path). "/close"
// asks to close after the reply, "/body" announces unread input. Thread-safe to inspect.
class FakeServer {
 public:
  explicit FakeServer(std::size_t reply_size = 0) : reply_size_(reply_size) {}

  fa::Respond respond() {
    return [this](fa::ConnectionStream& s, bool last, fa::AccessLog& log) { return answer(s, last, log); };
  }
  // Runs on the loop's thread after each answer (set before the loop runs).
  std::function<void(const Answer&)> on_answer;

  std::vector<Answer> answers() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return answers_;
  }
  std::size_t count(int fd) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(answers_.begin(), answers_.end(), [fd](const Answer& a) { return a.fd == fd; }));
  }

 private:
  fa::Answered answer(fa::ConnectionStream& s, bool last, fa::AccessLog& log) {
    REQUIRE(s.head_ready());
    const std::string_view head = s.head();
    const auto end = head.find("\r\n\r\n");
    const std::size_t size = end == std::string_view::npos ? head.size() : end + 4;
    std::string bytes(size, '\0');
    s.begin_request();
    REQUIRE(s.read(bytes.data(), size) == static_cast<ssize_t>(size));
    const auto sp1 = bytes.find(' ');
    const auto sp2 = bytes.find(' ', sp1 + 1);
    const std::string path = sp1 == std::string::npos || sp2 == std::string::npos
                                 ? "?"
                                 : bytes.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string r = reply(path, reply_size_);
    s.write(r.data(), r.size());
    if (log.on()) log.add(fa::AccessRecord{"GET", path, 200, 0.1, "test"}, SteadyClock::now());
    Answer a{s.socket(), path, last};
    {
      std::lock_guard<std::mutex> lock(mutex_);
      answers_.push_back(a);
    }
    if (on_answer) on_answer(a);
    return fa::Answered{end != std::string_view::npos && path != "/close", path == "/body"};
  }

  const std::size_t reply_size_;
  mutable std::mutex mutex_;
  std::vector<Answer> answers_;
};

fa::Limits short_limits() {
  fa::Limits l;
  l.keepalive_timeout = seconds(30);  // each test shortens the timeout it is about
  l.read_timeout = seconds(30);
  l.write_timeout = seconds(30);
  l.linger = milliseconds(200);
  return l;
}

// Runs a loop on a thread of its own. Declared before a test's clients: on the way out of the
// test, failed or not, they close first, then this stops the loop and waits for it.
class Running {
 public:
  explicit Running(fa::EventLoop& loop) : loop_(loop) {}
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
  ~Running() {
    if (!done_.valid()) return;
    loop_.stop();
    done_.wait();
  }
  void run_until_empty() {
    done_ = std::async(std::launch::async, [this] { loop_.run_until_empty(); });
  }
  void run() {
    done_ = std::async(std::launch::async, [this] { loop_.run(); });
  }
  // Whether the loop returned within kPatience.
  bool returned() { return done_.wait_for(kPatience) == std::future_status::ready; }

 private:
  fa::EventLoop& loop_;
  std::future<void> done_;
};

// A loop serving one socketpair client, on a thread of its own until it has no connection left.
// Tests take its parts by name: auto& [server, loop, running, p] = one;
struct OneClient {
  explicit OneClient(const fa::Limits& limits = short_limits(), int log_fd = -1)
      : loop(-1, limits, server.respond(), log_fd), running(loop) {
    loop.adopt(p.server);
    running.run_until_empty();
  }
  FakeServer server;
  fa::EventLoop loop;
  Running running;  // after the loop, before the client: see Running
  Pair p;
};

bool states_are(const fa::EventLoop& loop, fa::ConnectionCounts want) {
  return eventually([&] { return loop.counts() == want; });
}

}  // namespace

TEST_CASE("pipelined requests are answered in order, each reply once") {
  OneClient one;
  auto& [server, loop, running, p] = one;
  std::string requests, replies;
  for (int i = 0; i < 300; ++i) {
    requests += request("/" + std::to_string(i));
    replies += reply("/" + std::to_string(i));
  }
  p->send(requests.substr(0, 1000));  // in pieces that cut heads anywhere
  p->send(requests.substr(1000, 7));
  p->send(requests.substr(1007));
  CHECK(p->recv_exact(replies.size()) == replies);
  p->close();
  CHECK(running.returned());
  CHECK(server.answers().size() == 300);
}

// A loop the test runs itself, two socketpair clients, and client a's pipeline of n requests.
struct TwoClients {
  explicit TwoClients(int n, std::size_t size = 0) {
    for (int i = 0; i < n; ++i) a_requests += request("/a" + std::to_string(i), size);
  }
  FakeServer server;
  const fa::Limits limits = short_limits();
  fa::EventLoop loop{-1, limits, server.respond(), -1};
  Pair a, b;
  const int a_fd = a.server, b_fd = b.server;
  std::string a_requests;
};

TEST_CASE("a connection pipelining many requests gets one turn before another connection's request") {
  TwoClients two(200);
  auto& [server, limits, loop, a, b, a_fd, b_fd, requests] = two;
  a->send(requests);
  b->send(request("/b"));
  a->shutdown_write();
  b->shutdown_write();
  loop.adopt(a.server);  // a first: it is the first the loop hears from
  loop.adopt(b.server);
  loop.run_until_empty();  // replies fit the socket buffers: no client needs to read meanwhile

  const auto answers = server.answers();
  REQUIRE(answers.size() == 201);
  std::size_t a_before_b = 0;
  for (const auto& answer : answers) {
    if (answer.fd == b_fd) break;
    CHECK(answer.fd == a_fd);
    ++a_before_b;
  }
  CAPTURE(a_before_b);
  CHECK(a_before_b > 0);
  CHECK(a_before_b <= limits.turn);
}

TEST_CASE("a request arriving while another connection's pipeline is answered waits for at most two turns of it") {
  // b's request is sent from a's first answer, i.e. in the middle of a's first turn: a finishes
  // that turn and may have one more before the loop hears from b, no more (a pending connection
  // is answered by its turn, not again when its socket is readable).
  TwoClients two(300, 64);  // more than one read
  auto& [server, limits, loop, a, b, a_fd, b_fd, requests] = two;
  a->send(requests);
  a->shutdown_write();
  std::size_t a_answered = 0, a_when_b_sent = 0, a_when_b_answered = 0;
  server.on_answer = [&](const Answer& answer) {  // by two.: C++17 lambdas capture no bindings
    if (answer.fd == two.a_fd && ++a_answered == 1) {
      two.b->send(request("/b"));
      two.b->shutdown_write();
      a_when_b_sent = a_answered;
    }
    if (answer.fd == two.b_fd) a_when_b_answered = a_answered;
  };
  loop.adopt(a.server);
  loop.adopt(b.server);
  loop.run_until_empty();

  REQUIRE(server.answers().size() == 301);
  const std::size_t a_meanwhile = a_when_b_answered - a_when_b_sent;
  CAPTURE(a_meanwhile);
  CHECK(a_meanwhile < 2 * limits.turn);
}

TEST_CASE("an idle keep-alive connection is closed after keepalive_timeout") {
  fa::Limits limits = short_limits();
  limits.keepalive_timeout = milliseconds(100);
  OneClient one(limits);
  auto& [server, loop, running, p] = one;
  const auto sent = SteadyClock::now();  // the connection is idle from after this
  p->send(request("/"));
  CHECK(p->recv_exact(reply("/").size()) == reply("/"));
  std::string rest;
  CHECK(p->closed_by_server(&rest));
  CHECK(SteadyClock::now() - sent >= limits.keepalive_timeout);
  CHECK(rest.empty());
  CHECK(running.returned());
}

TEST_CASE("a connection that never sends a byte is closed after keepalive_timeout too") {
  fa::Limits limits = short_limits();
  limits.keepalive_timeout = milliseconds(50);
  const auto adopted = SteadyClock::now();
  OneClient one(limits);
  auto& [server, loop, running, p] = one;
  CHECK(p->closed_by_server());
  CHECK(SteadyClock::now() - adopted >= limits.keepalive_timeout);
  CHECK(running.returned());
  CHECK(server.answers().empty());
}

TEST_CASE("the read timeout counts from a head's first byte, however the rest trickles in") {
  fa::Limits limits = short_limits();
  limits.read_timeout = milliseconds(200);
  OneClient one(limits);
  auto& [server, loop, running, p] = one;
  const auto first_byte = SteadyClock::now();  // the loop reads it after this
  p->send("G");
  bool closed = false;
  // A byte every 20 ms: the head never ends. Were each byte to refresh the deadline, this would
  // go on for the whole 5 s.
  for (const auto until = first_byte + kPatience; !closed && SteadyClock::now() < until;) {
    std::this_thread::sleep_for(milliseconds(20));
    closed = p->readable_now() || ::send(p->fd(), "a", 1, MSG_NOSIGNAL) != 1;
  }
  CHECK(closed);
  CHECK(SteadyClock::now() - first_byte >= limits.read_timeout);
  std::string rest;
  CHECK(p->closed_by_server(&rest));
  CHECK(rest.empty());  // no reply: just closed
  CHECK(running.returned());
  CHECK(server.answers().empty());
}

TEST_CASE("a pipelined head's read timeout counts from its own first byte, not from the head before it") {
  // head 1 starts at t0; at t1 its end and head 2's start arrive; head 2 ends at t2, past head 1's
  // deadline (t0 + read_timeout) but well within its own (t1 + read_timeout). Sleeps only pace
  // the client: an attempt whose sleeps overran so far that the timing does not hold is redone.
  const auto timeout = milliseconds(400);
  bool timing_held = false;
  for (int attempt = 0; attempt < 5 && !timing_held; ++attempt) {
    fa::Limits limits = short_limits();
    limits.read_timeout = timeout;
    OneClient one(limits);
    auto& [server, loop, running, p] = one;
    p->send("GET /1 HTTP/1.1\r\n");
    const auto t0 = SteadyClock::now();
    std::this_thread::sleep_for(milliseconds(250));
    p->send("\r\nGET /2 HTTP/1.1\r\n");
    const auto t1 = SteadyClock::now();
    std::this_thread::sleep_for(milliseconds(250));
    const auto t2 = SteadyClock::now();
    ::send(p->fd(), "\r\n", 2, MSG_NOSIGNAL);  // fails if the loop closed the connection already
    timing_held = t1 - t0 < timeout - milliseconds(100) && t2 - t1 < timeout - milliseconds(100) &&
                  t2 - t0 > timeout + milliseconds(50);
    const std::string got = p->recv_exact(reply("/1").size() + reply("/2").size());
    p->close();
    CHECK(running.returned());
    if (timing_held) CHECK(got == reply("/1") + reply("/2"));
  }
  CHECK(timing_held);
}

TEST_CASE("a client that does not read: its connection is writing, the loop serves others, every byte arrives") {
  // Small socket buffers and 1000-byte replies: the socket takes a few replies, then no more.
  const std::size_t size = 1000;
  FakeServer server(size);
  const fa::Limits limits = short_limits();
  fa::EventLoop loop(-1, limits, server.respond(), -1);
  Running running(loop);
  Pair slow(4096), other;
  const int slow_fd = slow.server;
  std::string requests, replies;
  for (int i = 0; i < 200; ++i) {
    requests += request("/" + std::to_string(i));
    replies += reply("/" + std::to_string(i), size);
  }
  slow->send(requests);
  loop.adopt(slow.server);
  loop.adopt(other.server);
  running.run_until_empty();

  REQUIRE(states_are(loop, {1, 0, 1, 0}));  // other idle, slow writing
  const std::size_t answered = server.count(slow_fd);
  CHECK(answered < 200);
  for (int i = 0; i < 3; ++i) {  // the loop is not stuck on the slow connection
    other->send(request("/other"));
    CHECK(other->recv_exact(reply("/other", size).size()) == reply("/other", size));
  }
  // Nothing more was answered on it meanwhile, and what it buffered beyond what the socket took
  // is at most the turn whose reply did not fit.
  CHECK(server.count(slow_fd) == answered);
  const std::size_t sent = slow->queued();
  CAPTURE(answered);
  CAPTURE(sent);
  CHECK(answered * size - sent <= limits.turn * size);
  CHECK(loop.counts()[fa::kWriting] == 1);

  CHECK(slow->recv_exact(replies.size()) == replies);  // now it reads: all of it, in order
  CHECK(states_are(loop, {2, 0, 0, 0}));
  slow->close();
  other->close();
  CHECK(running.returned());
}

TEST_CASE("a reply that makes no progress for write_timeout: the connection is closed") {
  const std::size_t size = 1000;
  FakeServer server(size);
  fa::Limits limits = short_limits();
  limits.write_timeout = milliseconds(100);
  fa::EventLoop loop(-1, limits, server.respond(), -1);
  Running running(loop);
  Pair slow(4096);
  std::string requests;
  for (int i = 0; i < 50; ++i) requests += request("/" + std::to_string(i));
  slow->send(requests);
  loop.adopt(slow.server);
  running.run_until_empty();
  CHECK(running.returned());  // closed: the only connection is gone
  std::string got;
  CHECK(slow->closed_by_server(&got));
  CHECK(got.size() < 50 * size);
}

TEST_CASE("stop() closes idle connections at once, answers a half-received head, and run() returns") {
  FakeServer server;
  fa::EventLoop loop(-1, short_limits(), server.respond(), -1);  // 30 s timeouts: none fires here
  Running running(loop);
  Pair idle, reading, answered;
  loop.adopt(idle.server);
  loop.adopt(reading.server);
  loop.adopt(answered.server);
  const int reading_fd = reading.server;
  running.run();
  answered->send(request("/before"));
  CHECK(answered->recv_exact(reply("/before").size()) == reply("/before"));
  reading->send("GET /late HTTP/1.1\r\nHost: a\r\n");
  REQUIRE(states_are(loop, {2, 1, 0, 0}));

  loop.stop();
  CHECK(idle->closed_by_server());
  CHECK(answered->closed_by_server());
  CHECK(states_are(loop, {0, 1, 0, 0}));
  CHECK_FALSE(reading->readable_now());  // still waiting for the rest of its head
  reading->send("\r\n");
  std::string got;
  CHECK(reading->closed_by_server(&got));
  CHECK(got == reply("/late"));  // its reply, then the end: the last one on it
  const auto answers = server.answers();
  REQUIRE(answers.size() == 2);
  CHECK(answers[1].fd == reading_fd);
  CHECK(answers[1].last);
  CHECK_FALSE(answers[0].last);
  CHECK(running.returned());
}

TEST_CASE("run() of a stopped loop with no connection returns, also when stop() came first") {
  FakeServer server;
  for (const bool stop_first : {false, true}) {
    CAPTURE(stop_first);
    fa::EventLoop loop(-1, short_limits(), server.respond(), -1);
    Running running(loop);
    if (stop_first) loop.stop();
    running.run();
    loop.stop();  // again, if stop_first: a second stop() changes nothing
    CHECK(running.returned());
  }
}

TEST_CASE("run_until_empty() returns at once with no connection, and once the last one is gone") {
  FakeServer server;
  fa::EventLoop loop(-1, short_limits(), server.respond(), -1);
  Running running(loop);
  loop.run_until_empty();
  Pair a, b;
  loop.adopt(a.server);
  loop.adopt(b.server);
  running.run_until_empty();
  a->send(request("/a"));
  CHECK(a->recv_exact(reply("/a").size()) == reply("/a"));
  a->close();
  CHECK(states_are(loop, {1, 0, 0, 0}));  // b is left: the loop runs on
  b->close();
  CHECK(running.returned());
}

TEST_CASE("a request asking to close: its reply, then the end of the connection") {
  OneClient one;
  auto& [server, loop, running, p] = one;
  p->send(request("/1") + request("/close") + request("/never"));
  std::string got;
  CHECK(p->closed_by_server(&got));
  CHECK(got == reply("/1") + reply("/close"));
  CHECK(running.returned());
  CHECK(server.answers().size() == 2);
}

TEST_CASE("keepalive_max_requests: the last allowed request is answered as last, over TCP with input left") {
  // The client sends more than the connection may take. The loop sends FIN after the last reply
  // and discards the rest (linger), so the replies are not destroyed by a reset.
  FakeServer server;
  fa::Limits limits = short_limits();
  limits.keepalive_max_requests = 3;
  int port = 0;
  const int listen_fd = fa::listen_on("127.0.0.1", 0, port);
  REQUIRE(listen_fd >= 0);
  fa::EventLoop loop(listen_fd, limits, server.respond(), -1);
  Running running(loop);
  running.run();

  Client c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(c.fd(), reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0);
  std::string requests;
  for (int i = 0; i < 5; ++i) requests += request("/" + std::to_string(i));
  c.send(requests + std::string(100'000, 'z'));
  std::string got;
  CHECK(c.closed_by_server(&got));
  CHECK(got == reply("/0") + reply("/1") + reply("/2"));
  const auto answers = server.answers();
  REQUIRE(answers.size() == 3);
  CHECK_FALSE(answers[1].last);
  CHECK(answers[2].last);
  CHECK(states_are(loop, {0, 0, 0, 0}));
  loop.stop();
  CHECK(running.returned());
  ::close(listen_fd);
}

TEST_CASE("loops sharing one listening socket: each connection is served by one loop, and stop() ends them") {
  int port = 0;
  const int listen_fd = fa::listen_on("127.0.0.1", 0, port);
  REQUIRE(listen_fd >= 0);
  FakeServer first, second;
  fa::EventLoop loop1(listen_fd, short_limits(), first.respond(), -1);
  fa::EventLoop loop2(listen_fd, short_limits(), second.respond(), -1);
  Running running1(loop1), running2(loop2);
  running1.run();
  running2.run();
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  constexpr int kClients = 20;
  for (int i = 0; i < kClients; ++i) {
    Client c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(::connect(c.fd(), reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0);
    const std::string path = "/" + std::to_string(i);
    c.send(request(path) + request(path));
    CHECK(c.recv_exact(2 * reply(path).size()) == reply(path) + reply(path));
  }
  CHECK(first.answers().size() + second.answers().size() == 2 * kClients);
  loop1.stop();
  loop2.stop();
  CHECK(running1.returned());
  CHECK(running2.returned());
  ::close(listen_fd);
}

TEST_CASE("the access log is written once the loop has nothing else to do, not when the loop ends") {
  int log[2];
  REQUIRE(::pipe(log) == 0);
  {
    OneClient one(short_limits(), log[1]);
    auto& [server, loop, running, p] = one;
    std::string requests, replies;
    for (int i = 0; i < 5; ++i) {
      requests += request("/" + std::to_string(i));
      replies += reply("/" + std::to_string(i));
    }
    p->send(requests);
    CHECK(p->recv_exact(replies.size()) == replies);
    // The connection stays open (30 s keep-alive): the lines come from the idle loop.
    std::string text;
    const auto until = SteadyClock::now() + kPatience;
    while (std::count(text.begin(), text.end(), '\n') < 5 && SteadyClock::now() < until) {
      pollfd readable{log[0], POLLIN, 0};
      if (::poll(&readable, 1, 100) != 1) continue;
      char buf[4096];
      const ssize_t n = ::read(log[0], buf, sizeof buf);
      REQUIRE(n > 0);
      text.append(buf, static_cast<std::size_t>(n));
    }
    CHECK(std::count(text.begin(), text.end(), '\n') == 5);
    CHECK(loop.counts()[fa::kIdle] == 1);
    p->close();
    CHECK(running.returned());
  }
  ::close(log[0]);
  ::close(log[1]);
}

TEST_CASE("discarding unread bodies takes a bounded share of each event: a neighbour is answered while they wait") {
  // Three clients have sent a request and a large body, which the loop discards after the last
  // reply; a fourth has sent a plain request. All four are ready in the same pass, the streamers
  // first. When the neighbour is answered, each streamer's body must still be largely unread.
  FakeServer server;
  fa::Limits limits = short_limits();
  limits.keepalive_max_requests = 1;  // every reply is the last: "/body" lingers, discarding
  fa::EventLoop loop{-1, limits, server.respond(), -1};
  constexpr std::size_t kBody = 2 * fa::EventLoop::kDiscardPerEvent;
  std::vector<std::unique_ptr<Pair>> streamers;
  for (int i = 0; i < 3; ++i) {
    streamers.push_back(std::make_unique<Pair>());
    (*streamers.back())->send(request("/body") + std::string(kBody, 'b'));
  }
  Pair neighbour;
  neighbour->send(request("/neighbour"));
  std::vector<int> unread_when_answered;
  server.on_answer = [&](const Answer& answer) {
    if (answer.path != "/neighbour") return;
    for (const auto& s : streamers) {
      int unread = 0;
      ::ioctl(s->server, FIONREAD, &unread);
      unread_when_answered.push_back(unread);
      (*s)->close();  // the streamers are done: the loop ends once it has discarded the rest
    }
  };
  for (const auto& s : streamers) loop.adopt(s->server);
  loop.adopt(neighbour.server);
  neighbour->shutdown_write();
  loop.run_until_empty();

  REQUIRE(unread_when_answered.size() == 3);
  for (const int unread : unread_when_answered) {
    CAPTURE(unread);
    CHECK(static_cast<std::size_t>(unread) >=
          kBody - fa::EventLoop::kDiscardPerEvent - fa::EventLoop::kDiscardChunk - 4096);
  }
}
