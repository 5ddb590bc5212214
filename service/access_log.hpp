// The access log of one event loop: lines are collected and written in batches, a few write(2)
// calls per batch instead of one per request. A batch is written when it reaches kCapacity, when the
// loop goes idle, when its oldest line is kMaxDelay old, and when the loop ends (a graceful stop).
// Batches hold whole lines only and go out through write_lines (logging.hpp): lines from different
// loops never interleave, a line is never torn (not by a SIGKILL either), and a reader that stops
// reading gets whole lines dropped, counted, instead of a loop that waits for it. A SIGKILL loses
// what is not written yet: at most kMaxDelay of lines.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "service/logging.hpp"

namespace favorite_athlete {

class AccessLog {
 public:
  static constexpr std::size_t kCapacity = 64 * 1024;
  static constexpr std::chrono::milliseconds kMaxDelay{100};

  // fd < 0: the access log is off and add() is never called.
  explicit AccessLog(int fd) : fd_(fd) {}
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;
  ~AccessLog() { flush(); }

  bool on() const { return fd_ >= 0; }

  void add(const AccessRecord& record, std::chrono::steady_clock::time_point now) {
    if (lines_.empty()) oldest_ = now;
    append_access_line(lines_, record, time_now());
    if (lines_.size() >= kCapacity) flush();
  }

  // When the lines collected so far must be written at the latest; none if there are none.
  std::optional<std::chrono::steady_clock::time_point> due() const {
    if (lines_.empty()) return std::nullopt;
    return oldest_ + kMaxDelay;
  }

  void flush() {
    if (lines_.empty()) return;
    write_lines(fd_, lines_);
    lines_.clear();
  }

 private:
  // format_time(now), formatted in full once per second, not once per line.
  std::string_view time_now() {
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    if (ms / 1000 != second_) {
      second_ = ms / 1000;
      time_ = format_time(now);
    }
    put_three_digits(time_.data() + time_.size() - 4, ms);  // the milliseconds of "...SS.mmmZ"
    return time_;
  }

  int fd_;
  std::string lines_;                               // whole lines, each ending in '\n'
  std::chrono::steady_clock::time_point oldest_{};  // when the first line of lines_ was added
  long long second_ = -1;                           // the second time_ was formatted for
  std::string time_;
};

}  // namespace favorite_athlete
