// RFC 9112 request heads: conformance and whether a body is announced (check_head), and the
// request-target forms (origin_path).
// cpp-httplib's parser refuses some malformed heads and lets others through (which ones has
// changed between its releases), waits for a CRLF after a bare LF, and checks neither Host, the
// framing headers nor the target form. So the head is checked again here, on the bytes as
// received, and every supported version answers alike.
// docs/conformance.md lists each rule and the choices made where the RFC leaves one.
// Pure: no sockets, no I/O. handlers.hpp answers what check_head refuses.
#pragma once

#include <array>
#include <cctype>
#include <string_view>
#include <vector>

namespace favorite_athlete {

struct HeadCheck {
  int status = 0;  // 0: conforming; else 400 or 501, and the connection closes
  std::string_view problem;
  // The request announces a body (RFC 9112 6.3): a Transfer-Encoding, or a Content-Length but 0.
  // Bodies are never read here, so such a request ends its connection: its bytes can't become a
  // request.
  bool body = false;
};
// No empty line yet: the parser may have refused the request line before reading further.
inline constexpr std::string_view kIncompleteHead = "incomplete request head";

namespace detail {

// Byte classes as 256-entry tables: check_head looks at every byte of every request head, and a
// table is one load per byte where a search of the set of punctuation is a call.
template <typename F>
constexpr std::array<bool, 256> byte_class(F member) {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) table[static_cast<std::size_t>(c)] = member(static_cast<unsigned char>(c));
  return table;
}
constexpr bool is_alnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
constexpr bool is_one_of(unsigned char c, std::string_view set) { return set.find(static_cast<char>(c)) != set.npos; }
// RFC 9110 5.6.2: tchar.
inline constexpr auto kTchar = byte_class(
    [](unsigned char c) { return is_alnum(c) || is_one_of(c, "!#$%&'*+-.^_`|~"); });
// RFC 9110 5.5: field-value characters are HTAB, SP, VCHAR and obs-text; no other CTL, no DEL.
inline constexpr auto kFieldValue = byte_class([](unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7F); });
// RFC 3986 3.2.2: a reg-name's unreserved and sub-delims characters (pct-encoded is checked apart).
inline constexpr auto kRegName = byte_class(
    [](unsigned char c) { return is_alnum(c) || is_one_of(c, "-._~!$&'()*+,;="); });

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool all_digits(std::string_view s) {
  for (const char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

constexpr bool is_field_value(std::string_view v) {
  for (const char c : v) {
    if (!kFieldValue[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

// RFC 9110 7.2: Host = uri-host [ ":" port ], uri-host an IP-literal or a reg-name (an IPv4
// address is one too). Empty is valid: a target URI without authority.
inline bool is_host(std::string_view v) {
  std::string_view host = v, port;
  if (!v.empty() && v.front() == '[') {
    const auto close = v.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    if (v.substr(1, close - 1).find_first_not_of("0123456789abcdefABCDEF:.vV") != std::string_view::npos) return false;
    host = {};
    const auto rest = v.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    port = rest.empty() ? rest : rest.substr(1);
  } else if (const auto colon = v.find(':'); colon != std::string_view::npos) {
    host = v.substr(0, colon);
    port = v.substr(colon + 1);
  }
  for (std::size_t i = 0; i < host.size(); ++i) {
    if (kRegName[static_cast<unsigned char>(host[i])]) continue;
    const bool pct = host[i] == '%' && i + 2 < host.size() && std::isxdigit(static_cast<unsigned char>(host[i + 1])) &&
                     std::isxdigit(static_cast<unsigned char>(host[i + 2]));
    if (!pct) return false;
  }
  return all_digits(port);
}

// Splits a comma-separated field value into its non-empty, OWS-trimmed elements.
template <typename F>
void for_each_element(std::string_view v, F f) {
  while (!v.empty()) {
    const auto comma = v.find(',');
    const auto element = trim_ows(v.substr(0, comma));
    if (!element.empty()) f(element);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
}

// RFC 9112 6.1 and 6.3: the transfer codings of a request, in order.
inline HeadCheck check_transfer_codings(const std::vector<std::string_view>& codings, bool http10,
                                        bool has_content_length) {
  // Choices (RFC: MAY reject / MUST close): both framings at once, or Transfer-Encoding in
  // HTTP/1.0, are rejected outright; such a request is a smuggling attempt, not a client.
  if (http10) return {400, "Transfer-Encoding in an HTTP/1.0 request"};
  if (has_content_length) return {400, "both Transfer-Encoding and Content-Length"};
  if (codings.empty() || !iequals(codings.back().substr(0, codings.back().find(';')), "chunked")) {
    return {400, "chunked is not the final transfer coding"};
  }
  for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
    if (iequals(trim_ows(codings[i].substr(0, codings[i].find(';'))), "chunked")) {
      return {400, "chunked applied more than once"};
    }
  }
  // Only chunked is implemented (and its body is never read): RFC 9112 6.1 says SHOULD 501.
  if (codings.size() > 1) return {501, "a transfer coding this server does not implement"};
  return {};
}

}  // namespace detail

// RFC 9110 5.6.2: token = 1*tchar.
inline bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!detail::kTchar[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

// Checks a request head: `head` holds the request line and the field lines as received, up to
// and including the empty line (bytes after it are ignored).
inline HeadCheck check_head(std::string_view head) {
  using namespace detail;
  bool first = true, http10 = false, http11 = false, ended = false;
  std::string_view method;
  int hosts = 0;
  bool host_ok = true, has_te = false;
  std::vector<std::string_view> lengths, codings;
  while (!head.empty()) {
    const auto eol = head.find('\n');
    if (eol == std::string_view::npos) break;
    if (eol == 0 || head[eol - 1] != '\r') return {400, "a line ends in a bare LF"};
    const auto line = head.substr(0, eol - 1);
    head.remove_prefix(eol + 1);
    if (line.find('\r') != std::string_view::npos) return {400, "a bare CR"};
    if (first) {
      // request-line = method SP request-target SP HTTP-version, single SPs (RFC 9112 3)
      first = false;
      const auto sp1 = line.find(' ');
      const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
      if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
        return {400, "invalid request line"};
      }
      method = line.substr(0, sp1);
      const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      const auto version = line.substr(sp2 + 1);
      if (!is_token(method) || target.empty()) return {400, "invalid request line"};
      for (const char ch : target) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c >= 0x7F) return {400, "invalid request target"};
      }
      if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || !is_digit(version[7])) {
        return {400, "unsupported HTTP version"};
      }
      http10 = version == "HTTP/1.0";
      http11 = !http10;
      // Request-target forms (RFC 9112 3.2): origin-form for any method; absolute-form (which a
      // server MUST accept) for http(s); asterisk-form only for OPTIONS, authority-form only for
      // CONNECT.
      if (target.front() == '/') continue;
      const auto scheme_end = target.find("://");
      if (target == "*") {
        if (method != "OPTIONS") return {400, "asterisk-form is only for OPTIONS"};
      } else if (scheme_end != std::string_view::npos) {
        const auto scheme = target.substr(0, scheme_end);
        if (!iequals(scheme, "http") && !iequals(scheme, "https")) return {400, "not an http(s) URI"};
      } else if (method != "CONNECT") {
        return {400, "authority-form is only for CONNECT"};
      }
      continue;
    }
    if (line.empty()) {
      ended = true;
      break;
    }
    // A line starting with whitespace is obs-fold, or (first) a line to consume: rejected (choice).
    if (line.front() == ' ' || line.front() == '\t') return {400, "obsolete line folding"};
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return {400, "a field line without a colon"};
    const auto name = line.substr(0, colon);
    const auto value = trim_ows(line.substr(colon + 1));
    // Not a token: also whitespace before the colon, which RFC 9112 5.1 says MUST be a 400.
    if (!is_token(name)) return {400, "invalid field name"};
    if (!is_field_value(value)) return {400, "invalid character in a field value"};
    if (iequals(name, "Host")) {
      ++hosts;
      host_ok = host_ok && is_host(value);
    } else if (iequals(name, "Content-Length")) {
      for_each_element(value, [&](std::string_view e) { lengths.push_back(e); });
      if (value.empty()) lengths.push_back(value);
    } else if (iequals(name, "Transfer-Encoding")) {
      has_te = true;
      for_each_element(value, [&](std::string_view e) { codings.push_back(e); });
    }
  }
  if (!ended) return {400, kIncompleteHead};
  // RFC 9112 3.2: MUST 400 an HTTP/1.1 request without Host, any request with more than one,
  // and any with an invalid value (absolute-form too: the client MUST send Host anyway).
  if (hosts == 0 && http11) return {400, "no Host"};
  if (hosts > 1) return {400, "more than one Host"};
  if (!host_ok) return {400, "invalid Host"};
  if (has_te) {
    HeadCheck check = check_transfer_codings(codings, http10, !lengths.empty());
    check.body = true;
    return check;
  }
  // RFC 9112 6.3: an invalid Content-Length MUST be a 400. Differing values MUST be; a list of
  // equal ones MAY be taken as one: rejected here too (choice), no client sends that.
  if (lengths.size() > 1) return {400, "more than one Content-Length"};
  if (!lengths.empty() && (lengths[0].empty() || lengths[0].size() > 18 || !all_digits(lengths[0]))) {
    return {400, "invalid Content-Length"};
  }
  return {0, {}, !lengths.empty() && lengths[0] != "0"};
}

// The path to route: absolute-form targets ("http://host/p", RFC 9112 3.2.2) are routed by their
// path, exactly as the origin-form "/p" would be.
inline std::string_view origin_path(std::string_view path) {
  if (path.empty() || path.front() == '/') return path;
  const auto scheme_end = path.find("://");
  if (scheme_end == std::string_view::npos) return path;
  const auto slash = path.find('/', scheme_end + 3);
  return slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
}

}  // namespace favorite_athlete
