// cpp-httplib adapted to this service. cpp-httplib parses requests and writes responses; this file
// owns what its defaults get wrong for a public-facing pod (see README "Security and limits"):
// - one buffered stream per connection, not per request, so pipelined requests are not dropped;
// - every request head has a byte budget and a deadline, so nothing is buffered without bound
//   and a client trickling bytes holds a worker for at most READ_TIMEOUT_SECONDS;
// - request bodies are never read: such connections close after the reply (no smuggling);
// - a worker pool that sheds idle or stalled connections when others wait for a worker;
// - poll() everywhere (fds >= 1024), TCP_NODELAY, no SO_REUSEPORT.
// Supported cpp-httplib: 0.11.x (Debian 12) and >= 0.23.1 (CPPHTTPLIB_VERSION_NUM; pinned 0.53.1).
#pragma once

#include <httplib.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "handlers.hpp"
#include "logging.hpp"
#include "metrics.hpp"

#ifdef CPPHTTPLIB_VERSION_NUM
#define FAVORITE_ATHLETE_HTTPLIB_MODERN 1
#endif

namespace favorite_athlete {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Limits {
  std::size_t threads = 64;
  milliseconds keepalive_timeout{5000};
  milliseconds read_timeout{5000};   // for a whole request head
  milliseconds write_timeout{5000};  // per write
  std::size_t keepalive_max_requests = 1000;
  std::size_t max_head_bytes = 16 * 1024;  // request line + headers
  milliseconds shed_idle_after{100};       // under contention, idle or stalled connections yield after this
  milliseconds shed_new_after{1000};       // ... and connections that never sent a byte, from accept
  milliseconds linger{1000};               // reading unread input before close, see close_gracefully
};

inline bool wait_fd(int fd, short events, milliseconds timeout) {
  pollfd p{fd, events, 0};
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    const int r = ::poll(&p, 1, static_cast<int>(std::max<long long>(left, 0)));
    if (r > 0) return true;
    if (r == 0 || errno != EINTR) return false;
  }
}

// The one stream of a connection, kept across its requests.
class ConnectionStream final : public httplib::Stream {
 public:
  // contended: whether other connections wait for a worker; a stalled request head then gives up
  // its worker after limits.shed_idle_after instead of the whole read timeout.
  ConnectionStream(socket_t fd, const Limits& limits, std::function<bool()> contended)
      : fd_(fd), limits_(limits), contended_(std::move(contended)) {
    httplib::detail::get_remote_ip_and_port(fd, remote_ip_, remote_port_);
    httplib::detail::get_local_ip_and_port(fd, local_ip_, local_port_);
    peer_ = remote_ip_ + ":" + std::to_string(remote_port_);
  }

  void begin_request() {
    budget_ = limits_.max_head_bytes;
    started_ = Clock::now();
    deadline_ = started_ + limits_.read_timeout;
  }
  bool has_buffered() const { return off_ < len_; }
  bool stalled() const { return stalled_; }  // a request head was cut off under contention
  const std::string& peer() const { return peer_; }
  Clock::time_point started() const { return started_; }

#ifdef FAVORITE_ATHLETE_HTTPLIB_MODERN
  bool is_readable() const override { return has_buffered(); }
  bool wait_readable() const override { return has_buffered() || wait_for_input(); }
  bool wait_writable() const override { return wait_fd(fd_, POLLOUT, limits_.write_timeout); }
  time_t duration() const override {
    return std::chrono::duration_cast<milliseconds>(Clock::now() - started_).count();
  }
#else
  bool is_readable() const override { return has_buffered() || wait_for_input(); }
  bool is_writable() const override { return wait_fd(fd_, POLLOUT, limits_.write_timeout); }
#endif

  // Reads what has arrived without waiting: > 0 bytes buffered, 0 at end of input, -1 if nothing yet
  // (or an error). Trying first and polling only when nothing has arrived saves a poll() per request.
  ssize_t fill_now() {
    ssize_t n;
    do n = ::recv(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
      off_ = 0;
      len_ = static_cast<std::size_t>(n);
    }
    return n;
  }

