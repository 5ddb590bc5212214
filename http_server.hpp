// cpp-httplib adapted to this service. cpp-httplib parses requests and writes responses; this file
// owns what its defaults get wrong for a public-facing pod (see README "Security and limits"):
// - one buffered stream per connection, not per request, so pipelined requests are not dropped;
// - every request head has a byte budget and a deadline (READ_TIMEOUT_SECONDS from its first
//   byte), so nothing is buffered without bound and a client trickling bytes holds no worker;
// - request bodies are never read: such connections close after the reply (no smuggling);
// - workers serve requests, not connections (connection.hpp): idle connections are parked, and
//   under contention a connection goes to the back of the queue after each reply;
// - poll()/epoll everywhere (fds >= 1024), TCP_NODELAY, no SO_REUSEPORT.
// Supported cpp-httplib: 0.11.x (Debian 12) and >= 0.23.1 (CPPHTTPLIB_VERSION_NUM; pinned 0.53.1).
#pragma once

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

#include "connection.hpp"
#include "handlers.hpp"
#include "head_recorder.hpp"
#include "logging.hpp"
#include "metrics.hpp"

namespace favorite_athlete {

using AccessLogger = std::function<void(const AccessRecord&)>;

class HttpServer final : public httplib::Server {
 public:
  HttpServer(const Service& service, const Limits& limits, const std::atomic<bool>& draining, Metrics& metrics,
             AccessLogger access_log, std::function<void(const char* what)> error_log)
      : service_(service), limits_(limits), draining_(draining), metrics_(metrics) {
    // Read by the metrics port's threads: lot_ is set before pool_ is published (new_task_queue).
    metrics_.set_sources([this] { return waiting(); }, [this] { return pool_.load() != nullptr ? lot_->size() : 0; });
    // One pool and parking lot per listen(); the lot stops (closing idle connections) before
    // the pool finishes the queued work and joins its workers.
    new_task_queue = [this] {
      lot_ = std::make_unique<ParkingLot>([this](std::shared_ptr<Connection> conn) { requeue(std::move(conn)); });
      auto* pool = new WorkerPool(limits_.threads, [this] { lot_->stop(); });
      pool_.store(pool);
      return pool;
    };
    // Only SO_REUSEADDR: the default also sets SO_REUSEPORT, which lets a second instance bind
    // the same port silently and take part of the traffic.
    set_socket_options([](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    set_tcp_nodelay(true);
    set_keep_alive_max_count(limits.keepalive_max_requests);
    set_keep_alive_timeout(std::chrono::duration_cast<std::chrono::seconds>(limits.keepalive_timeout).count());
    set_payload_max_length(CPPHTTPLIB_PAYLOAD_MAX_LENGTH);

    // Every request is answered here, before cpp-httplib would read a body.
    set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      apply(service_.respond(view(req), draining_.load()), res);
      return HandlerResponse::Handled;
    });
    // Never invite a body with "100 Continue": answer right away and close.
    set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
      Reply reply = service_.respond(view(req), draining_.load());
      reply.close = true;
      apply(reply, res);
      return reply.status;
    });
    // Statuses >= 400 that cpp-httplib chose itself (the parser refused the request).
    set_error_handler(HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
      if (current().replied) return HandlerResponse::Unhandled;
      apply(parser_rejection(res.status, req.method, req.version, current_head()), res);
      return HandlerResponse::Handled;
    }));
    set_exception_handler([error_log](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        error_log(e.what());
      } catch (...) {
        error_log("unknown exception");
      }
      res.headers.clear();  // never leak what the exception said, in a header or a body
      apply(internal_error(), res);
    });
    set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
      if (current().close && res.get_header_value("Connection") != "close") res.set_header("Connection", "close");
      if (res.get_header_value("Connection") == "close") res.headers.erase("Keep-Alive");
      res.headers.erase("Accept-Ranges");  // added to HEAD only; HEAD must match GET
      res.set_header("Date", http_date(std::time(nullptr)));  // RFC 9110 6.6.1: MUST, having a clock
      if (!res.has_header("Content-Length")) res.set_header("Content-Length", std::to_string(res.body.size()));
    });
    // Called once per reply written, whatever produced it.
    set_logger([this, access_log](const httplib::Request& req, const httplib::Response& res) {
      const auto& state = current();
      const auto elapsed = std::chrono::duration<double>(Clock::now() - state.started).count();
      metrics_.answered(req.method, res.status, elapsed);
      if (access_log) access_log(AccessRecord{req.method, req.path, res.status, elapsed * 1000, state.peer});
    });
  }

  // Serves the requests read from strm as one connection would (the fuzz target feeds it memory).
  void serve_stream(httplib::Stream& strm, std::size_t max_requests) {
    bool closed = false;
    for (std::size_t served = 0; served < max_requests && !closed; ++served) {
      current() = RequestState{false, false, Clock::now(), "fuzz"};
      if (!serve_one(strm, false, closed) || current().close) return;
    }
  }

  // Accepted connections waiting for a worker.
  std::size_t waiting() const {
    const auto* pool = pool_.load();
    return pool == nullptr ? 0 : pool->waiting();
  }

 private:
  // What the handlers above and the connection loop share about the request being served.
  struct RequestState {
    bool replied = false;  // the pre-routing/expect handler produced the reply
    bool close = false;    // close the connection after this reply
    Clock::time_point started{};
    std::string_view peer;
  };
  static RequestState& current() {
    thread_local RequestState state;
    return state;
  }
  // The request head as received (HeadRecorder), for check_head; its buffer is reused.
  static std::string& current_head() {
    thread_local std::string head;
    return head;
  }

  static RequestView view(const httplib::Request& req) {
    return RequestView{req.method, req.path,
                       announces_body(req.has_header("Content-Length"), req.get_header_value("Content-Length"),
                                      req.has_header("Transfer-Encoding")),
                       current_head()};
  }

  static void apply(const Reply& reply, httplib::Response& res) {
    current().replied = true;
    current().close = current().close || reply.close;
    res.status = reply.status;
    res.set_content(reply.body, reply.content_type.c_str());
    if (reply.allow_get_head) res.set_header("Allow", "GET, HEAD");
  }

  bool stopping() const { return svr_sock_ == INVALID_SOCKET; }
  bool others_waiting() const { return waiting() > 0; }

  enum class Next { Serve, Park, Close };

  // What to do with a connection between requests. Serve it once a whole request head is in;
  // park it while others wait for a worker (at once in the middle of a head, after park_after
  // when idle: a busy client's next request is moments away); otherwise wait here, the fastest
  // path when workers are free. Close it at its deadline: read timeout from a head's first byte,
  // keep-alive timeout when idle, or at once when the server stops and it is idle.
  Next await_request(Connection& conn) const {
    auto& strm = conn.strm;
    for (;;) {
      if (!strm.head_ready()) strm.fill_now();
      if (strm.head_ready()) {
        conn.head_since = {};
        return Next::Serve;
      }
      const auto now = Clock::now();
      const bool in_head = strm.has_buffered();
      if (in_head && conn.head_since == Clock::time_point{}) conn.head_since = now;
      conn.deadline = in_head ? conn.head_since + limits_.read_timeout : conn.idle_since + limits_.keepalive_timeout;
      if (now >= conn.deadline || (stopping() && !in_head)) return Next::Close;
      const auto idle = std::chrono::duration_cast<milliseconds>(now - conn.idle_since);
      if (!stopping() && others_waiting() && (in_head || idle >= limits_.park_after)) return Next::Park;
      const auto slice = others_waiting() ? limits_.park_after - idle : milliseconds(20);
      wait_fd(strm.socket(), POLLIN, std::clamp(slice, milliseconds(1), milliseconds(20)));
    }
  }

  bool serve_one(httplib::Stream& connection, bool close_connection, bool& connection_closed) {
    // Byte ranges of a few bytes of JSON are not worth supporting: always send the whole body.
    auto setup = [](httplib::Request& req) { req.ranges.clear(); };
    HeadRecorder strm(connection, current_head(), limits_.max_head_bytes + 2);
#ifdef FAVORITE_ATHLETE_HTTPLIB_MODERN
    std::string remote_ip, local_ip;
    int remote_port = 0, local_port = 0;
    strm.get_remote_ip_and_port(remote_ip, remote_port);
    strm.get_local_ip_and_port(local_ip, local_port);
    return process_request(strm, remote_ip, remote_port, local_ip, local_port, close_connection,
                           connection_closed, setup);
#else
    return process_request(strm, close_connection, connection_closed, setup);
#endif
  }

  bool process_and_close_socket(socket_t sock) override {
    metrics_.connection_opened();
    serve(std::make_shared<Connection>(sock, limits_, WorkerPool::current_job_queued_at(),
                                       [this] { metrics_.connection_closed(); }));
    return true;
  }

  void requeue(std::shared_ptr<Connection> conn) {
    pool_.load()->enqueue([this, conn]() mutable { serve(std::move(conn)); });
  }

  // Serves a connection's requests until it closes, parks, or goes back to the queue.
  void serve(std::shared_ptr<Connection> conn) {
    auto& strm = conn->strm;
    for (;;) {
      switch (await_request(*conn)) {
        case Next::Serve: break;
        case Next::Park: {
          const auto deadline = conn->deadline;
          lot_->park(std::move(conn), deadline);
          return;
        }
        case Next::Close: strm.abort(); return;
      }
      const bool last = conn->served + 1 >= limits_.keepalive_max_requests || stopping() || draining_.load();
      current() = RequestState{false, false, Clock::now(), strm.peer()};
      strm.begin_request();
      bool closed = false;
      metrics_.request_started();
      const bool ok = serve_one(strm, last, closed) && strm.flush();
      metrics_.request_ended();
      if (!ok || closed || last || current().close) {
        strm.close(current().close);
        return;
      }
      ++conn->served;
      conn->idle_since = Clock::now();
      // Connections take turns when others wait: this one goes to the back of the queue.
      if (others_waiting()) return requeue(std::move(conn));
    }
  }

  const Service& service_;
  const Limits limits_;
  const std::atomic<bool>& draining_;
  Metrics& metrics_;
  std::atomic<WorkerPool*> pool_{nullptr};
  std::unique_ptr<ParkingLot> lot_;
};

}  // namespace favorite_athlete
