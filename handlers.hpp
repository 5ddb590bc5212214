// The HTTP contract of favorite-athlete: a request view in, a reply out; no sockets, no I/O, no
// globals. The routes are Service::route, just below. service/http_server.hpp adapts this to
// cpp-httplib, server.cpp runs it; service/request_head.hpp checks each request head first.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "service/request_head.hpp"

namespace favorite_athlete {

struct RequestView {
  std::string_view method;
  std::string_view path;  // percent-decoded, without the query string (absolute-form: with scheme://host)
  std::string_view head;  // the request line and field lines as received (see check_head)
};

struct Reply {
  int status = 200;
  std::string_view content_type;  // one of the constants below
  std::string body;               // HEAD replies keep it: the HTTP layer sends its length but not its bytes
  bool allow_get_head = false;    // send "Allow: GET, HEAD"
  bool close = false;             // close the connection after this reply
};

inline constexpr std::string_view kJson = "application/json";
inline constexpr std::string_view kText = "text/plain; charset=utf-8";
inline constexpr std::string_view kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view kMethodNotAllowed = "Only GET method valid";

// The replies the routes give, defined below them.
inline Reply json_reply(int status, std::string body);
inline std::string json_error(std::string_view message);
inline std::string_view reason(int status);
inline Reply method_not_allowed();
inline Reply head_rejection(const HeadCheck& check);

class Service {
 public:
  // Serialised once: any string, quotes and non-ASCII included, comes out as valid JSON.
  // Throws nlohmann::json::type_error on invalid UTF-8 (config validation rejects it first).
  explicit Service(const std::string& athlete) : greeting_(nlohmann::json{{"myFavoriteAthlete", athlete}}.dump()) {}

  const std::string& greeting() const { return greeting_; }

  // The head is checked first (request_head.hpp), then routed.
  Reply respond(const RequestView& req, bool draining) const {
    const HeadCheck check = check_head(req.head);
    Reply reply = check.status != 0 ? head_rejection(check) : route(req, draining);
    reply.close = reply.close || check.body || reply.status == 400;
    return reply;
  }

 private:
  // The routes: the method, then the path.
  Reply route(const RequestView& req, bool draining) const {
    if (req.method != "GET" && req.method != "HEAD") return method_not_allowed();
    // The public port never serves /metrics (an unknown path here): see the metrics port.
    const std::string_view path = origin_path(req.path);
    if (path == "/") return json_reply(200, greeting_);
    if (path == "/healthz") return json_reply(200, R"({"status":"ok"})");
    if (path == "/readyz") {
      return draining ? json_reply(503, R"({"status":"draining"})") : json_reply(200, R"({"status":"ready"})");
    }
    return json_reply(404, json_error(reason(404)));
  }

  std::string greeting_;
};

// --- replies ----------------------------------------------------------------------------------

inline std::string json_error(std::string_view message) { return nlohmann::json{{"error", message}}.dump(); }

inline Reply json_reply(int status, std::string body) { return Reply{status, kJson, std::move(body), false, false}; }

inline Reply method_not_allowed() { return Reply{405, kText, std::string(kMethodNotAllowed), true, false}; }

inline std::string_view reason(int status) {
  switch (status) {
    case 400: return "bad request";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 408: return "request timeout";
    case 413: return "payload too large";
    case 414: return "uri too long";
    case 416: return "range not satisfiable";
    case 417: return "expectation failed";
    case 431: return "request header fields too large";
    case 500: return "internal server error";
    case 501: return "not implemented";
    case 503: return "service unavailable";
    default: return status >= 500 ? "server error" : "client error";
  }
}

// The reply to a request head that check_head refuses: the connection closes, since the framing
// of whatever follows cannot be trusted.
inline Reply head_rejection(const HeadCheck& check) {
  Reply reply = json_reply(check.status,
                           nlohmann::json{{"error", reason(check.status)}, {"detail", check.problem}}.dump());
  reply.close = true;
  return reply;
}

// Replies to requests the HTTP parser refused before routing (bad request line, oversized URI or
// headers...). A 400 for a head that check_head refuses too gets its reason. A well-formed
// request line whose method is not GET or HEAD is still answered 405: the parser rejects methods
// it does not know, but to this service every such method is simply not allowed. The connection
// is always closed: the rest of the request was never parsed.
inline Reply parser_rejection(int status, std::string_view method, std::string_view version,
                              std::string_view head = {}) {
  if (const HeadCheck check = check_head(head);
      status == 400 && check.status != 0 && check.problem != kIncompleteHead) {
    return head_rejection(check);
  }
  const bool request_line_ok = is_token(method) && (version == "HTTP/1.1" || version == "HTTP/1.0");
  Reply reply = (status == 400 && request_line_ok && method != "GET" && method != "HEAD")
                    ? method_not_allowed()
                    : json_reply(status, json_error(reason(status)));
  reply.close = true;
  return reply;
}

inline Reply internal_error() {
  Reply reply = json_reply(500, json_error(reason(500)));
  reply.close = true;
  return reply;
}

// The metrics port's one route: GET or HEAD /metrics, the Prometheus text exposition.
inline Reply metrics_reply(std::string_view method, std::string_view path, const std::function<std::string()>& render) {
  if (method != "GET" && method != "HEAD") return method_not_allowed();
  if (path != "/metrics") return json_reply(404, json_error(reason(404)));
  return Reply{200, kPrometheusText, render(), false, false};
}

}  // namespace favorite_athlete
