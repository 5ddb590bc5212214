// Unit tests of deadlines.hpp: one list per timeout kind, each sorted because every deadline of
// a kind is "armed at + that kind's timeout". Fixed time points only: no real time passes.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "service/deadlines.hpp"

namespace fa = favorite_athlete;
using std::chrono::seconds;

namespace {

enum Kind : std::size_t { kShort, kLong, kShortest, kKinds };
using D = fa::Deadlines<int, kKinds>;

// kShort 10 s, kLong 20 s, kShortest 5 s: a later kind may be due before an earlier one.
D deadlines() { return D({seconds(10), seconds(20), seconds(5)}); }

const fa::Clock::time_point t0 = fa::Clock::time_point() + std::chrono::hours(1);

// Takes every entry of one kind out, earliest first: their values in that order.
std::vector<int> drain(D& d, std::size_t kind) {
  std::vector<int> out;
  std::optional<fa::Clock::time_point> previous;
  while (const auto h = d.first(kind)) {
    if (previous) CHECK(*previous <= D::due(*h));
    previous = D::due(*h);
    out.push_back(D::value(*h));
    d.remove(*h);
  }
  return out;
}

}  // namespace

TEST_CASE("add() arms an entry at now + its kind's timeout") {
  auto d = deadlines();
  const auto a = d.add(1, kShort, t0);
  const auto b = d.add(2, kLong, t0);
  const auto c = d.add(3, kShortest, t0 + seconds(1));
  CHECK(D::due(a) == t0 + seconds(10));
  CHECK(D::due(b) == t0 + seconds(20));
  CHECK(D::due(c) == t0 + seconds(6));
  CHECK(D::kind(b) == kLong);
  CHECK(D::value(c) == 3);
  CHECK(d.count(kShort) == 1);
  CHECK(d.count(kLong) == 1);
  CHECK(d.count(kShortest) == 1);
  CHECK(d.size() == 3);
}

TEST_CASE("an empty set has no next deadline, nothing due and no first entry of any kind") {
  auto d = deadlines();
  CHECK_FALSE(d.next().has_value());
  CHECK_FALSE(d.due_at(t0 + std::chrono::hours(1000)).has_value());
  for (std::size_t k = 0; k < kKinds; ++k) CHECK_FALSE(d.first(k).has_value());
  CHECK(d.size() == 0);
}

TEST_CASE("each kind's list stays sorted by due time, whatever the interleaving of kinds") {
  auto d = deadlines();
  for (int i = 0; i < 30; ++i) d.add(i, static_cast<std::size_t>(i % 3), t0 + seconds(i));
  CHECK(d.size() == 30);
  CHECK(drain(d, kShort) == std::vector<int>{0, 3, 6, 9, 12, 15, 18, 21, 24, 27});
  CHECK(drain(d, kLong) == std::vector<int>{1, 4, 7, 10, 13, 16, 19, 22, 25, 28});
  CHECK(drain(d, kShortest) == std::vector<int>{2, 5, 8, 11, 14, 17, 20, 23, 26, 29});
  CHECK(d.size() == 0);
}

TEST_CASE("arm() moves an entry to another kind, due at now + that kind's timeout; its handle stays valid") {
  auto d = deadlines();
  const auto a = d.add(1, kShort, t0);
  const auto b = d.add(2, kShort, t0 + seconds(1));
  d.arm(a, kLong, t0 + seconds(2));
  CHECK(D::kind(a) == kLong);
  CHECK(D::due(a) == t0 + seconds(22));
  CHECK(D::value(a) == 1);
  CHECK(d.count(kShort) == 1);
  CHECK(d.count(kLong) == 1);
  CHECK(d.size() == 2);
  REQUIRE(d.first(kShort).has_value());
  CHECK(*d.first(kShort) == b);
  REQUIRE(d.first(kLong).has_value());
  CHECK(*d.first(kLong) == a);

  d.arm(a, kShortest, t0 + seconds(3));  // and on, through every kind
  CHECK(D::due(a) == t0 + seconds(8));
  CHECK(d.count(kLong) == 0);
  CHECK(d.count(kShortest) == 1);
  d.arm(a, kShort, t0 + seconds(4));
  CHECK(drain(d, kShort) == std::vector<int>{2, 1});  // behind b, armed earlier
}

TEST_CASE("re-arming an entry in its own kind refreshes it: it goes behind the others of that kind") {
  auto d = deadlines();
  const auto a = d.add(1, kShort, t0);
  d.add(2, kShort, t0 + seconds(1));
  d.add(3, kShort, t0 + seconds(2));
  d.arm(a, kShort, t0 + seconds(3));
  CHECK(D::due(a) == t0 + seconds(13));
  CHECK(d.count(kShort) == 3);
  CHECK_FALSE(d.due_at(t0 + seconds(10)).has_value());  // its old deadline is gone
  CHECK(drain(d, kShort) == std::vector<int>{2, 3, 1});
}

