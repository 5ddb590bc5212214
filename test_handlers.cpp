// Unit tests of the pure layer: the HTTP contract, configuration and log lines. No sockets.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <map>

#include "config.hpp"
#include "handlers.hpp"
#include "logging.hpp"

namespace fa = favorite_athlete;

namespace {

const fa::Service usain("Usain Bolt");

fa::Reply get(std::string_view path, bool draining = false) {
  return usain.respond({"GET", path, false}, draining);
}

fa::Parsed parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  return fa::parse_config(args, [env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

}  // namespace

TEST_CASE("GET / answers the Flask contract byte for byte") {
  const auto r = get("/");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(r.body == R"({"myFavoriteAthlete":"Usain Bolt"})");
  CHECK_FALSE(r.allow_get_head);
  CHECK_FALSE(r.close);
}

TEST_CASE("HEAD is answered exactly like GET (the HTTP layer drops the body bytes)") {
  for (const char* path : {"/", "/healthz", "/readyz", "/nope"}) {
    const auto g = get(path);
    const auto h = usain.respond({"HEAD", path, false}, false);
    CHECK(h.status == g.status);
    CHECK(h.content_type == g.content_type);
    CHECK(h.body == g.body);
  }
}

TEST_CASE("every other method on any path is 405 with Allow and the exact text") {
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "get"}) {
    for (const char* path : {"/", "/healthz", "/readyz", "/anything", "*"}) {
      CAPTURE(method);
      CAPTURE(path);
      const auto r = usain.respond({method, path, false}, false);
      CHECK(r.status == 405);
      CHECK(r.allow_get_head);
      CHECK(r.content_type == "text/plain; charset=utf-8");
      CHECK(r.body == "Only GET method valid");
    }
  }
}

TEST_CASE("a request that announces a body always closes its connection") {
  CHECK(usain.respond({"POST", "/", true}, false).close);
  CHECK(usain.respond({"GET", "/", true}, false).close);
  CHECK_FALSE(usain.respond({"POST", "/", false}, false).close);
  CHECK(fa::announces_body(true, "5", false));
  CHECK(fa::announces_body(true, "abc", false));
  CHECK(fa::announces_body(false, "", true));
  CHECK(fa::announces_body(true, "0", true));
  CHECK_FALSE(fa::announces_body(true, "0", false));
  CHECK_FALSE(fa::announces_body(false, "", false));
}

TEST_CASE("a header value holding NUL, CR or LF is a 400 that closes the connection") {
  fa::RequestView req{"GET", "/", false};
  req.bad_field_value = true;
  const auto r = usain.respond(req, false);
  CHECK(r.status == 400);
  CHECK(r.close);
  CHECK(r.body == R"({"error":"bad request"})");
}

TEST_CASE("unknown paths are 404 with a small JSON body that does not echo the path") {
  for (const char* path : {"/x", "/healthz/", "//", "/<script>", "/readyz?x"}) {
    const auto r = get(path);
    CHECK(r.status == 404);
    CHECK(r.content_type == "application/json");
    CHECK(r.body == R"({"error":"not found"})");
  }
}

TEST_CASE("liveness and readiness") {
  CHECK(get("/healthz").status == 200);
  CHECK(get("/healthz").body == R"({"status":"ok"})");
  CHECK(get("/healthz", true).status == 200);  // draining is not dying
  CHECK(get("/readyz").status == 200);
  CHECK(get("/readyz", true).status == 503);
  CHECK(get("/readyz", true).body == R"({"status":"draining"})");
  CHECK(get("/", true).status == 200);  // still serving while draining
}

TEST_CASE("GET /metrics serves the Prometheus exposition when metrics are wired") {
  const fa::Service with_metrics("Usain Bolt", [] { return std::string("up 1\n"); });
  const auto r = with_metrics.respond({"GET", "/metrics", false}, false);
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r.body == "up 1\n");
  CHECK(with_metrics.respond({"POST", "/metrics", false}, false).status == 405);
  CHECK(get("/metrics").status == 404);  // no metrics source: an unknown path
}

TEST_CASE("the athlete's name is JSON-escaped once, whatever it contains") {
  const fa::Service odd("Zoë \"Lightning\" \\ O'Brien\n\t\x01 蘇炳添");
  const auto parsed = nlohmann::json::parse(odd.respond({"GET", "/", false}, false).body);
  CHECK(parsed.at("myFavoriteAthlete") == "Zoë \"Lightning\" \\ O'Brien\n\t\x01 蘇炳添");
  CHECK(parsed.size() == 1);
  CHECK(odd.greeting() == R"({"myFavoriteAthlete":"Zoë \"Lightning\" \\ O'Brien\n\t\u0001 蘇炳添"})");
}

