// The wall-clock time as replies and log lines carry it: the Date header's IMF-fixdate and the
// logs' RFC 3339 time. Every reply and every access log line needs it, so a thread's WallClock
// formats both once a second and only the milliseconds in between.
#pragma once

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

namespace favorite_athlete {

// Writes n % 1000 (n >= 0) as three digits at `at`: the milliseconds of a time, the decimals of
// a duration. Digits are written in place, not through a temporary std::string: once per request.
inline void put_three_digits(char* at, long long n) {
  at[0] = static_cast<char>('0' + n / 100 % 10);
  at[1] = static_cast<char>('0' + n / 10 % 10);
  at[2] = static_cast<char>('0' + n % 10);
}

// RFC 9110 5.6.7: IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT", for the Date header.
inline std::string http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7], tm.tm_mday,
                kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// RFC 3339 UTC with milliseconds, e.g. 2026-11-21T08:00:00.123Z.
inline std::string format_time(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

// http_date and format_time of a time, both formatted in full only when its second differs from
// the last one asked for. One per thread (this_thread): an event loop's replies and access log
// lines, the metrics port's replies.
class WallClock {
 public:
  static WallClock& this_thread() {
    thread_local WallClock clock;
    return clock;
  }

  const std::string& date(std::chrono::system_clock::time_point t = std::chrono::system_clock::now()) {
    at(t);
    return date_;
  }

  std::string_view log_time(std::chrono::system_clock::time_point t = std::chrono::system_clock::now()) {
    const long long ms = at(t);  // first: it may reformat log_time_ (the order of arguments is unspecified)
    put_three_digits(log_time_.data() + log_time_.size() - 4, ms);  // the milliseconds of "...SS.mmmZ"
    return log_time_;
  }

 private:
  // Formats both for t's second unless they are; returns t in milliseconds since the epoch.
  long long at(std::chrono::system_clock::time_point t) {
    const long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    if (ms / 1000 != second_) {
      second_ = ms / 1000;
      date_ = http_date(static_cast<std::time_t>(second_));
      log_time_ = format_time(t);
    }
    return ms;
  }

  long long second_ = -1;  // the second date_ and log_time_ were formatted for
  std::string date_, log_time_;
};

}  // namespace favorite_athlete
