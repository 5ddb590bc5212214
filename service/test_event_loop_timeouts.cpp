// Unit tests of event_loop.hpp: the per-state deadlines (keep-alive, read, write), and a client
// that does not read its replies.
#include "service/test_event_loop.hpp"

using namespace event_loop_test;  // the fixtures of test_event_loop.hpp

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