TEST_CASE("next() is the earliest deadline over all kinds, and due_at() gives entries due at now only") {
  auto d = deadlines();
  d.add(1, kLong, t0);                                     // t0 + 20 s
  d.add(2, kShort, t0);                                    // t0 + 10 s
  const auto fast = d.add(3, kShortest, t0 + seconds(1));  // t0 + 6 s: added last, due first
  REQUIRE(d.next().has_value());
  CHECK(*d.next() == t0 + seconds(6));
  CHECK_FALSE(d.due_at(t0 + seconds(5)).has_value());
  auto due = d.due_at(t0 + seconds(6));
  REQUIRE(due.has_value());
  CHECK(*due == fast);
  d.remove(fast);
  CHECK_FALSE(d.due_at(t0 + seconds(9)).has_value());
  CHECK(*d.next() == t0 + seconds(10));

  // Several due at once: one at a time, each removed (or re-armed) before asking again.
  std::vector<int> expired;
  while (const auto h = d.due_at(t0 + seconds(30))) {
    expired.push_back(D::value(*h));
    d.remove(*h);
  }
  std::sort(expired.begin(), expired.end());
  CHECK(expired == std::vector<int>{1, 2});
  CHECK(d.size() == 0);
  CHECK_FALSE(d.next().has_value());
}

TEST_CASE("an entry re-armed when due is no longer due: the expiry loop terminates") {
  auto d = deadlines();
  const auto a = d.add(1, kShort, t0);
  const auto now = t0 + seconds(10);
  int rounds = 0;
  while (const auto h = d.due_at(now)) {
    d.arm(*h, D::kind(*h), now);  // what the event loop does with a connection waiting for its turn
    REQUIRE(++rounds < 10);
  }
  CHECK(rounds == 1);
  CHECK(D::due(a) == now + seconds(10));
}

TEST_CASE("first(kind) is the earliest entry of that kind only") {
  auto d = deadlines();
  d.add(1, kLong, t0);
  d.add(2, kShort, t0 + seconds(1));
  d.add(3, kShort, t0 + seconds(2));
  REQUIRE(d.first(kShort).has_value());
  CHECK(D::value(*d.first(kShort)) == 2);
  REQUIRE(d.first(kLong).has_value());
  CHECK(D::value(*d.first(kLong)) == 1);
  CHECK_FALSE(d.first(kShortest).has_value());
}

TEST_CASE("remove() takes an entry out of whichever list it is in, and destroys its value") {
  fa::Deadlines<std::shared_ptr<int>, kKinds> d({seconds(10), seconds(20), seconds(5)});
  const auto owned = std::make_shared<int>(1);  // stands for a connection, owned by its entry
  const auto a = d.add(owned, kShort, t0);
  const auto b = d.add(std::make_shared<int>(2), kLong, t0);
  d.arm(a, kLong, t0 + seconds(1));
  d.remove(b);
  CHECK(d.size() == 1);
  CHECK(d.count(kLong) == 1);
  CHECK(*d.next() == t0 + seconds(21));
  CHECK(owned.use_count() == 2);
  d.remove(a);
  CHECK(owned.use_count() == 1);
  CHECK(d.size() == 0);
  CHECK_FALSE(d.next().has_value());

  fa::Deadlines<std::unique_ptr<int>, kKinds> move_only({seconds(1), seconds(1), seconds(1)});  // as EventLoop's
  const auto h = move_only.add(std::make_unique<int>(3), kShortest, t0);
  CHECK(*decltype(move_only)::value(h) == 3);
  move_only.remove(h);
  CHECK(move_only.size() == 0);
}

TEST_CASE("random add/arm/remove with a clock that only moves forward agree with a brute-force model") {
  std::mt19937 random(20261206);
  auto d = deadlines();
  const std::array<seconds, kKinds> timeouts{seconds(10), seconds(20), seconds(5)};
  struct Model {
    std::size_t kind;
    fa::Clock::time_point due;
    D::Handle handle;
  };
  std::map<int, Model> model;
  auto now = t0;
  int next_value = 0;
  for (int step = 0; step < 5000; ++step) {
    const auto op = random() % 4;
    const auto kind = static_cast<std::size_t>(random() % kKinds);
    if (op == 0 || model.empty()) {
      model[next_value] = Model{kind, now + timeouts[kind], d.add(next_value, kind, now)};
      ++next_value;
    } else if (op == 1 || op == 2) {
      auto it = std::next(model.begin(), static_cast<long>(random() % model.size()));
      if (op == 1) {
        d.arm(it->second.handle, kind, now);
        it->second.kind = kind;
        it->second.due = now + timeouts[kind];
      } else {
        d.remove(it->second.handle);
        model.erase(it);
      }
    } else {
      now += std::chrono::milliseconds(random() % 3000);
    }

    CAPTURE(step);
    REQUIRE(d.size() == model.size());
    std::optional<fa::Clock::time_point> earliest;
    std::array<std::optional<fa::Clock::time_point>, kKinds> earliest_of{};
    std::array<std::size_t, kKinds> count_of{};
    for (const auto& [value, m] : model) {
      if (!earliest || m.due < *earliest) earliest = m.due;
      if (!earliest_of[m.kind] || m.due < *earliest_of[m.kind]) earliest_of[m.kind] = m.due;
      ++count_of[m.kind];
    }
    REQUIRE(d.next() == earliest);
    for (std::size_t k = 0; k < kKinds; ++k) {
      REQUIRE(d.count(k) == count_of[k]);
      const auto first = d.first(k);
      REQUIRE(first.has_value() == earliest_of[k].has_value());
      if (first) REQUIRE(D::due(*first) == *earliest_of[k]);
    }
    const auto due = d.due_at(now);
    REQUIRE(due.has_value() == (earliest && *earliest <= now));
    if (due) REQUIRE(D::due(*due) <= now);
  }
}