  ssize_t read(char* ptr, size_t size) override {
    if (budget_ == 0) return -1;  // request head too large: the parser sees a failed read
    if (!has_buffered()) {
      ssize_t n = fill_now();
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_for_input()) n = fill_now();
      if (n <= 0) return n;
    }
    const std::size_t n = std::min({size, len_ - off_, budget_});
    std::copy_n(buf_.data() + off_, n, ptr);
    off_ += n;
    budget_ -= n;
    return static_cast<ssize_t>(n);
  }

  // A reply is collected here and sent with one send() by flush(): one packet, not one per part.
  ssize_t write(const char* ptr, size_t size) override {
    out_.append(ptr, size);
    if (out_.size() >= 65536 && !flush()) return -1;
    return static_cast<ssize_t>(size);
  }

  bool flush() {
    std::size_t done = 0;
    while (done < out_.size()) {
      const ssize_t n = ::send(fd_, out_.data() + done, out_.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
      } else if (!(n < 0 && (errno == EINTR ||
                             ((errno == EAGAIN || errno == EWOULDBLOCK) &&
                              wait_fd(fd_, POLLOUT, limits_.write_timeout))))) {
        out_.clear();
        return false;
      }
    }
    out_.clear();
    return true;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = remote_ip_;
    port = remote_port_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = local_ip_;
    port = local_port_;
  }
  socket_t socket() const override { return fd_; }

 private:
  bool wait_for_input() const {
    const auto stalled_since = Clock::now();
    for (;;) {
      const auto now = Clock::now();
      const auto left = std::chrono::duration_cast<milliseconds>(deadline_ - now);
      if (left.count() <= 0) return false;
      if (wait_fd(fd_, POLLIN, std::min(left, milliseconds(20)))) return true;
      if (Clock::now() - stalled_since >= limits_.shed_idle_after && contended_()) {
        stalled_ = true;
        return false;
      }
    }
  }

  socket_t fd_;
  const Limits& limits_;
  std::function<bool()> contended_;
  mutable bool stalled_ = false;
  std::array<char, 4096> buf_{};
  std::string out_;
  std::size_t off_ = 0, len_ = 0, budget_ = 0;
  Clock::time_point started_{}, deadline_{};
  std::string remote_ip_, local_ip_, peer_;
  int remote_port_ = 0, local_port_ = 0;
};

// Fixed worker pool that reports how many accepted connections wait for a worker.
class WorkerPool final : public httplib::TaskQueue {
 public:
  explicit WorkerPool(std::size_t threads) {
    for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
  }
#ifdef FAVORITE_ATHLETE_HTTPLIB_MODERN
  bool enqueue(std::function<void()> fn) override {
    push(std::move(fn));
    return true;
  }
#else
  void enqueue(std::function<void()> fn) override { push(std::move(fn)); }
#endif
  // Runs what is queued (each job sees the server stopping and closes at once), then joins.
  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  std::size_t waiting() const { return waiting_.load(std::memory_order_relaxed); }

  // When the job now running on this thread was queued: a new connection's idle time counts
  // from its accept, so one that sat silent in the queue is shed as soon as a worker sees it.
  static Clock::time_point& current_job_queued_at() {
    thread_local Clock::time_point queued_at;
    return queued_at;
  }

 private:
  void push(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.emplace_back(Clock::now(), std::move(fn));
      waiting_.store(jobs_.size(), std::memory_order_relaxed);
    }
    cv_.notify_one();
  }
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        current_job_queued_at() = jobs_.front().first;
        job = std::move(jobs_.front().second);
        jobs_.pop_front();
        waiting_.store(jobs_.size(), std::memory_order_relaxed);
      }
      job();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::pair<Clock::time_point, std::function<void()>>> jobs_;
  std::atomic<std::size_t> waiting_{0};
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

using AccessLogger = std::function<void(const AccessRecord&)>;

