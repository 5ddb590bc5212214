// Request-to-response logic of favorite-athlete: no sockets, no I/O, no globals.
// server.cpp and http_server.hpp adapt it to cpp-httplib.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace favorite_athlete {

struct RequestView {
  std::string_view method;
  std::string_view path;  // percent-decoded, without the query string
  bool announces_body = false;
  bool bad_field_value = false;  // a header value holds NUL, CR or LF (RFC 9110 5.5: reject)
};

struct Reply {
  int status = 200;
  std::string content_type;
  std::string body;  // HEAD replies keep it: the HTTP layer sends its length but not its bytes
  bool allow_get_head = false;  // send "Allow: GET, HEAD"
  bool close = false;           // close the connection after this reply
};

inline constexpr std::string_view kJson = "application/json";
inline constexpr std::string_view kText = "text/plain; charset=utf-8";
inline constexpr std::string_view kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view kMethodNotAllowed = "Only GET method valid";

// RFC 9110 5.6.2: token = 1*tchar.
inline bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(ch) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// A request carries a body when it says so in either framing header (RFC 9112 6.3). Bodies are
// never read here, so any such request ends its connection: its bytes can't become a request.
inline bool announces_body(bool has_content_length, std::string_view content_length,
                           bool has_transfer_encoding) {
  return has_transfer_encoding || (has_content_length && content_length != "0");
}

inline std::string json_error(std::string_view message) {
  return nlohmann::json{{"error", message}}.dump();
}

inline Reply json_reply(int status, std::string body) {
  return Reply{status, std::string(kJson), std::move(body), false, false};
}

inline Reply method_not_allowed() {
  return Reply{405, std::string(kText), std::string(kMethodNotAllowed), true, false};
}

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
    case 503: return "service unavailable";
    default: return status >= 500 ? "server error" : "client error";
  }
}

// Replies to requests the HTTP parser refused before routing (bad request line, oversized URI or
// headers...). A well-formed request line whose method is not GET or HEAD is still answered 405:
// the parser rejects methods it does not know, but to this service every such method is simply
// not allowed. The connection is always closed: the rest of the request was never parsed.
inline Reply parser_rejection(int status, std::string_view method, std::string_view version) {
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

class Service {
 public:
  // Serialised once: any string, quotes and non-ASCII included, comes out as valid JSON.
  // Throws nlohmann::json::type_error on invalid UTF-8 (config validation rejects it first).
  // metrics renders the Prometheus text exposition for GET /metrics (none: 404).
  explicit Service(const std::string& athlete, std::function<std::string()> metrics = {})
      : greeting_(nlohmann::json{{"myFavoriteAthlete", athlete}}.dump()), metrics_(std::move(metrics)) {}

  const std::string& greeting() const { return greeting_; }

  Reply respond(const RequestView& req, bool draining) const {
    Reply reply = route(req, draining);
    reply.close = reply.close || req.announces_body || reply.status == 400;
    return reply;
  }

 private:
  Reply route(const RequestView& req, bool draining) const {
    if (req.bad_field_value) return json_reply(400, json_error(reason(400)));
    if (req.method != "GET" && req.method != "HEAD") return method_not_allowed();
    if (req.path == "/") return json_reply(200, greeting_);
    if (req.path == "/healthz") return json_reply(200, R"({"status":"ok"})");
    if (req.path == "/readyz") {
      return draining ? json_reply(503, R"({"status":"draining"})") : json_reply(200, R"({"status":"ready"})");
    }
    if (req.path == "/metrics" && metrics_) return Reply{200, std::string(kPrometheusText), metrics_(), false, false};
    return json_reply(404, json_error(reason(404)));
  }

  std::string greeting_;
  std::function<std::string()> metrics_;
};

}  // namespace favorite_athlete
