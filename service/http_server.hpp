// cpp-httplib adapted to this service. cpp-httplib parses each request head and writes each
// reply; the event loops (event_loop.hpp) own the sockets, the threads and the deadlines, and
// hand over a request only once its whole head is buffered. What is set here, and why:
// - every request is answered by the pre-routing handler (handlers.hpp), before cpp-httplib would
//   read a body; bodies are never read, and such connections close after the reply (no smuggling);
// - replies that cpp-httplib chose itself (its parser refused the request) get this service's
//   JSON errors, checked against the head as received (check_head);
// - the access log and the request metrics are written here, once per reply, not by
//   cpp-httplib's logger (which runs under a process-wide mutex in 0.53).
// cpp-httplib's only protected member used: process_request(), its parser and router over one
// Stream. There is no public way to answer a request whose bytes someone else's I/O read.
// Built and tested with cpp-httplib 0.41 (Debian's newest, CI) and the pinned 0.53.1, with no
// version conditional: only what both provide (docs/build-and-test.md).
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "handlers.hpp"
#include "service/access_log.hpp"
#include "service/connection_stream.hpp"
#include "service/event_loop.hpp"
#include "service/httplib_reply.hpp"
#include "service/listener.hpp"
#include "service/metrics.hpp"
#include "service/wall_clock.hpp"