class HttpServer final : public httplib::Server {
 public:
  HttpServer(const Service& service, const Limits& limits, const std::atomic<bool>& draining, Metrics& metrics,
             AccessLogger access_log, std::function<void(const char* what)> error_log)
      : service_(service), limits_(limits), draining_(draining), metrics_(metrics) {
    metrics_.set_waiting_source([this] { return waiting(); });
    new_task_queue = [this] {
      auto* pool = new WorkerPool(limits_.threads);
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
      apply(parser_rejection(res.status, req.method, req.version), res);
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

  static RequestView view(const httplib::Request& req) {
    const bool bad_value = std::any_of(req.headers.begin(), req.headers.end(), [](const auto& h) {
      return h.second.find_first_of(std::string_view("\0\r\n", 3)) != std::string::npos;
    });
    return RequestView{req.method, req.path,
                       announces_body(req.has_header("Content-Length"), req.get_header_value("Content-Length"),
                                      req.has_header("Transfer-Encoding")),
                       bad_value};
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

  // Waits for the next request on an idle connection. Gives up at the keep-alive timeout, when
  // the server stops, or when the connection has been idle a while and others wait for a worker.
  bool await_request(ConnectionStream& strm, Clock::time_point idle_since, milliseconds grace) const {
    if (strm.has_buffered() || strm.fill_now() >= 0) return true;  // a request, or its end of input
    for (;;) {
      if (wait_fd(strm.socket(), POLLIN, stopping() ? milliseconds(0) : milliseconds(20))) return true;
      const auto idle = Clock::now() - idle_since;
      if (stopping() || idle >= limits_.keepalive_timeout) return false;
      if (idle >= grace && others_waiting()) {
        metrics_.connection_shed();
        return false;
      }
    }
  }

  bool serve_one(httplib::Stream& strm, bool close_connection, bool& connection_closed) {
    // Byte ranges of a few bytes of JSON are not worth supporting: always send the whole body.
    auto setup = [](httplib::Request& req) { req.ranges.clear(); };
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
    int yes = 1;
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    ConnectionStream strm(sock, limits_, [this] { return others_waiting(); });
    current() = RequestState{};
    metrics_.connection_opened();
    bool ok = true;
    for (std::size_t served = 0;
         served == 0 ? await_request(strm, WorkerPool::current_job_queued_at(), limits_.shed_new_after)
                     : await_request(strm, Clock::now(), limits_.shed_idle_after);
         ++served) {
      // Under contention every reply says "Connection: close", so connections take turns.
      const bool last = served + 1 >= limits_.keepalive_max_requests || stopping() || draining_.load() ||
                        others_waiting();
      current() = RequestState{false, false, Clock::now(), strm.peer()};
      strm.begin_request();
      bool closed = false;
      metrics_.request_started();
      ok = serve_one(strm, last, closed) && strm.flush();
      metrics_.request_ended();
      if (!ok || closed || last || current().close) break;
    }
    if (strm.stalled()) metrics_.connection_shed();
    close_gracefully(strm, sock);
    metrics_.connection_closed();
    return ok;
  }

  // Closing a socket with unread input makes the kernel send RST, which can destroy the reply
  // before the client reads it. So when input is left (an unread body, a half-parsed request),
  // send FIN first and discard input for a bounded time; those bytes are never parsed.
  void close_gracefully(ConnectionStream& strm, socket_t sock) const {
    strm.flush();
    int pending = 0;
    if (strm.has_buffered() || (::ioctl(sock, FIONREAD, &pending) == 0 && pending > 0) || current().close) {
      ::shutdown(sock, SHUT_WR);
      const auto deadline = Clock::now() + limits_.linger;
      std::array<char, 16384> sink;
      while (Clock::now() < deadline &&
             wait_fd(sock, POLLIN, std::chrono::duration_cast<milliseconds>(deadline - Clock::now())) &&
             ::recv(sock, sink.data(), sink.size(), 0) > 0) {
      }
    }
    ::close(sock);
  }

  const Service& service_;
  const Limits limits_;
  const std::atomic<bool>& draining_;
  Metrics& metrics_;
  std::atomic<WorkerPool*> pool_{nullptr};
};

}  // namespace favorite_athlete
