// Unit tests of event_loop.hpp: how connections and loops end. stop(), run() and run_until_empty(),
// a last reply (asked for, or keepalive_max_requests), loops sharing a listening socket, and the
// access log written when the loop is idle.
#include "service/test_event_loop.hpp"

using namespace event_loop_test;  // the fixtures of test_event_loop.hpp

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
