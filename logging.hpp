// JSON log lines: one object per line, written with a single write(2) so that lines from
// concurrent workers never interleave (below PIPE_BUF on a pipe, and in practice on a tty/file).
#pragma once

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include <nlohmann/json.hpp>

namespace favorite_athlete {

struct AccessRecord {
  std::string_view method;
  std::string_view path;
  int status = 0;
  double duration_ms = 0;
  std::string_view peer;
};

// RFC 3339 UTC with milliseconds, e.g. 2026-11-21T08:00:00.123Z.
inline std::string format_time(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

// Request paths are client-controlled and percent-decoded: invalid UTF-8 is replaced, and
// quotes, control characters and NULs are escaped, so a line is always one valid JSON object.
inline std::string json_line(nlohmann::json fields, std::chrono::system_clock::time_point t) {
  fields["time"] = format_time(t);
  return fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

inline std::string access_line(const AccessRecord& r, std::chrono::system_clock::time_point t) {
  return json_line({{"level", "info"},
                    {"msg", "request"},
                    {"method", r.method},
                    {"path", r.path},
                    {"status", r.status},
                    {"duration_ms", static_cast<double>(static_cast<long long>(r.duration_ms * 1000)) / 1000},
                    {"peer", r.peer}},
                   t);
}

inline void write_line(int fd, const std::string& line) {
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a closed stdout must not take the service down
    done += static_cast<std::size_t>(n);
  }
}

inline void log_to(int fd, nlohmann::json fields) {
  write_line(fd, json_line(std::move(fields), std::chrono::system_clock::now()));
}

}  // namespace favorite_athlete
