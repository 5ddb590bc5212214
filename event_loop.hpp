// One event loop: a thread with its own epoll set, serving the connections it accepted for their
// whole life. A request is answered on the loop that read it, as soon as its whole head is
// buffered; replies are sent without blocking, and one the socket cannot take at once waits for
// EPOLLOUT while the loop serves the others. Every loop shares the one listening socket
// (EPOLLEXCLUSIVE: a new connection wakes one loop, not all of them; never SO_REUSEPORT).
//
// A connection is always in one state, and each state has its timeout (Limits):
//   idle     between requests, no byte of the next one yet    keepalive_timeout, then closed
//   reading  part of a request head buffered                  read_timeout from that head's
//                                                               first byte, then closed
//   writing  a reply the socket did not take yet                write_timeout without progress
//   closing  reply sent, FIN sent, unread input discarded       linger (see close_after_reply)
// Those deadlines live in a Deadlines (deadlines.hpp): nothing scans every connection.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "access_log.hpp"
#include "connection_stream.hpp"
#include "deadlines.hpp"

namespace favorite_athlete {

using std::chrono::milliseconds;

struct Limits {
  std::size_t loops = 1;                 // event loops (threads)
  milliseconds keepalive_timeout{5000};  // idle between requests
  milliseconds read_timeout{5000};       // for a whole request head, from its first byte
  milliseconds write_timeout{5000};      // a reply making no progress
  milliseconds linger{1000};             // discarding unread input after a last reply
  std::size_t keepalive_max_requests = 1000;
  std::size_t max_head_bytes = 16 * 1024;  // request line + headers
  // Pipelined requests answered in a row before the other connections get their turn.
  std::size_t turn = 16;
};

// What answering one request decided about its connection.
struct Answered {
  bool keep_open = true;    // false: close after this reply
  bool input_left = false;  // the request announced a body (never read): linger on close
};

// Answers the request buffered in strm (a whole head, head_ready) by appending the reply to it.
// last: the connection closes after this reply whatever the request says.
using Respond = std::function<Answered(ConnectionStream& strm, bool last, AccessLog& log)>;

// Connection states, also the kinds of deadline (the order of Limits' timeouts in EventLoop()).
enum State : std::size_t { kIdle, kReading, kWriting, kClosing, kClosed, kStates };
inline constexpr std::array<const char*, kClosed> kStateNames = {"idle", "reading", "writing", "closing"};
// Open connections in each state of kStateNames.
using ConnectionCounts = std::array<std::size_t, kStateNames.size()>;

class EventLoop {
 public:
  // listen_fd: a non-blocking listening socket shared with the other loops, or -1 (adopt() only).
  // log_fd: where the access log goes, or -1 for none.
  EventLoop(int listen_fd, const Limits& limits, Respond respond, int log_fd)
      : listen_fd_(listen_fd),
        limits_(limits),
        respond_(std::move(respond)),
        log_(log_fd),
        deadlines_({limits.keepalive_timeout, limits.read_timeout, limits.write_timeout, limits.linger,
                    std::chrono::hours(24 * 365)}),
        epoll_(::epoll_create1(EPOLL_CLOEXEC)),
        wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (epoll_ < 0 || wake_ < 0) throw std::system_error(errno, std::generic_category(), "epoll/eventfd");
    watch(wake_, EPOLLIN, &wake_);
    if (listen_fd_ >= 0) watch(listen_fd_, EPOLLIN | EPOLLEXCLUSIVE, &listen_fd_);
  }
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop() {
    ::close(wake_);
    ::close(epoll_);
  }

  // Serves until stop() was called and its last connection is gone.
  void run() { loop(false); }
  // Serves until no connection is left (tests and the fuzzer: adopt(), then this).
  void run_until_empty() { loop(true); }

  // Stops accepting and closes idle connections; the others get their reply (the last one on
  // their connection) or reach their deadline. Any thread.
  void stop() {
    stopping_.store(true);
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
  }

