// Configuration: flags, with environment variables as fallback, then defaults. Pure: the
// environment is passed in, so every rule is unit-tested. Invalid input is refused with one line
// that names the setting; nothing is silently clamped.
#pragma once

#include <arpa/inet.h>

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace favorite_athlete {

inline constexpr int kMetricsOff = -1;

// Every setting's default is its row's in settings() below: parse_config starts from them.
struct Config {
  std::string bind_address;
  int port = 0;
  std::string athlete;
  int drain_seconds = 0;
  int shutdown_timeout_seconds = 0;
  int threads = 0;  // event loops; 0: auto, one per CPU this process may run on
  bool access_log = false;
  int keepalive_timeout_seconds = 0;
  int read_timeout_seconds = 0;
  int metrics_port = kMetricsOff;  // GET /metrics on its own port; kMetricsOff: not served
};

enum class Action { Serve, Help, Version, Check };

struct Parsed {
  Action action = Action::Serve;
  Config config;
  std::string check_url;  // for Action::Check
  std::string error;      // non-empty: refuse to start, print it
};

using Getenv = std::function<const char*(const char*)>;

namespace detail {

// One setting, written once: its environment variable, flag, default and help are here, and the
// README's configuration table is checked against them (service/test_config.cpp).
struct Setting {
  const char* env;
  const char* flag;
  const char* default_value;  // applied as a value from the environment would be: valid by the same rule
  const char* help;
  // Stores a valid value and returns "", or returns what a valid value looks like.
  std::function<std::string(Config&, const std::string&)> apply;
};

inline std::function<std::string(Config&, const std::string&)> integer(int Config::*field, int lo, int hi) {
  return [=](Config& c, const std::string& v) -> std::string {
    const std::string expected = "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos) return expected;
    const int n = std::stoi(v);
    if (n < lo || n > hi) return expected;
    c.*field = n;
    return "";
  };
}

inline const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = {
      {"PORT", "--port", "8080", "TCP port to listen on, 0 for any free port", integer(&Config::port, 0, 65535)},
      {"BIND_ADDRESS", "--bind-address", "0.0.0.0", "IPv4 or IPv6 address to listen on",
       [](Config& c, const std::string& v) -> std::string {
         unsigned char buf[sizeof(in6_addr)];
         if (inet_pton(AF_INET, v.c_str(), buf) != 1 && inet_pton(AF_INET6, v.c_str(), buf) != 1) {
           return "an IPv4 or IPv6 address such as 0.0.0.0, 127.0.0.1 or ::";
         }
         c.bind_address = v;
         return "";
       }},
      {"FAVORITE_ATHLETE", "--athlete", "Usain Bolt", "the name GET / answers with",
       [](Config& c, const std::string& v) -> std::string {
         const char* expected = "a non-empty UTF-8 string of at most 1024 bytes";
         if (v.empty() || v.size() > 1024) return expected;
         try {
           (void)nlohmann::json(v).dump();
         } catch (const nlohmann::json::exception&) {
           return expected;
         }
         c.athlete = v;
         return "";
       }},
      {"DRAIN_SECONDS", "--drain-seconds", "5", "after SIGTERM, seconds to keep serving with /readyz at 503",
       integer(&Config::drain_seconds, 0, 3600)},
      {"SHUTDOWN_TIMEOUT_SECONDS", "--shutdown-timeout-seconds", "10",
       "after draining, seconds allowed for in-flight requests", integer(&Config::shutdown_timeout_seconds, 1, 3600)},
      {"THREADS", "--threads", "auto",
       "event loops (threads), each serving the connections it accepted: auto (one per CPU) or a count",
       [](Config& c, const std::string& v) -> std::string {
         if (v == "auto") {
           c.threads = 0;
           return "";
         }
         return integer(&Config::threads, 1, 4096)(c, v).empty() ? "" : "auto or an integer from 1 to 4096";
       }},
      {"ACCESS_LOG", "--access-log", "on", "on or off: one JSON line per request on stdout",
       [](Config& c, const std::string& v) -> std::string {
         if (v != "on" && v != "off") return "on or off";
         c.access_log = v == "on";
         return "";
       }},
      {"KEEPALIVE_TIMEOUT_SECONDS", "--keepalive-timeout-seconds", "5", "seconds an idle connection is kept open",
       integer(&Config::keepalive_timeout_seconds, 1, 3600)},
      {"METRICS_PORT", "--metrics-port", "off",
       "TCP port serving GET /metrics (Prometheus) apart from PORT, 0 for any free port, off for none",
       [](Config& c, const std::string& v) -> std::string {
         if (v == "off") {
           c.metrics_port = kMetricsOff;
           return "";
         }
         return integer(&Config::metrics_port, 0, 65535)(c, v).empty() ? "" : "off or an integer from 0 to 65535";
       }},
      {"READ_TIMEOUT_SECONDS", "--read-timeout-seconds", "5", "seconds a client has to send a whole request head",
       integer(&Config::read_timeout_seconds, 1, 300)},
  };
  return table;
}

inline std::string quoted(const std::string& v) {
  return nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace detail

inline std::string usage() {
  std::string text =
      "Usage: favorite-athlete [options]\n"
      "Serves {\"myFavoriteAthlete\": ...} on GET /, with /healthz and /readyz; GET /metrics\n"
      "only on METRICS_PORT.\n\n"
      "Options (each also read from the environment variable shown; flags win):\n";
  for (const auto& s : detail::settings()) {
    text += "  " + std::string(s.flag) + "=VALUE  (" + s.env + ")\n      " + s.help + " (default " + s.default_value +
            ")\n";
  }
  text +=
      "  --check URL   GET URL and exit 0 on a 2xx answer within 2 s, else 1 (container healthcheck)\n"
      "  --version     print the version and exit\n"
      "  --help        print this help and exit\n";
  return text;
}

inline Parsed parse_config(const std::vector<std::string>& args, const Getenv& getenv) {
  Parsed out;
  const auto& table = detail::settings();
  for (const auto& s : table) {
    if (auto expected = s.apply(out.config, s.default_value); !expected.empty()) {
      out.error = std::string(s.env) + "'s default " + detail::quoted(s.default_value) + " is invalid: expected " +
                  expected;
      return out;
    }
  }
  for (const auto& s : table) {
    if (const char* v = getenv(s.env)) {
      if (auto expected = s.apply(out.config, v); !expected.empty()) {
        out.error = std::string(s.env) + "=" + detail::quoted(v) + " is invalid: expected " + expected;
        return out;
      }
    }
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      out.action = Action::Help;
      return out;
    }
    if (arg == "--version") {
      out.action = Action::Version;
      return out;
    }
    const auto eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const bool inline_value = eq != std::string::npos;
    auto take_value = [&](std::string& value) {
      if (inline_value) {
        value = arg.substr(eq + 1);
        return true;
      }
      if (i + 1 >= args.size()) return false;
      value = args[++i];
      return true;
    };
    std::string value;
    if (name == "--check") {
      if (!take_value(value) || value.rfind("http://", 0) != 0) {
        out.error = "--check needs a URL like http://127.0.0.1:8080/healthz";
        return out;
      }
      out.action = Action::Check;
      out.check_url = value;
      continue;
    }
    const detail::Setting* setting = nullptr;
    for (const auto& s : table) {
      if (name == s.flag) setting = &s;
    }
    if (setting == nullptr) {
      out.error = "unknown argument " + detail::quoted(arg) + " (see --help)";
      return out;
    }
    if (!take_value(value)) {
      out.error = std::string(setting->flag) + " (" + setting->env + ") needs a value";
      return out;
    }
    if (auto expected = setting->apply(out.config, value); !expected.empty()) {
      out.error = std::string(setting->flag) + "=" + detail::quoted(value) + " (" + setting->env +
                  ") is invalid: expected " + expected;
      return out;
    }
  }
  // The metrics port exists to keep /metrics off the public one.
  if (out.config.metrics_port > 0 && out.config.metrics_port == out.config.port) {
    out.error = "METRICS_PORT (--metrics-port) " + std::to_string(out.config.metrics_port) +
                " is invalid: expected a port other than PORT (--port), which is public";
  }
  return out;
}

}  // namespace favorite_athlete
