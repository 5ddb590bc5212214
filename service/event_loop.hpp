// One event loop: a thread with its own epoll set, serving the connections it accepted for their
// whole life. A request is answered on the loop that read it, as soon as its whole head is
// buffered; replies are sent without blocking, and one the socket cannot take at once waits for
// EPOLLOUT while the loop serves the others. Every loop shares the one listening socket
// (EPOLLEXCLUSIVE: a new connection wakes one loop, not all of them; never SO_REUSEPORT).
//
// Its connections, their states and every transition: connection.hpp.
#pragma once

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
#include <cstdlib>
#include <functional>
#include <list>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "service/access_log.hpp"
#include "service/connection.hpp"

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

// Answers the request buffered in strm (a whole head, head_ready) by appending the reply to it.
// last: the connection closes after this reply whatever the request says.
using Respond = std::function<Answered(ConnectionStream& strm, bool last, AccessLog& log)>;

class EventLoop {
 public:
  static constexpr std::size_t kMaxEvents = 256;              // epoll events taken per wait
  static constexpr int kAcceptsPerEvent = 16;                 // then the connections get their turn
  static constexpr milliseconds kAcceptRetry{100};            // out of fds: accept again after this
  static constexpr milliseconds kIdleAfter{1};                // nothing to do for this long: idle
  static constexpr milliseconds kLongestWait{60'000};         // epoll_wait's, with nothing due
  static constexpr std::size_t kDiscardPerEvent = 64 * 1024;  // unread input dropped per event
  static constexpr std::size_t kDiscardChunk = 16 * 1024;     // ... per recv()

  // listen_fd: a non-blocking listening socket shared with the other loops, or -1 (adopt() only).
  // log_fd: where the access log goes, or -1 for none.
  EventLoop(int listen_fd, const Limits& limits, Respond respond, int log_fd)
      : listen_fd_(listen_fd),
        limits_(limits),
        respond_(std::move(respond)),
        log_(log_fd),
        deadlines_({limits.keepalive_timeout, limits.read_timeout, limits.write_timeout, limits.linger}),
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
    Connection& c = connections_.emplace_back(fd, limits_.max_head_bytes);
    c.self = std::prev(connections_.end());
    c.timer = deadlines_.add(&c, kIdle, Clock::now());
    c.events = EPOLLIN | EPOLLRDHUP;
    epoll_event ev{};
    ev.events = c.events;
    ev.data.ptr = &c;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) close_now(c);
  }

  // Connections in each state, as of the loop's last turn (read by the metrics port's thread).
  ConnectionCounts counts() const {
    ConnectionCounts out{};
    for (std::size_t s = 0; s < out.size(); ++s) out[s] = counts_[s].load(std::memory_order_relaxed);
    return out;
  }

 private:
  using Timers = ConnectionTimers;

  // How a connection's turn ended (answer_turn).
  enum class TurnEnd { kNoWholeHead, kTurnOver, kLastReply };
  struct Turn {
    TurnEnd end;
    std::size_t answered;
  };

  // --- the loop: its phases, in the order they run ---------------------------------------------
  void loop(bool until_empty) {
    std::array<epoll_event, kMaxEvents> events{};
    for (;;) {
      if (stopping_.load(std::memory_order_relaxed) && !stopped_) stop_accepting();
      publish_counts();
      if ((stopped_ || until_empty) && deadlines_.size() == 0) break;  // no open connection
      const int n = wait_for_events(events);
      for (int i = 0; i < n; ++i) dispatch(events[static_cast<std::size_t>(i)]);
      take_turns();
      const auto now = Clock::now();
      expire(now);
      resume_accepting(now);
      if (const auto due = log_.due(); due && *due <= now) log_.flush();
      reap();
      check_invariants();
    }
    log_.flush();
  }

  // Connection counts as they are while the loop waits, for the metrics port.
  void publish_counts() {
    for (std::size_t s = 0; s < counts_.size(); ++s) counts_[s].store(deadlines_.count(s), std::memory_order_relaxed);
  }

  // Waits for events until the next deadline; at once if turns are queued. A loop with access log
  // lines collected and nothing to do for kIdleAfter is idle: its lines are written then (under
  // load, the next request is a few microseconds away, and the lines wait for a fuller batch).
  int wait_for_events(std::array<epoll_event, kMaxEvents>& events) {
    const int timeout = turns_.empty() ? wait_ms(Clock::now()) : 0;
    int n = 0;
    if (timeout != 0 && log_.due()) {
      n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), static_cast<int>(kIdleAfter.count()));
      if (n == 0) log_.flush();
    }
    if (n == 0) n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), timeout);
    if (n < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "epoll_wait");
    return std::max(n, 0);
  }

  // Milliseconds until the next deadline (or log write, or accept retry); -1: none.
  int wait_ms(Clock::time_point now) const {
    auto next = deadlines_.next();
    if (const auto due = log_.due(); due && (!next || *due < *next)) next = due;
    if (accept_paused_ && (!next || resume_accept_ < *next)) next = resume_accept_;
    if (!next) return -1;
    const auto ms = std::chrono::duration_cast<milliseconds>(*next - now).count() + 1;
    return static_cast<int>(std::clamp<long long>(ms, 0, kLongestWait.count()));
  }

  void dispatch(const epoll_event& ev) {
    if (ev.data.ptr == &wake_) {
      std::uint64_t count;
      [[maybe_unused]] auto n = ::read(wake_, &count, sizeof count);
    } else if (ev.data.ptr == &listen_fd_) {
      accept_some();
    } else {
      auto& c = *static_cast<Connection*>(ev.data.ptr);
      if (ev.events & EPOLLERR) return close_now(c);
      on_ready(c, Clock::now());
    }
  }

  // Queued turns, in the order they were queued; each turn may queue the next.
  void take_turns() {
    taking_.swap(turns_);
    for (Connection* c : taking_) c->turn_queued = false;  // none is in turns_ now
    for (Connection* c : taking_) {
      if (c->state == kReading) serve(*c, Clock::now());  // else closed meanwhile
    }
    taking_.clear();
  }

  void expire(Clock::time_point now) {
    while (auto h = deadlines_.due_at(now)) {
      Connection& c = *Timers::value(*h);
      // A queued connection is due for its turn, not its deadline; the others close.
      if (c.turn_queued) enter(c, c.state, now);
      else close_now(c);
    }
  }

  void resume_accepting(Clock::time_point now) {
    if (!accept_paused_ || stopped_ || resume_accept_ > now) return;
    accept_paused_ = false;
    watch(listen_fd_, EPOLLIN | EPOLLEXCLUSIVE, &listen_fd_);
  }

  // Closed connections are destroyed here, once no event or turn of this pass refers to them.
  void reap() {
    for (Connection* c : closed_) connections_.erase(c->self);
    closed_.clear();
  }

  // --- accepting --------------------------------------------------------------------------------
  void accept_some() {
    for (int i = 0; i < kAcceptsPerEvent; ++i) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        adopt(fd);
        continue;
      }
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of fds: accepting again at once would spin. Let the others close first.
        ::epoll_ctl(epoll_, EPOLL_CTL_DEL, listen_fd_, nullptr);
        accept_paused_ = true;
        resume_accept_ = Clock::now() + kAcceptRetry;
      }
      return;  // EAGAIN (another loop took it), or the client gave up (ECONNABORTED)
    }
  }

  void stop_accepting() {
    stopped_ = true;
    if (listen_fd_ >= 0 && !accept_paused_) ::epoll_ctl(epoll_, EPOLL_CTL_DEL, listen_fd_, nullptr);
    accept_paused_ = false;
    while (auto h = deadlines_.first(kIdle)) close_now(*Timers::value(*h));
  }

  // --- a connection's steps, in the order they run ----------------------------------------------
  // Its socket is ready: what its state allows now, without waiting.
  void on_ready(Connection& c, Clock::time_point now) {
    switch (c.state) {
      case kClosing: return discard_input(c);
      case kClosed: return;
      case kWriting:
        if (!send_replies(c, now)) return;
        if (c.last_reply) return close_after_last_reply(c, now);
        break;
      case kReading:
        if (c.turn_queued) return;  // answered in take_turns, readable or not
        break;
      case kIdle: break;
    }
    serve(c, now);
  }

  // One turn: answer what is buffered (reading more as needed), send the replies, settle.
  void serve(Connection& c, Clock::time_point now) {
    const Turn turn = answer_turn(c);
    if (!send_replies(c, now)) return;  // the rest after EPOLLOUT, not by turn
    settle(c, turn, now);
  }

  // Reads what has arrived and answers each whole request head buffered, up to a turn's worth.
  Turn answer_turn(Connection& c) {
    auto& strm = c.strm;
    bool may_read = true;  // until a read finds the socket empty: then only at the next event
    for (std::size_t answered = 0;; ++answered) {
      bool ready = strm.head_ready();  // a search of the buffer: once per read, not per question
      while (!ready && may_read) {
        may_read = strm.fill() == ConnectionStream::Io::Done && !strm.drained();
        ready = strm.head_ready();
      }
      if (!ready || (strm.at_eof() && !strm.has_buffered())) return {TurnEnd::kNoWholeHead, answered};
      if (answered == limits_.turn) return {TurnEnd::kTurnOver, answered};  // the others' turn first
      const bool last = c.served + 1 >= limits_.keepalive_max_requests || stopped_;
      const std::size_t before = strm.buffered();
      const Answered a = respond_(strm, last, log_);
      ++c.served;
      // A request that consumed nothing would be answered again and again: it is the last too.
      if (last || !a.keep_open || strm.buffered() == before) {
        c.last_reply = true;
        c.input_left = a.input_left;
        return {TurnEnd::kLastReply, answered + 1};
      }
    }
  }

  // Sends what replies are left. False if the connection cannot go on now (writing: it waits for
  // EPOLLOUT, and no more of its input is read; or closed).
  bool send_replies(Connection& c, Clock::time_point now) {
    if (!c.strm.has_output()) return true;
    switch (c.strm.flush()) {
      case ConnectionStream::Io::Done: want(c, EPOLLIN | EPOLLRDHUP); return true;
      case ConnectionStream::Io::Again:
        enter(c, kWriting, now);  // re-armed on each EPOLLOUT: the timeout is for no progress
        want(c, EPOLLOUT);
        return false;
      case ConnectionStream::Io::Closed: close_now(c); return false;
    }
    return false;
  }

  // The state after a turn whose replies are all sent.
  void settle(Connection& c, const Turn& turn, Clock::time_point now) {
    auto& strm = c.strm;
    switch (turn.end) {
      case TurnEnd::kLastReply: return close_after_last_reply(c, now);
      case TurnEnd::kTurnOver:
        enter(c, kReading, now);
        c.turn_queued = true;
        turns_.push_back(&c);
        return;
      case TurnEnd::kNoWholeHead: break;
    }
    if (strm.at_eof() && !strm.has_buffered()) return close_now(c);  // the client is done
    if (!strm.has_buffered()) {
      if (stopped_) return close_now(c);
      return enter(c, kIdle, now);
    }
    // Part of a head: its read timeout counts from its first byte, which is now unless this
    // connection was reading it already (a head answered just now begins a new one).
    if (c.state != kReading || turn.answered > 0) enter(c, kReading, now);
  }

  // After a last reply. Closing a socket with unread input makes the kernel send RST, which can
  // destroy the reply before the client reads it. So when input is left (an unread body, a
  // pipelined request), send FIN first and discard input, unparsed, until the client closes or
  // for linger at most.
  void close_after_last_reply(Connection& c, Clock::time_point now) {
    int unread = 0;
    if (!c.input_left && !c.strm.has_buffered() && !(::ioctl(c.fd, FIONREAD, &unread) == 0 && unread > 0)) {
      return close_now(c);
    }
    ::shutdown(c.fd, SHUT_WR);
    enter(c, kClosing, now);
    want(c, EPOLLIN | EPOLLRDHUP);
    discard_input(c);
  }

  // At most kDiscardPerEvent per readiness event, so a client streaming a body cannot hold the
  // loop: epoll is level-triggered, so the rest is reported again after the others' turn.
  void discard_input(Connection& c) {
    std::array<char, kDiscardChunk> sink;
    for (std::size_t taken = 0; taken < kDiscardPerEvent;) {
      const ssize_t n = ::recv(c.fd, sink.data(), sink.size(), 0);
      if (n > 0) {
        taken += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;
      } else {
        return close_now(c);  // the client closed too
      }
    }
  }

  // --- state changes -----------------------------------------------------------------------------
  // Into an open state, its deadline armed from now.
  void enter(Connection& c, State s, Clock::time_point now) {
    deadlines_.arm(c.timer, s, now);
    c.state = s;
  }

  void close_now(Connection& c) {
    if (c.state == kClosed) return;
    ::close(c.fd);  // also leaves the epoll set
    c.fd = -1;
    if (c.turn_queued) {
      turns_.erase(std::remove(turns_.begin(), turns_.end(), &c), turns_.end());
      c.turn_queued = false;
    }
    deadlines_.remove(c.timer);
    c.state = kClosed;
    closed_.push_back(&c);
  }

  // The invariants above, checked after every pass in the test, fuzz and sanitizer builds.
  void check_invariants() const {
#ifdef FAVORITE_ATHLETE_CHECK_INVARIANTS
    std::size_t queued = 0, open = 0;
    for (const Connection& c : connections_) {
      if (c.state != kClosed && Timers::kind(c.timer) != c.state) std::abort();
      if (c.turn_queued && c.state != kReading) std::abort();
      open += c.state != kClosed;
      queued += c.turn_queued;
    }
    if (queued != turns_.size() || open != deadlines_.size()) std::abort();
    for (const Connection* c : turns_) {
      if (!c->turn_queued) std::abort();
    }
#endif
  }

  // --- epoll and addresses -------------------------------------------------------------------------
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

  int listen_fd_;
  const Limits limits_;
  const Respond respond_;
  AccessLog log_;                      // this loop's batch of access log lines
  std::list<Connection> connections_;  // every connection of this loop, until reaped
  Timers deadlines_;                   // the open connections' deadlines (not owned)
  std::vector<Connection*> turns_;     // queued turns (turn_queued), in order
  std::vector<Connection*> taking_;    // the turns take_turns() is taking
  std::vector<Connection*> closed_;    // closed this pass, destroyed by reap()
  const int epoll_;
  int wake_;                           // eventfd: stop() wakes the loop
  std::atomic<bool> stopping_{false};  // stop() was called
  bool stopped_ = false;               // the loop has stopped accepting
  bool accept_paused_ = false;         // out of fds: accepting again at resume_accept_
  Clock::time_point resume_accept_{};
  std::array<std::atomic<std::size_t>, kStateNames.size()> counts_{};  // connections per state, for metrics
};

}  // namespace favorite_athlete
