// The metrics port (METRICS_PORT): GET /metrics for Prometheus, and nothing else, on a listener
// of its own, so the public port (and so the Ingress) never serves build info or connection
// gauges. Reached only by the scraper (NetworkPolicy of manifests/components/metrics-scrape).
#pragma once

#include <httplib.h>
#include <sys/socket.h>

#include <functional>
#include <memory>
#include <string>

#include "handlers.hpp"
#include "service/httplib_reply.hpp"
#include "service/wall_clock.hpp"

namespace favorite_athlete {

class MetricsServer final : public httplib::Server {
 public:
  explicit MetricsServer(std::function<std::string()> render) : render_(std::move(render)) {
    // Two workers: a scrape is one small request, and a client that connects and sends nothing
    // holds one until the read timeout. One request per connection, so an idle kept-alive
    // connection never holds a worker. Only the scraper may connect (NetworkPolicy).
    new_task_queue = [] { return new httplib::ThreadPool(2); };
    set_keep_alive_max_count(1);
    set_read_timeout(5, 0);
    set_write_timeout(5, 0);
    set_payload_max_length(CPPHTTPLIB_PAYLOAD_MAX_LENGTH);
    // Only SO_REUSEADDR (the default adds SO_REUSEPORT: a second instance could share the port).
    set_socket_options([](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      write_reply(metrics_reply(req.method, req.path, render_), res);
      return HandlerResponse::Handled;
    });
    // Statuses >= 400 that cpp-httplib chose itself (its parser refused the request).
    set_error_handler(HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return HandlerResponse::Unhandled;  // a reply of metrics_reply
      write_reply(parser_rejection(res.status, req.method, req.version), res);
      return HandlerResponse::Handled;
    }));
    set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
      res.set_header("Date", WallClock::this_thread().date());
      res.headers.erase("Accept-Ranges");
    });
  }

 private:
  std::function<std::string()> render_;
};

}  // namespace favorite_athlete
