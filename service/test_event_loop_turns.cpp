// Unit tests of event_loop.hpp: order and turns. Pipelined requests are answered in order, one
// turn at a time, and no connection (pipelining, or streaming a body to discard) holds the others.
#include "service/test_event_loop.hpp"

using namespace event_loop_test;  // the fixtures of test_event_loop.hpp

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