namespace favorite_athlete {

class HttpServer final : private httplib::Server {
 public:
  // access_log_fd: where access log lines go, -1 for none. error_log: handler exceptions.
  HttpServer(const Service& service, const Limits& limits, const std::atomic<bool>& draining, Metrics& metrics,
             int access_log_fd, std::function<void(const char* what)> error_log)
      : service_(service), limits_(limits), draining_(draining), metrics_(metrics), access_log_fd_(access_log_fd) {
    set_keep_alive_max_count(limits.keepalive_max_requests);
    set_keep_alive_timeout(std::chrono::duration_cast<std::chrono::seconds>(limits.keepalive_timeout).count());
    set_payload_max_length(CPPHTTPLIB_PAYLOAD_MAX_LENGTH);

    // Every request is answered here, before cpp-httplib would read a body.
    set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      apply(service_.respond(view(req), draining_.load()), res);
      return HandlerResponse::Handled;
    });
    // The reply's header block in one write, composed here. cpp-httplib's own writer checks every
    // field again and builds a string per line (a fifth of the time it takes to answer); every field
    // here went through set_header, which refuses a name that is not a token and a value holding CR,
    // LF or NUL (0.41 and 0.53), but Content-Type, a constant checked at compile time
    // (httplib_reply.hpp). This service decides some fields itself: Connection (close, or
    // nothing: HTTP/1.1 keeps alive), Keep-Alive (only if the connection stays open), Date (RFC 9110
    // 6.6.1: MUST, having a clock) and Accept-Ranges (cpp-httplib adds it to HEAD only; HEAD must
    // match GET, and ranges are not served). cpp-httplib's versions of them are left out.
    set_header_writer([](httplib::Stream& strm, httplib::Headers& headers) -> ssize_t {
      auto& state = current();
      const std::string& date = WallClock::this_thread().date();
      // Sized for every field, then written through a pointer (detail::put): one capacity check
      // for the block, not one per piece of each line.
      std::size_t most = kConnectionClose.size() + kDateName.size() + date.size() + 4;
      for (const auto& [name, value] : headers) most += name.size() + 2 + value.size() + 2;
      std::string& lines = state.header_lines;
      lines.resize(most);
      char* p = lines.data();
      for (const auto& [name, value] : headers) {
        if (detail::iequals(name, kConnection) || detail::iequals(name, kDate) ||
            detail::iequals(name, kAcceptRanges) || (state.close && detail::iequals(name, kKeepAlive))) {
          continue;
        }
        p = detail::put(p, name);
        p = detail::put(p, ": ");
        p = detail::put(p, value);
        p = detail::put(p, "\r\n");
      }
      if (state.close) p = detail::put(p, kConnectionClose);
      p = detail::put(p, kDateName);
      p = detail::put(p, date);
      p = detail::put(p, "\r\n\r\n");
      lines.resize(static_cast<std::size_t>(p - lines.data()));
      return strm.write(lines.data(), lines.size());
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
      apply(parser_rejection(res.status, req.method, req.version, current().head), res);
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
    // Every reply passes here just before it is written, whatever produced it. Here is decided,
    // once, whether it is the connection's last: the header writer says so and answer() tells the
    // loop, which closes after it (RFC 9112 9.6). Last: this service's choice (a body, a refused
    // head), the loop's or the drain's (state.last), the request's own "close", or HTTP/1.0 without
    // keep-alive (the last two as cpp-httplib's parser decides them). cpp-httplib's own decision is
    // not taken as it is: it would also close after any 4xx, and a 404 need not cost a connection.
    set_post_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      auto& state = current();
      // cpp-httplib says close for state.last, for the request's own close, and (0.41, 0.53) for
      // any status >= 400: only then is the request's header looked up (the hot path skips it).
      const bool said = res.headers.find(kConnection) != res.headers.end();
      const bool asked = said && (res.status < 400 || req.get_header_value("Connection") == "close");
      const bool http10 = req.version == "HTTP/1.0" && req.get_header_value("Connection") != "Keep-Alive";
      state.close = state.close || state.last || asked || http10;
      if (!res.has_header(kContentLength)) res.set_header(kContentLength, std::to_string(res.body.size()));
      state.status = res.status;
      state.method.assign(req.method);
      state.path.assign(req.path);
    });
  }

  // Binds the public port (0: any free one): the port bound, or -1 with errno set.
  int bind(const std::string& address, int port) {
    int bound = -1;
    listen_fd_ = listen_on(address, port, bound);
    return listen_fd_ < 0 ? -1 : bound;
  }

  // Serves on limits.loops event loops until stop() and the last connection is closed. False
  // if a loop failed (the others are stopped then too).
  bool run() {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (std::size_t i = 0; i < limits_.loops; ++i) {
        loops_.push_back(std::make_unique<EventLoop>(
            listen_fd_, limits_,
            [this](ConnectionStream& s, bool last, AccessLog& log) { return answer(s, last, log); }, access_log_fd_));
        if (stopping_) loops_.back()->stop();
      }
      for (auto& loop : loops_) threads.emplace_back([this, &loop] { run_loop(*loop); });
    }
    for (auto& t : threads) t.join();
    ::close(listen_fd_);
    return !failed_.load();
  }

  // Stops accepting; requests in progress get their reply, idle connections close. Any thread.
  void stop() {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    for (auto& loop : loops_) loop->stop();
    // New clients are refused from now on (and go to another replica), not left in the backlog.
    // The fd stays open until run() ends: a loop may still be in accept() on it.
    if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
  }

  // Answers the request whose head strm has buffered: the event loops' Respond.
  Answered answer(ConnectionStream& strm, bool last, AccessLog& log) {
    auto& state = current();
    state.replied = state.close = false;
    state.last = last || draining_.load();
    state.status = 0;
    state.head = strm.head();
    const auto started = Clock::now();
    strm.begin_request();
    bool closed = false;
    metrics_.request_started();
    const bool ok = process(strm, state.last, closed);
    metrics_.request_ended();
    if (state.status != 0) {  // a reply was written
      const auto now = Clock::now();
      const double seconds = std::chrono::duration<double>(now - started).count();
      metrics_.answered(state.method, state.status, seconds);
      if (log.on()) log.add(AccessRecord{state.method, state.path, state.status, seconds * 1000, strm.peer()}, now);
    }
    // Every path on which cpp-httplib sets `closed` also says close (state.close above), but for a
    // request it could not parse at all: no reply then, and ok is false.
    return Answered{ok && !closed && !state.close, state.close};
  }

  // Open connections in each state (kStateNames), over all loops.
  ConnectionCounts connection_counts() const {
    std::lock_guard<std::mutex> lock(mutex_);
    ConnectionCounts total{};
    for (const auto& loop : loops_) {
      const auto counts = loop->counts();
      for (std::size_t s = 0; s < total.size(); ++s) total[s] += counts[s];
    }
    return total;
  }

 private:
  // What the handlers above and answer() share about the request being answered on this thread.
  struct RequestState {
    bool replied = false;  // the pre-routing/expect handler produced the reply
    bool close = false;    // close the connection after this reply (it says Connection: close)
    bool last = false;     // the loop or the drain closes it after this reply
    int status = 0;        // the reply's status; 0 until one is written
    std::string method, path;
    std::string_view head;     // the request head as received, for check_head
    std::string header_lines;  // the reply's header lines, reused (the header writer)
  };
  // The header names looked up on every request, as the std::string cpp-httplib's lookups take:
  // built once, not per lookup; and those the header writer leaves out.
  static inline const std::string kConnection = "Connection", kContentLength = "Content-Length";
  static constexpr std::string_view kAcceptRanges = "Accept-Ranges", kDate = "Date", kKeepAlive = "Keep-Alive";
  // The lines the header writer writes itself.
  static constexpr std::string_view kConnectionClose = "Connection: close\r\n", kDateName = "Date: ";

  static RequestState& current() {
    thread_local RequestState state;
    return state;
  }

  static RequestView view(const httplib::Request& req) { return RequestView{req.method, req.path, current().head}; }

  static void apply(Reply reply, httplib::Response& res) {
    current().replied = true;
    current().close = current().close || reply.close;
    write_reply(std::move(reply), res);
  }

  bool process(ConnectionStream& strm, bool close_connection, bool& connection_closed) {
    // Byte ranges of a few bytes of JSON are not worth supporting: always send the whole body.
    auto setup = [](httplib::Request& req) { req.ranges.clear(); };
    return process_request(strm, strm.remote_ip(), strm.remote_port(), strm.local_ip(), strm.local_port(),
                           close_connection, connection_closed, setup);
  }

  void run_loop(EventLoop& loop) {
    try {
      loop.run();
    } catch (const std::exception&) {
      failed_.store(true);
      stop();
    }
  }

  const Service& service_;
  const Limits limits_;
  const std::atomic<bool>& draining_;
  Metrics& metrics_;
  const int access_log_fd_;
  int listen_fd_ = -1;
  mutable std::mutex mutex_;  // guards loops_ and stopping_
  std::vector<std::unique_ptr<EventLoop>> loops_;
  bool stopping_ = false;
  std::atomic<bool> failed_{false};
};

}  // namespace favorite_athlete
