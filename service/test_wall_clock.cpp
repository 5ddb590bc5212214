// Unit tests of wall_clock.hpp: the two formats, and WallClock's once-a-second cache giving what
// formatting each time afresh would.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "service/wall_clock.hpp"

namespace fa = favorite_athlete;
using std::chrono::milliseconds;

TEST_CASE("Date is an IMF-fixdate") {
  CHECK(fa::http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(fa::http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST_CASE("log times are RFC 3339 UTC with milliseconds") {
  CHECK(fa::format_time(std::chrono::system_clock::time_point(milliseconds(1'700'000'000'123))) ==
        "2023-11-14T22:13:20.123Z");
  CHECK(fa::format_time(std::chrono::system_clock::time_point(milliseconds(7))) == "1970-01-01T00:00:00.007Z");
}

TEST_CASE("WallClock gives what formatting afresh gives, within a second and across seconds") {
  fa::WallClock clock;
  const auto start = std::chrono::system_clock::time_point(milliseconds(1'700'000'000'000));
  // Steps of 7 ms through three seconds, then back in time (a clock set back), and far ahead.
  std::vector<std::chrono::system_clock::time_point> times;
  for (int ms = 0; ms < 3000; ms += 7) times.push_back(start + milliseconds(ms));
  times.push_back(start - milliseconds(1));
  times.push_back(start + std::chrono::hours(24 * 400) + milliseconds(999));
  for (const auto t : times) {
    CAPTURE(t.time_since_epoch().count());
    CHECK(clock.log_time(t) == fa::format_time(t));
    CHECK(clock.date(t) == fa::http_date(std::chrono::system_clock::to_time_t(t)));
  }
  CHECK(&fa::WallClock::this_thread() == &fa::WallClock::this_thread());
}
