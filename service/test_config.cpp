// Unit tests of config.hpp: defaults, environment and flags, refusals, --help; and the README's
// configuration table checked against the settings table, so neither can change alone.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "service/config.hpp"

namespace fa = favorite_athlete;

namespace {

fa::Parsed parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  return fa::parse_config(args, [env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

// The rows of the README's configuration table: variable -> {flag, default}, backticks dropped.
std::map<std::string, std::vector<std::string>> readme_settings() {
  std::ifstream file(FAVORITE_ATHLETE_README);
  REQUIRE(file.good());
  std::map<std::string, std::vector<std::string>> rows;
  bool in_section = false;
  for (std::string line; std::getline(file, line);) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Configuration";
    if (!in_section || line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::istringstream cells_in(line.substr(1));
    for (std::string cell; std::getline(cells_in, cell, '|');) {
      const auto first = cell.find('`'), last = cell.rfind('`');
      cells.push_back(first == last ? cell : cell.substr(first + 1, last - first - 1));
    }
    REQUIRE(cells.size() >= 3);
    CHECK(rows.count(cells[0]) == 0);  // one row per setting
    rows[cells[0]] = {cells[1], cells[2]};
  }
  return rows;
}

}  // namespace

TEST_CASE("the README's configuration table has each setting's flag and default, and no other setting") {
  const auto readme = readme_settings();
  for (const auto& s : fa::detail::settings()) {
    const std::string env = s.env;
    CAPTURE(env);
    REQUIRE(readme.count(env) == 1);
    CHECK(readme.at(env)[0] == std::string(s.flag));
    CHECK(readme.at(env)[1] == std::string(s.default_value));
  }
  CHECK(readme.size() == fa::detail::settings().size());
}

TEST_CASE("configuration defaults") {
  const auto p = parse({});
  REQUIRE(p.error.empty());
  CHECK(p.action == fa::Action::Serve);
  CHECK(p.config.port == 8080);
  CHECK(p.config.bind_address == "0.0.0.0");
  CHECK(p.config.athlete == "Usain Bolt");
  CHECK(p.config.drain_seconds == 5);
  CHECK(p.config.shutdown_timeout_seconds == 10);
  CHECK(p.config.threads == 0);  // auto
  CHECK(p.config.access_log);
  CHECK(p.config.keepalive_timeout_seconds == 5);
  CHECK(p.config.read_timeout_seconds == 5);
  CHECK(p.config.metrics_port == fa::kMetricsOff);
}

TEST_CASE("configuration from the environment, overridden by flags") {
  const std::map<std::string, std::string> env = {{"PORT", "8081"},
                                                  {"BIND_ADDRESS", "::1"},
                                                  {"FAVORITE_ATHLETE", "Shelly-Ann Fraser-Pryce"},
                                                  {"DRAIN_SECONDS", "0"},
                                                  {"SHUTDOWN_TIMEOUT_SECONDS", "3"},
                                                  {"THREADS", "4"},
                                                  {"ACCESS_LOG", "on"},
                                                  {"KEEPALIVE_TIMEOUT_SECONDS", "75"},
                                                  {"READ_TIMEOUT_SECONDS", "2"}};
  const auto p = parse({"--port", "9000", "--access-log=off"}, env);
  REQUIRE(p.error.empty());
  CHECK(p.config.port == 9000);
  CHECK(p.config.bind_address == "::1");
  CHECK(p.config.athlete == "Shelly-Ann Fraser-Pryce");
  CHECK(p.config.drain_seconds == 0);
  CHECK(p.config.shutdown_timeout_seconds == 3);
  CHECK(p.config.threads == 4);
  CHECK_FALSE(p.config.access_log);
  CHECK(p.config.keepalive_timeout_seconds == 75);
  CHECK(p.config.read_timeout_seconds == 2);
  CHECK(parse({}, {{"PORT", "0"}}).config.port == 0);
  CHECK(parse({}, {{"THREADS", "16"}}).config.threads == 16);
  CHECK(parse({"--threads=auto"}, {{"THREADS", "16"}}).config.threads == 0);
  CHECK(parse({}, {{"METRICS_PORT", "9797"}}).config.metrics_port == 9797);
  CHECK(parse({}, {{"METRICS_PORT", "0"}}).config.metrics_port == 0);  // any free port, as PORT=0
  CHECK(parse({"--metrics-port=off"}, {{"METRICS_PORT", "9797"}}).config.metrics_port == fa::kMetricsOff);
  CHECK(parse({}, {{"PORT", "0"}, {"METRICS_PORT", "0"}}).error.empty());  // two different free ports
}

TEST_CASE("invalid configuration is refused with a message naming the setting") {
  struct Case {
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{}, {{"PORT", "abc"}}, R"(PORT="abc" is invalid: expected an integer from 0 to 65535)"},
      {{}, {{"PORT", "70000"}}, R"(PORT="70000" is invalid: expected an integer from 0 to 65535)"},
      {{}, {{"PORT", "-1"}}, "PORT=\"-1\" is invalid"},
      {{}, {{"PORT", " 80"}}, "PORT=\" 80\" is invalid"},
      {{}, {{"PORT", "99999999999999999999"}}, "PORT=\"99999999999999999999\" is invalid"},
      {{}, {{"PORT", ""}}, "PORT=\"\" is invalid"},
      {{"--port=8x"}, {}, R"(--port="8x" (PORT) is invalid)"},
      {{"--port"}, {}, "--port (PORT) needs a value"},
      {{}, {{"BIND_ADDRESS", "localhost"}}, "BIND_ADDRESS=\"localhost\" is invalid: expected an IPv4 or IPv6"},
      {{}, {{"BIND_ADDRESS", "256.1.1.1"}}, "BIND_ADDRESS=\"256.1.1.1\" is invalid"},
      {{}, {{"FAVORITE_ATHLETE", ""}}, "FAVORITE_ATHLETE=\"\" is invalid: expected a non-empty UTF-8"},
      {{}, {{"FAVORITE_ATHLETE", "bad \xff utf-8"}}, "FAVORITE_ATHLETE=\"bad \xEF\xBF\xBD utf-8\" is invalid"},
      {{},
       {{"FAVORITE_ATHLETE", std::string(1025, 'x')}},
       "is invalid: expected a non-empty UTF-8 string of at most 1024"},
      {{}, {{"DRAIN_SECONDS", "1.5"}}, "DRAIN_SECONDS=\"1.5\" is invalid: expected an integer from 0 to 3600"},
      {{}, {{"SHUTDOWN_TIMEOUT_SECONDS", "0"}}, "SHUTDOWN_TIMEOUT_SECONDS=\"0\" is invalid"},
      {{}, {{"THREADS", "0"}}, "THREADS=\"0\" is invalid: expected auto or an integer from 1 to 4096"},
      {{}, {{"THREADS", "many"}}, "THREADS=\"many\" is invalid: expected auto or an integer"},
      {{}, {{"ACCESS_LOG", "yes"}}, "ACCESS_LOG=\"yes\" is invalid: expected on or off"},
      {{}, {{"KEEPALIVE_TIMEOUT_SECONDS", "0"}}, "KEEPALIVE_TIMEOUT_SECONDS=\"0\" is invalid"},
      {{}, {{"READ_TIMEOUT_SECONDS", "301"}}, "READ_TIMEOUT_SECONDS=\"301\" is invalid"},
      {{}, {{"METRICS_PORT", "on"}}, R"(METRICS_PORT="on" is invalid: expected off or an integer from 0 to 65535)"},
      {{},
       {{"METRICS_PORT", "8080"}},
       "METRICS_PORT (--metrics-port) 8080 is invalid: expected a port other than PORT"},
      {{"--port=9797", "--metrics-port=9797"}, {}, "METRICS_PORT (--metrics-port) 9797 is invalid"},
      {{"--bogus"}, {}, R"(unknown argument "--bogus")"},
      {{"serve"}, {}, R"(unknown argument "serve")"},
      {{"--check", "ftp://x"}, {}, "--check needs a URL"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.message);
    const auto p = parse(c.args, c.env);
    CHECK(p.error.find(c.message) != std::string::npos);
    CHECK(p.error.find('\n') == std::string::npos);
  }
}

TEST_CASE("help, version and check actions") {
  CHECK(parse({"--help"}).action == fa::Action::Help);
  CHECK(parse({"--version"}).action == fa::Action::Version);
  const auto c = parse({"--check", "http://127.0.0.1:8080/healthz"});
  CHECK(c.action == fa::Action::Check);
  CHECK(c.check_url == "http://127.0.0.1:8080/healthz");
  for (const char* env :
       {"PORT", "BIND_ADDRESS", "FAVORITE_ATHLETE", "DRAIN_SECONDS", "SHUTDOWN_TIMEOUT_SECONDS", "THREADS",
        "ACCESS_LOG", "KEEPALIVE_TIMEOUT_SECONDS", "READ_TIMEOUT_SECONDS", "METRICS_PORT", "--check"}) {
    CHECK(fa::usage().find(env) != std::string::npos);
  }
}
