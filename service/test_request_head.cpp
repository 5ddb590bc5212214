// Unit tests of request_head.hpp: RFC 9112 request heads, tokens, request-target forms. No sockets.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "service/request_head.hpp"

namespace fa = favorite_athlete;

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
      {h("GET / HTTP/1.1", "Host: a-._~!$&'()*+,;=%4Fz\r\n"), 0},  // every reg-name character
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
      {h("GET / HTTP/1.1", "Host: a\"b\r\n"), 400},
      {h("GET / HTTP/1.1", "Host: a%4\r\n"), 400},
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

TEST_CASE("check_head: whether the request announces a body (RFC 9112 6.3)") {
  const auto body = [](std::string_view fields) {
    return fa::check_head("POST / HTTP/1.1\r\nHost: t\r\n" + std::string(fields) + "\r\n").body;
  };
  CHECK(body("Content-Length: 5\r\n"));
  CHECK(body("Transfer-Encoding: chunked\r\n"));
  CHECK(body("Transfer-Encoding: gzip\r\n"));  // refused, and still a body announced
  CHECK(body("Content-Length: 0\r\nTransfer-Encoding: chunked\r\n"));
  CHECK_FALSE(body("Content-Length: 0\r\n"));
  CHECK_FALSE(body(""));
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

TEST_CASE("origin_path: the path of an absolute-form target") {
  CHECK(fa::origin_path("/x") == "/x");
  CHECK(fa::origin_path("http://t/healthz") == "/healthz");
  CHECK(fa::origin_path("http://t") == "/");
  CHECK(fa::origin_path("HTTPS://t:8/a/b") == "/a/b");
  CHECK(fa::origin_path("*") == "*");
}
