// JSON log lines: one object per line, never torn (write_lines).
#pragma once

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "service/wall_clock.hpp"

namespace favorite_athlete {

struct AccessRecord {
  std::string_view method;
  std::string_view path;
  int status = 0;
  double duration_ms = 0;
  std::string_view peer;
};

// Request paths are client-controlled and percent-decoded: invalid UTF-8 is replaced, and
// quotes, control characters and NULs are escaped, so a line is always one valid JSON object.
inline std::string json_line(nlohmann::json fields, std::chrono::system_clock::time_point t) {
  fields["time"] = format_time(t);
  return fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

namespace detail {

// Printable ASCII but '"' and '\\': copied into a JSON string as it is.
inline constexpr auto kJsonPlain = [] {
  std::array<bool, 256> table{};
  for (int c = 0x20; c < 0x80; ++c) table[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return table;
}();

// Copies s to p: a line is written through a pointer into a buffer sized for the longest line,
// with no capacity check per field (std::string's append has one), and a literal's copy inlined.
inline char* put(char* p, std::string_view s) {
  if (!s.empty()) std::memcpy(p, s.data(), s.size());  // an empty view's data() may be null
  return p + s.size();
}

// Writes s as a JSON string at p, at most 6 bytes per byte of s ("\u0001") and its two quotes.
// ASCII is escaped here (the hot path: paths and peers, in one pass); a string with anything else
// goes through nlohmann_json, which replaces invalid UTF-8 (U+FFFD: 3 bytes per byte replaced).
inline char* put_json_string(char* p, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  char* const start = p;
  *p++ = '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (kJsonPlain[c]) {
      *p++ = ch;
      continue;
    }
    if (c >= 0x80) {
      return put(start, nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    *p++ = '\\';
    switch (ch) {
      case '"':
      case '\\': *p++ = ch; break;
      case '\n': *p++ = 'n'; break;
      case '\r': *p++ = 'r'; break;
      case '\t': *p++ = 't'; break;
      default:
        p = put(p, "u00");
        *p++ = kHex[c >> 4];
        *p++ = kHex[c & 0xF];
    }
  }
  *p++ = '"';
  return p;
}

}  // namespace detail

// The longest access log line: PIPE_BUF, the most one write(2) to a pipe carries whole.
inline constexpr std::size_t kMaxLineBytes = PIPE_BUF;
// The client-controlled fields are cut to these many bytes before escaping (at most 6 bytes each
// then, "\u0001"), so that a line never exceeds kMaxLineBytes; a cut line has "truncated":true.
inline constexpr std::size_t kMaxMethodBytes = 32, kMaxPathBytes = 512, kMaxPeerBytes = 64;
inline constexpr std::size_t kMaxTimeBytes = 32;  // format_time's are 24

// Appends one access log line: the fields of json_line's lines, in the same (sorted) order,
// written without building a JSON object, since it runs once per request. time: format_time's.
// The line is put together in a buffer on the stack, then appended to out at once.
inline void append_access_line(std::string& out, const AccessRecord& r, std::string_view time) {
  using namespace std::string_view_literals;
  using detail::put, detail::put_json_string;
  // The longest line fits: the cut fields escaped (6 bytes per byte, 2 quotes), the time, two
  // numbers of at most 24 bytes, and fewer than 160 bytes of names and punctuation.
  static_assert(6 * (kMaxMethodBytes + kMaxPathBytes + kMaxPeerBytes) + 6 + kMaxTimeBytes + 48 + 160 <= kMaxLineBytes);
  const auto us = std::max(0LL, static_cast<long long>(r.duration_ms * 1000));  // a steady clock's: never < 0
  const bool cut = r.method.size() > kMaxMethodBytes || r.path.size() > kMaxPathBytes || r.peer.size() > kMaxPeerBytes;
  char line[kMaxLineBytes];
  char* p = put(line, "{\"duration_ms\":"sv);
  p = std::to_chars(p, p + 20, us / 1000).ptr;  // "<milliseconds>.<three digits>"
  *p++ = '.';
  put_three_digits(p, us);
  p = put(p + 3, ",\"level\":\"info\",\"method\":"sv);
  p = put_json_string(p, r.method.substr(0, kMaxMethodBytes));
  p = put(p, ",\"msg\":\"request\",\"path\":"sv);
  p = put_json_string(p, r.path.substr(0, kMaxPathBytes));
  p = put(p, ",\"peer\":"sv);
  p = put_json_string(p, r.peer.substr(0, kMaxPeerBytes));
  p = put(p, ",\"status\":"sv);
  p = std::to_chars(p, p + 11, r.status).ptr;
  p = put(p, ",\"time\":\""sv);
  p = put(p, time.substr(0, kMaxTimeBytes));
  p = put(p, cut ? "\",\"truncated\":true}\n"sv : "\"}\n"sv);
  out.append(line, static_cast<std::size_t>(p - line));
}

inline std::string access_line(const AccessRecord& r, std::chrono::system_clock::time_point t) {
  std::string line;
  append_access_line(line, r, format_time(t));
  return line;
}

// Lines that never reached their fd because its reader took nothing for kStuckReaderWait
// (favorite_athlete_log_lines_dropped_total).
inline std::atomic<std::uint64_t>& dropped_log_lines() {
  static std::atomic<std::uint64_t> count{0};
  return count;
}

// How long a write waits for a reader that takes nothing (a full pipe) before the lines left are
// dropped. While that reader stays stuck, later writes do not wait: the loops go on serving.
inline constexpr std::chrono::milliseconds kStuckReaderWait{1000};

namespace detail {

// The most one write(2) carries: whole lines, and on a pipe or socket at most PIPE_BUF, which a
// pipe takes whole or not at all, so a SIGKILL between two writes leaves only whole lines.
inline std::size_t write_size(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? 64 * 1024 : PIPE_BUF;
}

// Whether fd takes more within wait; blocking or not, a write of at most PIPE_BUF to a pipe it
// reports writable then does not block.
inline bool writable(int fd, std::chrono::milliseconds wait) {
  pollfd p{fd, POLLOUT, 0};
  int r;
  do r = ::poll(&p, 1, static_cast<int>(wait.count()));
  while (r < 0 && errno == EINTR);
  return r > 0 && (p.revents & POLLOUT) != 0;
}

// The whole lines at the front of data that fit in most bytes (a longer line alone, whole).
inline std::string_view whole_lines(std::string_view data, std::size_t most) {
  auto end = data.size() <= most ? data.size() - 1 : data.rfind('\n', most - 1);
  if (end == std::string_view::npos) end = data.find('\n');
  return data.substr(0, end == std::string_view::npos ? data.size() : end + 1);
}

inline void write_lines(int fd, std::string_view lines);  // report_stuck_reader uses it

// One line about a reader that stopped or started reading again, on stderr (never waiting).
inline void report_stuck_reader(int fd, std::uint64_t dropped, bool stuck) {
  std::string line = "{\"dropped_lines\":" + std::to_string(dropped) + ",\"fd\":" + std::to_string(fd) +
                     ",\"level\":\"warn\",\"msg\":\"" +
                     (stuck ? "log reader stuck: dropping whole lines until it reads again"
                            : "log reader reading again: lines were dropped meanwhile") +
                     "\",\"time\":\"" + format_time(std::chrono::system_clock::now()) + "\"}\n";
  if (fd != STDERR_FILENO) write_lines(STDERR_FILENO, line);
}

// Writes whole lines (each ending in '\n') without ever tearing one. One process-wide lock: lines
// from different threads never interleave. A reader that takes nothing for kStuckReaderWait gets
// the rest dropped, whole lines only, counted (dropped_log_lines) and reported on stderr; a fd
// that is gone (EPIPE, EBADF) drops them too and never takes the service down.
inline void write_lines(int fd, std::string_view lines) {
  static std::mutex mutex;
  static std::map<int, std::uint64_t> stuck;  // fds whose reader is stuck: lines dropped since
  std::unique_lock<std::mutex> lock(mutex);
  const std::size_t most = write_size(fd);
  const auto was_stuck = stuck.find(fd);
  std::string_view left = lines;
  int again = 0;  // EAGAIN after poll said writable (another writer of the pipe): at most a few
  bool patient = was_stuck == stuck.end();  // a stuck reader is not waited for, until it reads again
  while (!left.empty()) {
    ssize_t n = -1;
    if (writable(fd, patient ? kStuckReaderWait : std::chrono::milliseconds(0))) {
      const std::string_view chunk = whole_lines(left, most);
      n = ::write(fd, chunk.data(), chunk.size());
      if (n < 0 && (errno == EINTR || (errno == EAGAIN && ++again < 100))) continue;
    }
    if (n <= 0) {  // stuck, or gone: the rest is dropped, whole lines (on a pipe none is ever begun)
      const auto dropped = static_cast<std::uint64_t>(std::count(left.begin(), left.end(), '\n'));
      dropped_log_lines() += dropped;
      const bool first = was_stuck == stuck.end();
      stuck[fd] += dropped;
      lock.unlock();
      if (first) report_stuck_reader(fd, dropped, true);
      return;
    }
    // A socket or a file may take part of a chunk (a pipe never does): the rest follows first.
    left.remove_prefix(static_cast<std::size_t>(n));
    patient = true;
  }
  if (was_stuck == stuck.end()) return;
  const std::uint64_t dropped = was_stuck->second;
  stuck.erase(was_stuck);
  lock.unlock();
  report_stuck_reader(fd, dropped, false);
}

}  // namespace detail

using detail::write_lines;

inline void log_to(int fd, nlohmann::json fields) {
  write_lines(fd, json_line(std::move(fields), std::chrono::system_clock::now()));
}

}  // namespace favorite_athlete
