// What the unit tests of event_loop.hpp share (test_event_loop_*.cpp, one per topic): clients,
// socketpairs, a fake Respond and a loop on a thread of its own. The fake Respond answers each
// head with a small fixed reply ("R <path>\n"), so nothing here depends on cpp-httplib's parser.
// Timeouts are short (tens to hundreds of ms) and only ever bound how long a test may take: what
// is asserted is what the loop did, never that it was fast.
#pragma once

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

namespace event_loop_test {

inline constexpr auto kPatience = seconds(5);  // the longest any test waits for anything

// Polls pred until it holds, for kPatience at most.
template <typename Pred>
inline bool eventually(Pred pred) {
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

inline std::string request(std::string_view path, std::size_t size = 0) {
  std::string r = "GET " + std::string(path) + " HTTP/1.1\r\n";
  if (size > r.size() + 6) r += "X: " + std::string(size - r.size() - 7, 'x') + "\r\n";
  return r + "\r\n";
}

// The fake server's reply to path: "R <path>" padded with dots to size, and a line end.
inline std::string reply(std::string_view path, std::size_t size = 0) {
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

inline fa::Limits short_limits() {
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

inline bool states_are(const fa::EventLoop& loop, fa::ConnectionCounts want) {
  return eventually([&] { return loop.counts() == want; });
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

}  // namespace event_loop_test
