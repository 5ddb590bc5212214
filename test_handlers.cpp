// Unit tests of the pure layer: the HTTP contract, configuration and log lines. No sockets.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <deque>
#include <map>

#include "handlers.hpp"
#include "service/config.hpp"
#include "service/logging.hpp"

namespace fa = favorite_athlete;

namespace {

const fa::Service usain("Usain Bolt");

// A request as the HTTP layer hands it over: method, path, and the head as it was received.
fa::Reply respond(const fa::Service& service, std::string_view method, std::string_view path, bool body = false,
                  bool draining = false) {
  static std::deque<std::string> heads;  // the views below outlive this call
  heads.push_back(std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: test\r\n\r\n");
  return service.respond({method, path, body, heads.back()}, draining);
}

fa::Reply get(std::string_view path, bool draining = false) { return respond(usain, "GET", path, false, draining); }

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
    const auto h = respond(usain, "HEAD", path);
    CHECK(h.status == g.status);
    CHECK(h.content_type == g.content_type);
    CHECK(h.body == g.body);
  }
}

TEST_CASE("every other method on any path is 405 with Allow and the exact text") {
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "get"}) {
    for (const char* path : {"/", "/healthz", "/readyz", "/anything", "/metrics"}) {
      CAPTURE(method);
      CAPTURE(path);
      const auto r = respond(usain, method, path);
      CHECK(r.status == 405);
      CHECK(r.allow_get_head);
      CHECK(r.content_type == "text/plain; charset=utf-8");
      CHECK(r.body == "Only GET method valid");
    }
  }
  CHECK(respond(usain, "OPTIONS", "*").status == 405);                // asterisk-form: OPTIONS only
  CHECK(respond(usain, "CONNECT", "example.org:443").status == 405);  // authority-form: CONNECT only
}

TEST_CASE("a request that announces a body always closes its connection") {
  CHECK(respond(usain, "POST", "/", true).close);
  CHECK(respond(usain, "GET", "/", true).close);
  CHECK_FALSE(respond(usain, "POST", "/", false).close);
  CHECK(fa::announces_body(true, "5", false));
  CHECK(fa::announces_body(true, "abc", false));
  CHECK(fa::announces_body(false, "", true));
  CHECK(fa::announces_body(true, "0", true));
  CHECK_FALSE(fa::announces_body(true, "0", false));
  CHECK_FALSE(fa::announces_body(false, "", false));
}

TEST_CASE("a head check_head refuses is a JSON 400 (or 501) that says why and closes the connection") {
  const std::string head("GET / HTTP/1.1\r\nX: a\0b\r\nHost: t\r\n\r\n", 35);
  const std::string_view view(head.data(), head.size());
  const auto r = usain.respond({"GET", "/", false, view}, false);
  CHECK(r.status == 400);
  CHECK(r.close);
  CHECK(r.body == R"({"detail":"invalid character in a field value","error":"bad request"})");
  const auto te = usain.respond(
      {"GET", "/", true, "GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"}, false);
  CHECK(te.status == 501);
  CHECK(te.close);
}