  // Serves an accepted, connected socket from now on (owned by the loop from here).
  void adopt(int fd) {
    int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    auto [remote_ip, remote_port] = address(fd, ::getpeername);
    auto [local_ip, local_port] = address(fd, ::getsockname);
    auto conn = std::make_unique<Connection>(fd, limits_.max_head_bytes, std::move(remote_ip), remote_port,
                                             std::move(local_ip), local_port);
    Connection& c = *conn;
    c.deadline = deadlines_.add(std::move(conn), kIdle, Clock::now());
    c.events = EPOLLIN | EPOLLRDHUP;
    epoll_event ev{};
    ev.events = c.events;
    ev.data.ptr = &c;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) deadlines_.remove(c.deadline);  // closes it
  }

  // Connections in each state, as of the loop's last turn (read by the metrics port's thread).
  ConnectionCounts counts() const {
    ConnectionCounts out{};
    for (std::size_t s = 0; s < out.size(); ++s) out[s] = counts_[s].load(std::memory_order_relaxed);
    return out;
  }

 private:
  struct Connection {
    Connection(int sock, std::size_t max_head, std::string rip, int rport, std::string lip, int lport)
        : fd(sock), strm(sock, max_head, std::move(rip), rport, std::move(lip), lport) {}
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() {
      if (fd >= 0) ::close(fd);
    }
    // Its entry in the loop's deadlines; the entry's kind is the connection's state.
    Deadlines<std::unique_ptr<Connection>, kStates>::Handle deadline;
    int fd;                          // -1 once closed
    ConnectionStream strm;           // read-ahead input and unsent replies
    std::size_t served = 0;          // requests answered on it
    std::uint32_t events = 0;        // its epoll interest
    bool close_after_reply = false;  // the reply being sent is its last
    bool input_left = false;         // that last request left input unread (a body)
    bool pending = false;            // a whole head is buffered, waiting for its next turn
  };

  static std::pair<std::string, int> address(int fd, int (*get)(int, sockaddr*, socklen_t*)) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "";
    if (get(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {"", 0};
    if (ss.ss_family == AF_INET) {
      const auto* sa = reinterpret_cast<const sockaddr_in*>(&ss);
      ::inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof ip);
      return {ip, ntohs(sa->sin_port)};
    }
    if (ss.ss_family == AF_INET6) {
      const auto* sa = reinterpret_cast<const sockaddr_in6*>(&ss);
      ::inet_ntop(AF_INET6, &sa->sin6_addr, ip, sizeof ip);
      return {ip, ntohs(sa->sin6_port)};
    }
    return {"", 0};  // a socketpair (tests, fuzzer)
  }

  void watch(int fd, std::uint32_t events, void* tag) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = tag;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      throw std::system_error(errno, std::generic_category(), "epoll_ctl");
    }
  }

  void want(Connection& c, std::uint32_t events) {
    if (c.events == events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = &c;
    ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
    c.events = events;
  }

  using Handle = Deadlines<std::unique_ptr<Connection>, kStates>::Handle;
  static Connection& connection(Handle h) { return *Deadlines<std::unique_ptr<Connection>, kStates>::value(h); }

  State state(const Connection& c) const { return static_cast<State>(deadlines_.kind(c.deadline)); }
  void enter(Connection& c, State s, Clock::time_point now) { deadlines_.arm(c.deadline, s, now); }

  void loop(bool until_empty) {
    std::array<epoll_event, 256> events{};
    for (;;) {
      if (stopping_.load(std::memory_order_relaxed) && !stopped_) stop_accepting();
      for (std::size_t s = 0; s < counts_.size(); ++s) {  // as they are while the loop waits
        counts_[s].store(deadlines_.count(s), std::memory_order_relaxed);
      }
      if ((stopped_ || until_empty) && live() == 0) break;
      int timeout = pending_.empty() ? wait_ms(Clock::now()) : 0;
      int n = 0;
      if (timeout != 0 && log_.due()) {
        // Lines are collected and there is nothing to do. Under load, the next request is a few
        // microseconds away; a loop with nothing to do for kIdleMs is idle: its lines are written.
        n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), kIdleMs);
        if (n == 0) log_.flush();
      }
      if (n == 0) n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), timeout);
      if (n < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "epoll_wait");
      for (int i = 0; i < n; ++i) dispatch(events[static_cast<std::size_t>(i)]);
      take_turns();
      const auto now = Clock::now();
      expire(now);
      if (const auto due = log_.due(); due && *due <= now) log_.flush();
      reap();
    }
    log_.flush();
  }

  static constexpr int kIdleMs = 1;  // a loop with nothing to do for this long is idle

  // Milliseconds until the next deadline (or log write, or accept retry); -1: none.
  int wait_ms(Clock::time_point now) const {
    auto next = deadlines_.next();
    if (const auto due = log_.due(); due && (!next || *due < *next)) next = due;
    if (accept_paused_ && (!next || resume_accept_ < *next)) next = resume_accept_;
    if (!next) return -1;
    const auto ms = std::chrono::duration_cast<milliseconds>(*next - now).count() + 1;
    return static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
  }

  std::size_t live() const { return deadlines_.size() - deadlines_.count(kClosed); }

  void dispatch(const epoll_event& ev) {
    if (ev.data.ptr == &wake_) {
      std::uint64_t count;
      [[maybe_unused]] auto n = ::read(wake_, &count, sizeof count);
    } else if (ev.data.ptr == &listen_fd_) {
      accept_some();
    } else {
      auto& c = *static_cast<Connection*>(ev.data.ptr);
      if (ev.events & EPOLLERR) return close_now(c);
      drive(c);
    }
  }

  void accept_some() {
    for (int i = 0; i < 16; ++i) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        adopt(fd);
        continue;
      }
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of fds: accepting again at once would spin. Let the others close first.
        ::epoll_ctl(epoll_, EPOLL_CTL_DEL, listen_fd_, nullptr);
        accept_paused_ = true;
        resume_accept_ = Clock::now() + milliseconds(100);
      }
      return;  // EAGAIN (another loop took it), or the client gave up (ECONNABORTED)
    }
  }

  void stop_accepting() {
    stopped_ = true;
    if (listen_fd_ >= 0 && !accept_paused_) ::epoll_ctl(epoll_, EPOLL_CTL_DEL, listen_fd_, nullptr);
    accept_paused_ = false;
    while (auto h = deadlines_.first(kIdle)) close_now(connection(*h));
  }

  // Does what the connection's state and buffers allow now, without waiting.
  void drive(Connection& c) {
    if (c.pending) return;  // its next turn is queued already (take_turns), readable or not
    const auto now = Clock::now();
    switch (state(c)) {
      case kClosing: return discard_input(c);
      case kClosed: return;
      case kWriting:
        if (!send_replies(c, now)) return;
        if (c.close_after_reply) return close_after_reply(c, now);
        break;
      default: break;
    }
    answer_buffered(c, now);
  }

  // Reads what has arrived and answers each whole request head buffered, up to a turn's worth.
  void answer_buffered(Connection& c, Clock::time_point now) {
    auto& strm = c.strm;
    c.pending = false;
    bool may_read = true;    // until a read finds the socket empty: then only the next event
    bool turn_over = false;  // whole heads are left for its next turn
    std::size_t answered = 0;
    for (;;) {
      while (!strm.head_ready() && may_read) {
        may_read = strm.fill() == ConnectionStream::Io::Done && !strm.drained();
      }
      if (!strm.head_ready()) break;                     // not a whole head yet: the next readiness event
      if (strm.at_eof() && !strm.has_buffered()) break;  // the client closed between requests
      if (answered == limits_.turn) {                    // others wait: the rest of the pipeline in its next turn
        turn_over = true;
        break;
      }
      const bool last = c.served + 1 >= limits_.keepalive_max_requests || stopped_;
      const std::size_t before = strm.buffered();
      const Answered a = respond_(strm, last, log_);
      ++c.served;
      ++answered;
      // A request that consumed nothing would be answered again and again: close instead.
      if (last || !a.keep_open || strm.buffered() == before) {
        c.close_after_reply = true;
        c.input_left = a.input_left;
        break;
      }
    }
    if (!send_replies(c, now)) return;  // the rest once this is sent (EPOLLOUT), not by turn
    if (turn_over) {
      c.pending = true;
      pending_.push_back(&c);
    }
    if (c.close_after_reply) return close_after_reply(c, now);
    if (strm.at_eof() && !strm.has_buffered()) return close_now(c);  // the client is done
    if (!strm.has_buffered()) {
      if (stopped_) return close_now(c);
      return enter(c, kIdle, now);
    }
    // The head's first byte: now. Also after requests answered just now: what is left begins a
    // new head, whose read timeout counts from its own first byte.
    if (state(c) != kReading || answered > 0) enter(c, kReading, now);
  }

  // Sends what replies are left. False if the connection cannot go on now (it waits for
  // EPOLLOUT, or it was closed).
  bool send_replies(Connection& c, Clock::time_point now) {
    if (!c.strm.has_output()) return true;
    switch (c.strm.flush()) {
      case ConnectionStream::Io::Done: want(c, EPOLLIN | EPOLLRDHUP); return true;
      case ConnectionStream::Io::Again:
        enter(c, kWriting, now);  // re-armed on each EPOLLOUT: the timeout is for no progress
        want(c, EPOLLOUT);        // no more input is read (nor answered) until the reply is out
        return false;
      case ConnectionStream::Io::Closed: close_now(c); return false;
    }
    return false;
  }

  // After a last reply. Closing a socket with unread input makes the kernel send RST, which can
  // destroy the reply before the client reads it. So when input is left (an unread body, a
  // pipelined request), send FIN first and discard input, unparsed, until the client closes or
  // for linger at most.
  void close_after_reply(Connection& c, Clock::time_point now) {
    int unread = 0;
    if (!c.input_left && !c.strm.has_buffered() && !(::ioctl(c.fd, FIONREAD, &unread) == 0 && unread > 0)) {
      return close_now(c);
    }
    ::shutdown(c.fd, SHUT_WR);
    enter(c, kClosing, now);
    want(c, EPOLLIN | EPOLLRDHUP);
    discard_input(c);
  }

  void discard_input(Connection& c) {
    std::array<char, 16384> sink;
    for (;;) {
      const ssize_t n = ::recv(c.fd, sink.data(), sink.size(), 0);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      return close_now(c);  // the client closed too
    }
  }

  void close_now(Connection& c) {
    if (c.fd < 0) return;
    ::close(c.fd);  // also leaves the epoll set
    c.fd = -1;
    if (c.pending) pending_.erase(std::find(pending_.begin(), pending_.end(), &c));
    c.pending = false;
    enter(c, kClosed, Clock::now());  // destroyed by reap(), once nothing refers to it
  }

  void reap() {
    while (auto h = deadlines_.first(kClosed)) deadlines_.remove(*h);
  }

  void take_turns() {
    std::vector<Connection*> turn;
    turn.swap(pending_);
    for (Connection* c : turn) {
      if (c->pending && c->fd >= 0) answer_buffered(*c, Clock::now());
    }
  }

  void expire(Clock::time_point now) {
    while (auto h = deadlines_.due_at(now)) {
      Connection& c = connection(*h);
      // A pending connection is due for its turn, not its deadline; the others close.
      if (c.pending) enter(c, state(c), now);
      else close_now(c);
    }
    if (accept_paused_ && !stopped_ && resume_accept_ <= now) {
      accept_paused_ = false;
      watch(listen_fd_, EPOLLIN | EPOLLEXCLUSIVE, &listen_fd_);
    }
  }

  int listen_fd_;
  const Limits limits_;
  const Respond respond_;
  AccessLog log_;                                              // this loop's batch of access log lines
  Deadlines<std::unique_ptr<Connection>, kStates> deadlines_;  // owns the connections
  std::vector<Connection*> pending_;                           // whole heads buffered, answered on the next turn
  const int epoll_;
  int wake_;                           // eventfd: stop() wakes the loop
  std::atomic<bool> stopping_{false};  // stop() was called
  bool stopped_ = false;               // the loop has stopped accepting
  bool accept_paused_ = false;         // out of fds: accepting again at resume_accept_
  Clock::time_point resume_accept_{};
  std::array<std::atomic<std::size_t>, kStateNames.size()> counts_{};  // connections per state, for metrics
};

}  // namespace favorite_athlete
