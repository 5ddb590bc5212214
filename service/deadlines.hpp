// An index of deadlines, and only that: each entry is a value (an event loop's: a pointer to one of
// its connections, which it does not own) due at "armed at + its kind's timeout". There are a
// few kinds of timeout (keep-alive idle, read, write, linger), so one list per kind, appended to
// as deadlines are armed, is always sorted: arming, re-arming, cancelling and finding what is due
// are O(1) (libevent's "common timeouts"). Entries move between lists by splicing, so an entry's
// one list node is allocated once, at add().
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <list>
#include <optional>

namespace favorite_athlete {

using Clock = std::chrono::steady_clock;

template <typename T, std::size_t Kinds>
class Deadlines {
  struct Entry {
    T value;
    std::size_t kind;
    Clock::time_point due;
  };

 public:
  // Where an entry is: valid from add() until remove(), whatever it is re-armed to.
  using Handle = typename std::list<Entry>::iterator;

  explicit Deadlines(const std::array<Clock::duration, Kinds>& timeouts) : timeouts_(timeouts) {}

  // A new entry, due at now + the timeout of kind.
  Handle add(T value, std::size_t kind, Clock::time_point now) {
    auto& list = lists_[kind];
    list.push_back(Entry{std::move(value), kind, now + timeouts_[kind]});
    return std::prev(list.end());
  }

  // Re-arms an entry as kind, due at now + that kind's timeout.
  void arm(Handle h, std::size_t kind, Clock::time_point now) {
    lists_[kind].splice(lists_[kind].end(), lists_[h->kind], h);
    h->kind = kind;
    h->due = now + timeouts_[kind];
  }

  void remove(Handle h) { lists_[h->kind].erase(h); }

  static T& value(Handle h) { return h->value; }
  static std::size_t kind(Handle h) { return h->kind; }
  static Clock::time_point due(Handle h) { return h->due; }

  // When the earliest entry is due; none if there are no entries.
  std::optional<Clock::time_point> next() const {
    std::optional<Clock::time_point> first;
    for (const auto& list : lists_) {
      if (!list.empty() && (!first || list.front().due < *first)) first = list.front().due;
    }
    return first;
  }

  // One entry due at `now`, if any: the caller re-arms or removes it, then asks again.
  std::optional<Handle> due_at(Clock::time_point now) {
    for (auto& list : lists_) {
      if (!list.empty() && list.front().due <= now) return list.begin();
    }
    return std::nullopt;
  }

  // The earliest entry of one kind, if any.
  std::optional<Handle> first(std::size_t kind) {
    if (lists_[kind].empty()) return std::nullopt;
    return lists_[kind].begin();
  }

  std::size_t count(std::size_t kind) const { return lists_[kind].size(); }

  std::size_t size() const {
    std::size_t n = 0;
    for (const auto& list : lists_) n += list.size();
    return n;
  }

 private:
  std::array<Clock::duration, Kinds> timeouts_;
  std::array<std::list<Entry>, Kinds> lists_;
};

}  // namespace favorite_athlete