TEST_CASE("check_head: RFC 9112 request heads") {
  struct Case {
    std::string head;
    int status;
  };
  const auto h = [](std::string_view line, std::string_view fields = "Host: t\r\n") {
    return std::string(line) + "\r\n" + std::string(fields) + "\r\n";
  };
  const std::vector<Case> cases = {
      {h("GET / HTTP/1.1"), 0},
      {h("GET /a?b=c HTTP/1.1"), 0},
      {h("GET / HTTP/1.0", ""), 0},                           // HTTP/1.0 needs no Host
      {h("GET / HTTP/1.1", "Host: t\r\nX:\r\n"), 0},          // empty value
      {h("GET / HTTP/1.1", "Host: t\r\nX: caf\xe9\r\n"), 0},  // obs-text
      {h("GET / HTTP/1.1", "Host: t\r\nX: %00\r\n"), 0},      // not percent-decoded
      {h("GET / HTTP/1.1", "Host:\r\n"), 0},                  // empty Host
      {h("GET / HTTP/1.1", "Host: [::1]:80\r\n"), 0},
      {h("GET / HTTP/1.1", "Host: 127.0.0.1:8080\r\n"), 0},
      {h("GET / HTTP/1.1", "host: xn--bcher-kva.example\r\n"), 0},
      {h("GET http://t/x HTTP/1.1"), 0},
      {h("GET HTTPS://t HTTP/1.1"), 0},
      {h("OPTIONS * HTTP/1.1"), 0},
      {h("CONNECT t:443 HTTP/1.1"), 0},
      {h("GET / HTTP/1.1", "Host: t\r\nContent-Length: 0\r\n"), 0},
      {h("POST / HTTP/1.1", "Host: t\r\nContent-Length: 12\r\n"), 0},
      {h("POST / HTTP/1.1", "Host: t\r\nTransfer-Encoding: chunked\r\n"), 0},
      {h("POST / HTTP/1.1", "Host: t\r\nTransfer-Encoding: Chunked\r\n"), 0},
      // request line
      {h("GET  / HTTP/1.1"), 400},
      {h("GET / HTTP/1.1 "), 400},
      {h("GET\t/ HTTP/1.1"), 400},
      {h("GET /a b HTTP/1.1"), 400},
      {h("GET /\x7f HTTP/1.1"), 400},
      {h("GET /\xc3\xa9 HTTP/1.1"), 400},
      {h("GET / http/1.1"), 400},
      {h("GET / HTTP/2.0"), 400},
      {h("GET / HTTP/1.10"), 400},
      {h("G(T / HTTP/1.1"), 400},
      {h("GET * HTTP/1.1"), 400},
      {h("POST * HTTP/1.1"), 400},
      {h("GET t:80 HTTP/1.1"), 400},
      {h("GET ftp://t/ HTTP/1.1"), 400},
      // line endings
      {"GET / HTTP/1.1\nHost: t\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: t\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: t\r\nX: a\rb\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: t\r\n", 400},  // incomplete
      {"", 400},
      // field lines
      {h("GET / HTTP/1.1", " X: a\r\nHost: t\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: t\r\nX: a\r\n\tb\r\n"), 400},
      {h("GET / HTTP/1.1", "Host : t\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: t\r\n: a\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: t\r\nX a\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: t\r\nX: a\x01\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: t\r\nX: a\x7f\r\n"), 400},
      // Host
      {h("GET / HTTP/1.1", ""), 400},
      {h("GET http://t/ HTTP/1.1", ""), 400},
      {h("GET / HTTP/1.1", "Host: t\r\nHost: t\r\n"), 400},
      {h("GET / HTTP/1.0", "Host: a\r\nHost: b\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: a b\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: a/b\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: a:b\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: [::1\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: a@b\r\n"), 400},
      // framing
      {h("GET / HTTP/1.1", "Host: t\r\nContent-Length: abc\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: t\r\nContent-Length: -1\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: t\r\nContent-Length:\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: t\r\nContent-Length: 1, 1\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: t\r\nContent-Length: 1234567890123456789\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: t\r\nTransfer-Encoding: gzip\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: t\r\nTransfer-Encoding:\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: t\r\nTransfer-Encoding: chunked, gzip\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: t\r\nTransfer-Encoding: chunked, chunked\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n"), 400},
      {h("GET / HTTP/1.0", "Transfer-Encoding: chunked\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: t\r\nTransfer-Encoding: gzip, chunked\r\n"), 501},
      {h("GET / HTTP/1.1", "Host: t\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"), 501},
  };
  for (const auto& c : cases) {
    CAPTURE(c.head);
    const auto check = fa::check_head(c.head);
    CHECK(check.status == c.status);
    CHECK((check.status == 0) == check.problem.empty());
  }
  // Bytes after the empty line (a body, the next request) are not the head's business.
  CHECK(fa::check_head("GET / HTTP/1.1\r\nHost: t\r\n\r\nGARBAGE\n\x00").status == 0);
}

TEST_CASE("absolute-form targets are routed by their path") {
  CHECK(fa::origin_path("/x") == "/x");
  CHECK(fa::origin_path("http://t/healthz") == "/healthz");
  CHECK(fa::origin_path("http://t") == "/");
  CHECK(fa::origin_path("HTTPS://t:8/a/b") == "/a/b");
  CHECK(fa::origin_path("*") == "*");
  const std::string head = "GET http://other/readyz HTTP/1.1\r\nHost: t\r\n\r\n";
  CHECK(usain.respond({"GET", "http://other/readyz", false, head}, false).body == R"({"status":"ready"})");
}

TEST_CASE("Date is an IMF-fixdate") {
  CHECK(fa::http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(fa::http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
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

TEST_CASE("/metrics: only on the metrics port") {
  CHECK(get("/metrics").status == 404);  // the public port: an unknown path
  const auto render = [] { return std::string("up 1\n"); };
  const auto r = fa::metrics_reply("GET", "/metrics", render);
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r.body == "up 1\n");
  CHECK(fa::metrics_reply("HEAD", "/metrics", render).status == 200);
  CHECK(fa::metrics_reply("POST", "/metrics", render).status == 405);
  CHECK(fa::metrics_reply("GET", "/", render).status == 404);
  CHECK(fa::metrics_reply("GET", "/healthz", render).status == 404);
}

TEST_CASE("the athlete's name is JSON-escaped once, whatever it contains") {
  const fa::Service odd("Zoë \"Lightning\" \\ O'Brien\n\t\x01 蘇炳添");
  const auto parsed = nlohmann::json::parse(respond(odd, "GET", "/").body);
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
    CHECK(fa::parser_rejection(400, "BREW", "HTTP/1.1", "BREW / HTTP/1.1\r\nHost: t\r\n\r\n").status == 405);
    CHECK(fa::parser_rejection(400, "BREW", "HTTP/1.1", "BREW / HTTP/1.1\r\n").status == 405);  // refused early
  }
  SUBCASE("a malformed request line stays 400") {
    CHECK(fa::parser_rejection(400, "GET", "HTTP/1.1").status == 400);  // bad headers
    CHECK(fa::parser_rejection(400, "BR EW", "HTTP/1.1").status == 400);
    CHECK(fa::parser_rejection(400, "BREW", "HTTP/2.0").status == 400);
    CHECK(fa::parser_rejection(400, "", "").status == 400);
    CHECK(fa::parser_rejection(400, "PRI", "HTTP/2.0").status == 400);  // HTTP/2 preface
  }
  SUBCASE("a head check_head refuses says why, whatever the method") {
    const auto r = fa::parser_rejection(400, "POST", "HTTP/1.1", "POST / HTTP/1.1\r\nHost: t\r\nX: a\n\n");
    CHECK(r.status == 400);
    CHECK(r.body == R"({"detail":"a line ends in a bare LF","error":"bad request"})");
    CHECK(r.close);
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