TEST_CASE("requests refused by the parser") {
  SUBCASE("an unknown but well-formed method is 405, not 400") {
    const auto r = fa::parser_rejection(400, "BREW", "HTTP/1.1");
    CHECK(r.status == 405);
    CHECK(r.allow_get_head);
    CHECK(r.body == "Only GET method valid");
    CHECK(r.close);
  }
  SUBCASE("a malformed request line stays 400") {
    CHECK(fa::parser_rejection(400, "GET", "HTTP/1.1").status == 400);  // bad headers
    CHECK(fa::parser_rejection(400, "BR EW", "HTTP/1.1").status == 400);
    CHECK(fa::parser_rejection(400, "BREW", "HTTP/2.0").status == 400);
    CHECK(fa::parser_rejection(400, "", "").status == 400);
    CHECK(fa::parser_rejection(400, "PRI", "HTTP/2.0").status == 400);  // HTTP/2 preface
  }
  SUBCASE("other statuses keep their code, get a JSON error and close") {
    const auto r = fa::parser_rejection(414, "", "");
    CHECK(r.status == 414);
    CHECK(r.body == R"({"error":"uri too long"})");
    CHECK(r.close);
    CHECK(fa::parser_rejection(431, "GET", "HTTP/1.1").body == R"({"error":"request header fields too large"})");
  }
  CHECK(fa::internal_error().status == 500);
  CHECK(fa::internal_error().body == R"({"error":"internal server error"})");
  CHECK(fa::internal_error().close);
}

TEST_CASE("is_token follows RFC 9110") {
  CHECK(fa::is_token("GET"));
  CHECK(fa::is_token("M-SEARCH"));
  CHECK(fa::is_token("x!#$%&'*+-.^_`|~9"));
  CHECK_FALSE(fa::is_token(""));
  CHECK_FALSE(fa::is_token("G ET"));
  CHECK_FALSE(fa::is_token("GET\r"));
  CHECK_FALSE(fa::is_token("(GET)"));
  CHECK_FALSE(fa::is_token("\xc3\xa9"));
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
}

TEST_CASE("configuration from the environment, overridden by flags") {
  const auto p = parse({"--port", "9000", "--access-log=off"},
                       {{"PORT", "8081"}, {"BIND_ADDRESS", "::1"}, {"FAVORITE_ATHLETE", "Shelly-Ann Fraser-Pryce"},
                        {"DRAIN_SECONDS", "0"}, {"SHUTDOWN_TIMEOUT_SECONDS", "3"}, {"THREADS", "4"},
                        {"ACCESS_LOG", "on"}, {"KEEPALIVE_TIMEOUT_SECONDS", "75"}, {"READ_TIMEOUT_SECONDS", "2"}});
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
      {{}, {{"FAVORITE_ATHLETE", std::string(1025, 'x')}}, "is invalid: expected a non-empty UTF-8 string of at most 1024"},
      {{}, {{"DRAIN_SECONDS", "1.5"}}, "DRAIN_SECONDS=\"1.5\" is invalid: expected an integer from 0 to 3600"},
      {{}, {{"SHUTDOWN_TIMEOUT_SECONDS", "0"}}, "SHUTDOWN_TIMEOUT_SECONDS=\"0\" is invalid"},
      {{}, {{"THREADS", "0"}}, "THREADS=\"0\" is invalid: expected auto or an integer from 1 to 4096"},
      {{}, {{"THREADS", "many"}}, "THREADS=\"many\" is invalid: expected auto or an integer"},
      {{}, {{"ACCESS_LOG", "yes"}}, "ACCESS_LOG=\"yes\" is invalid: expected on or off"},
      {{}, {{"KEEPALIVE_TIMEOUT_SECONDS", "0"}}, "KEEPALIVE_TIMEOUT_SECONDS=\"0\" is invalid"},
      {{}, {{"READ_TIMEOUT_SECONDS", "301"}}, "READ_TIMEOUT_SECONDS=\"301\" is invalid"},
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
  for (const char* env : {"PORT", "BIND_ADDRESS", "FAVORITE_ATHLETE", "DRAIN_SECONDS", "SHUTDOWN_TIMEOUT_SECONDS",
                          "THREADS", "ACCESS_LOG", "KEEPALIVE_TIMEOUT_SECONDS", "READ_TIMEOUT_SECONDS", "--check"}) {
    CHECK(fa::usage().find(env) != std::string::npos);
  }
}

TEST_CASE("access log lines are single-line JSON even for hostile paths") {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
  const std::string hostile = std::string("/a\"b\nc\0d", 8) + "\xff\xfe";
  const auto line = fa::access_line({"GET", hostile, 404, 1.23456, "127.0.0.1:4242"}, t);
  REQUIRE(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  const auto j = nlohmann::json::parse(line);
  CHECK(j.at("time") == "2023-11-14T22:13:20.123Z");
  CHECK(j.at("method") == "GET");
  CHECK(j.at("status") == 404);
  CHECK(j.at("duration_ms") == doctest::Approx(1.234));
  CHECK(j.at("peer") == "127.0.0.1:4242");
  CHECK(j.at("msg") == "request");
  CHECK(j.at("path").get<std::string>().find("\xEF\xBF\xBD") != std::string::npos);
}
