// A connection of an event loop (event_loop.hpp): its socket, its buffered bytes, its state.
//
// A connection is always in one state (Connection::state), each with its timeout (Limits):
//   idle     between requests, no byte of the next one yet    keepalive_timeout
//   reading  part of a request head buffered, or whole heads   read_timeout from that head's
//            waiting for their turn (turn_queued)               first byte
//   writing  a reply the socket did not take yet                write_timeout without progress
//   closing  last reply sent, FIN sent, unread input discarded  linger
//   closed   socket closed; destroyed in the loop's reap phase
//
// Every transition, each made in one place (the EventLoop function named):
//   from                 event                                               to
//   (accepted)           adopt()                                             idle
//   idle, reading        input, no whole head yet (settle)                   reading
//   idle, reading        a turn answered, all sent, nothing left (settle)    idle
//   idle, reading        a turn's worth answered, more heads in (settle)     reading, turn_queued
//   reading+turn_queued  its turn (take_turns)                               as from reading
//   idle, reading        replies the socket did not take (send_replies)      writing
//   writing              EPOLLOUT, all sent (on_ready)                       as after a turn
//   idle, reading,       the last reply sent (close_after_last_reply):
//     writing              input left unread                                 closing
//                          none                                              closed
//   closing              the client's FIN (discard_input)                    closed
//   idle                 stop() (stop_accepting)                             closed
//   any open             its timeout (expire); EPOLLERR, reset or the        closed
//                        client's FIN between requests (close_now)
// A reply that says "Connection: close" is always the last (Answered::keep_open is false): nothing
// after it is answered, whatever arrived behind it.
// Invariant: turn_queued <=> the connection is in its loop's turns_ (then its state is reading).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <list>
#include <string>
#include <utility>

#include "service/connection_stream.hpp"
#include "service/deadlines.hpp"

namespace favorite_athlete {

// Connection states. The open ones come first: they are also the kinds of deadline.
enum State : std::size_t { kIdle, kReading, kWriting, kClosing, kClosed };
inline constexpr std::array<const char*, kClosed> kStateNames = {"idle", "reading", "writing", "closing"};
// Open connections in each state of kStateNames.
using ConnectionCounts = std::array<std::size_t, kStateNames.size()>;

// What answering one request decided about its connection.
struct Answered {
  bool keep_open = true;    // false: this reply is the last (it says Connection: close)
  bool input_left = false;  // the request announced a body (never read): linger on close
};

struct Connection;
using ConnectionTimers = Deadlines<Connection*, kClosed>;  // the open states are the kinds of deadline

struct Connection {
  // sock: accepted and connected, owned from here.
  Connection(int sock, std::size_t max_head)
      : Connection(sock, max_head, address(sock, ::getpeername), address(sock, ::getsockname)) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (fd >= 0) ::close(fd);
  }
  int fd;                 // -1 once closed
  ConnectionStream strm;  // read-ahead input and unsent replies
  State state = kIdle;
  ConnectionTimers::Handle timer;        // its deadline while open (kind: its state)
  std::list<Connection>::iterator self;  // its place in its loop's list
  std::size_t served = 0;                // requests answered on it
  std::uint32_t events = 0;              // its epoll interest
  bool last_reply = false;               // the reply being sent is its last
  bool input_left = false;               // that last request left input unread (a body)
  bool turn_queued = false;              // whole heads buffered, answered in the loop's take_turns

 private:
  using Address = std::pair<std::string, int>;
  Connection(int sock, std::size_t max_head, Address remote, Address local)
      : fd(sock), strm(sock, max_head, std::move(remote.first), remote.second, std::move(local.first), local.second) {}

  static Address address(int fd, int (*get)(int, sockaddr*, socklen_t*)) {
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
};

}  // namespace favorite_athlete
