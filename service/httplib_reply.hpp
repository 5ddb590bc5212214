// A Reply of the pure layer (handlers.hpp) written into cpp-httplib's response: the one way the
// public port (http_server.hpp) and the metrics port (metrics_server.hpp) both answer.
#pragma once

#include <httplib.h>

#include <string>
#include <utility>

#include "handlers.hpp"

namespace favorite_athlete {

inline void write_reply(Reply reply, httplib::Response& res) {
  res.status = reply.status;
  // set_content takes the type as a std::string: one per thread, reused, not one per reply.
  thread_local std::string content_type;
  content_type.assign(reply.content_type);
  res.set_content(std::move(reply.body), content_type);
  if (reply.allow_get_head) res.set_header("Allow", "GET, HEAD");
}

}  // namespace favorite_athlete
