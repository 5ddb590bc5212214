// Unit tests of the HTTP contract (handlers.hpp): every route and every reply. No sockets. The
// doctest main of the pure layer's tests (service/test_request_head.cpp, service/test_config.cpp).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <deque>

#include "handlers.hpp"

namespace fa = favorite_athlete;

namespace {

const fa::Service usain("Usain Bolt");

// A request as the HTTP layer hands it over: method, path, and the head as it was received.
fa::Reply respond(const fa::Service& service, std::string_view method, std::string_view path,
                  std::string_view fields = "", bool draining = false) {
  static std::deque<std::string> heads;  // the views below outlive this call
  heads.push_back(std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: test\r\n" + std::string(fields) +
                  "\r\n");
  return service.respond({method, path, heads.back()}, draining);
}

fa::Reply get(std::string_view path, bool draining = false) { return respond(usain, "GET", path, "", draining); }

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
  for (const char* fields : {"Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n", "Content-Length: abc\r\n",
                             "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n"}) {
    CAPTURE(fields);
    CHECK(respond(usain, "POST", "/", fields).close);
    CHECK(respond(usain, "GET", "/", fields).close);
  }
  CHECK_FALSE(respond(usain, "POST", "/").close);
  CHECK_FALSE(respond(usain, "GET", "/", "Content-Length: 0\r\n").close);
}

TEST_CASE("a head check_head refuses is a JSON 400 (or 501) that says why and closes the connection") {
  const std::string head("GET / HTTP/1.1\r\nX: a\0b\r\nHost: t\r\n\r\n", 35);
  const std::string_view view(head.data(), head.size());
  const auto r = usain.respond({"GET", "/", view}, false);
  CHECK(r.status == 400);
  CHECK(r.close);
  CHECK(r.body == R"({"detail":"invalid character in a field value","error":"bad request"})");
  const auto te = usain.respond({"GET", "/", "GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"},
                                false);
  CHECK(te.status == 501);
  CHECK(te.close);
}

TEST_CASE("absolute-form targets are routed by their path") {
  const std::string head = "GET http://other/readyz HTTP/1.1\r\nHost: t\r\n\r\n";
  CHECK(usain.respond({"GET", "http://other/readyz", head}, false).body == R"({"status":"ready"})");
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
