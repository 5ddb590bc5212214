// JSON log lines: one object per line. Lines and batches of them (access_log.hpp) are written
// under one lock, so that nothing written by one thread ever splits what another writes.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>
#include <string_view>

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
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

// Request paths are client-controlled and percent-decoded: invalid UTF-8 is replaced, and
// quotes, control characters and NULs are escaped, so a line is always one valid JSON object.
inline std::string json_line(nlohmann::json fields, std::chrono::system_clock::time_point t) {
  fields["time"] = format_time(t);
  return fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

namespace detail {

// Appends s as a JSON string. ASCII is escaped here (the hot path: paths and peers); anything
// else goes through nlohmann_json, which replaces invalid UTF-8.
inline void append_json_string(std::string& out, std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
    }
  }
  out += '"';
  std::size_t run = 0;  // characters before s[i] that need no escaping, appended in one go
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20) continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
        out += buf;
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

}  // namespace detail

// Appends one access log line: the fields of json_line's lines, in the same (sorted) order,
// written without building a JSON object, since it runs once per request. time: format_time's.
inline void append_access_line(std::string& out, const AccessRecord& r, std::string_view time) {
  const auto us = std::max(0LL, static_cast<long long>(r.duration_ms * 1000));  // a steady clock's: never < 0
  const auto frac = std::to_string(1000 + us % 1000);                           // three digits after a leading 1
  out += "{\"duration_ms\":";
  out += std::to_string(us / 1000);
  out += '.';
  out.append(frac, 1, 3);
  out += ",\"level\":\"info\",\"method\":";
  detail::append_json_string(out, r.method);
  out += ",\"msg\":\"request\",\"path\":";
  detail::append_json_string(out, r.path);
  out += ",\"peer\":";
  detail::append_json_string(out, r.peer);
  out += ",\"status\":";
  out += std::to_string(r.status);
  out += ",\"time\":\"";
  out += time;
  out += "\"}\n";
}

inline std::string access_line(const AccessRecord& r, std::chrono::system_clock::time_point t) {
  std::string line;
  append_access_line(line, r, format_time(t));
  return line;
}

// Writes all of data with as few write(2) calls as the fd takes. One process-wide lock: lines and
// batches of lines from different threads never interleave, even past PIPE_BUF on a pipe.
inline void write_all(int fd, std::string_view data) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a closed stdout must not take the service down
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

inline void log_to(int fd, nlohmann::json fields) {
  write_all(fd, json_line(std::move(fields), std::chrono::system_clock::now()));
}

}  // namespace favorite_athlete
