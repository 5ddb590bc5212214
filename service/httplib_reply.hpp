// A Reply of the pure layer (handlers.hpp) written into cpp-httplib's response: the one way the
// public port (http_server.hpp) and the metrics port (metrics_server.hpp) both answer.
#pragma once

#include <httplib.h>

#include <string>
#include <utility>

#include "handlers.hpp"

namespace favorite_athlete {

// The content types a Reply can carry, all constants: each a valid field value (RFC 9110 5.5),
// which set_header would check again on every reply.
static_assert(detail::is_field_value(kJson) && detail::is_field_value(kText) &&
              detail::is_field_value(kPrometheusText));

inline void write_reply(Reply reply, httplib::Response& res) {
  // The field name as the std::string cpp-httplib's maps take: built once, not per reply.
  static const std::string kContentType = "Content-Type";
  res.status = reply.status;
  res.body = std::move(reply.body);
  // set_content would do the same: one Content-Type, this one; but it checks the constant again.
  res.headers.erase(kContentType);
  res.headers.emplace(kContentType, reply.content_type);
  if (reply.allow_get_head) res.set_header("Allow", "GET, HEAD");
}

}  // namespace favorite_athlete
