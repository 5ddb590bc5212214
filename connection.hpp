// The transport under cpp-httplib: what each client connection is between requests, and the
// threads that serve them. Workers serve whole requests: a connection gets one only once a
// complete request head has arrived. Until then, and whenever it is idle while others wait for a
// worker, it is parked in one epoll set holding no thread, and comes back to the queue when more
// bytes arrive, or is closed at its deadline.
// poll()/epoll everywhere: fds above 1024 are fine.
#pragma once

#include <httplib.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#ifdef CPPHTTPLIB_VERSION_NUM  // >= 0.23.1: Stream::wait_readable(), 8-argument process_request()
#define FAVORITE_ATHLETE_HTTPLIB_MODERN 1
#endif

namespace favorite_athlete {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Limits {
  std::size_t threads = 4;
  milliseconds keepalive_timeout{5000};
  milliseconds read_timeout{5000};   // for a whole request head
  milliseconds write_timeout{5000};  // per write
  std::size_t keepalive_max_requests = 1000;
  std::size_t max_head_bytes = 16 * 1024;  // request line + headers
  milliseconds park_after{5};    // under contention, an idle connection parks after this
  milliseconds linger{1000};     // discarding unread input after a reply, see ConnectionStream::close
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
  ConnectionStream(socket_t fd, const Limits& limits) : fd_(fd), limits_(limits) {
    int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    httplib::detail::get_remote_ip_and_port(fd, remote_ip_, remote_port_);
    httplib::detail::get_local_ip_and_port(fd, local_ip_, local_port_);
    peer_ = remote_ip_ + ":" + std::to_string(remote_port_);
  }

  void begin_request() {
    budget_ = limits_.max_head_bytes;
    started_ = Clock::now();
    deadline_ = started_ + limits_.read_timeout;
  }
  bool has_buffered() const { return off_ < in_.size(); }
  const std::string& peer() const { return peer_; }

  // A whole request head is buffered, or enough to answer it: the blank line that ends the
  // headers, a first line that is not HTTP/1.x (HTTP/0.9, TLS, HTTP/2...), the head's byte
  // budget, or the end of input. Only then does a worker parse it, so parsing never waits.
  bool head_ready() const {
    const std::string_view b(in_.data() + off_, in_.size() - off_);
    if (eof_ || b.size() >= limits_.max_head_bytes) return true;
    if (b.find("\n\r\n") != std::string_view::npos || b.find("\n\n") != std::string_view::npos) return true;
    const auto eol = b.find('\n');
    if (eol == std::string_view::npos) return false;
    std::string_view line = b.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto version = line.size() < 9 ? std::string_view() : line.substr(line.size() - 9);
    return version != " HTTP/1.1" && version != " HTTP/1.0";
  }

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

  // Appends what has arrived, without waiting: > 0 bytes read, 0 at end of input, -1 if nothing
  // yet (or an error). Trying first and polling only when nothing has arrived saves a poll().
  ssize_t fill_now() {
    if (off_ == in_.size()) {
      in_.clear();
      off_ = 0;
    } else if (off_ >= kChunk) {
      in_.erase(0, off_);
      off_ = 0;
    }
    const std::size_t had = in_.size();
    in_.resize(had + kChunk);
    ssize_t n;
    do n = ::recv(fd_, in_.data() + had, kChunk, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    in_.resize(had + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    eof_ = eof_ || n == 0;
    return n;
  }

  ssize_t read(char* ptr, size_t size) override {
    if (budget_ == 0) return -1;  // request head too large: the parser sees a failed read
    if (!has_buffered()) {
      ssize_t n = fill_now();
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_for_input()) n = fill_now();
      if (n <= 0) return n;
    }
    const std::size_t n = std::min({size, in_.size() - off_, budget_});
    std::copy_n(in_.data() + off_, n, ptr);
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

  ConnectionStream(const ConnectionStream&) = delete;
  ConnectionStream& operator=(const ConnectionStream&) = delete;
  ~ConnectionStream() override { abort(); }

  // Drops a connection that timed out or is idle at shutdown: nothing to deliver, no lingering.
  void abort() {
    if (fd_ == INVALID_SOCKET) return;
    ::close(fd_);
    fd_ = INVALID_SOCKET;
  }

  // Closes after a reply. Closing a socket with unread input makes the kernel send RST, which can
  // destroy the reply before the client reads it. So when input is left (an unread body, a
  // half-parsed request), send FIN first and discard input for a bounded time, unparsed.
  void close(bool input_left) {
    if (fd_ == INVALID_SOCKET) return;
    flush();
    int pending = 0;
    if (input_left || has_buffered() || (::ioctl(fd_, FIONREAD, &pending) == 0 && pending > 0)) {
      ::shutdown(fd_, SHUT_WR);
      const auto deadline = Clock::now() + limits_.linger;
      std::array<char, 16384> sink;
      while (Clock::now() < deadline &&
             wait_fd(fd_, POLLIN, std::chrono::duration_cast<milliseconds>(deadline - Clock::now())) &&
             ::recv(fd_, sink.data(), sink.size(), 0) > 0) {
      }
    }
    abort();
  }

 private:
  bool wait_for_input() const {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline_ - Clock::now());
    return left.count() > 0 && wait_fd(fd_, POLLIN, left);
  }

  socket_t fd_;
  const Limits& limits_;
  static constexpr std::size_t kChunk = 4096;
  std::string in_, out_;  // read ahead (in_[off_..] not consumed yet), and the reply being written
  bool eof_ = false;
  std::size_t off_ = 0, budget_ = 0;
  Clock::time_point started_{}, deadline_{};
  std::string remote_ip_, local_ip_, peer_;
  int remote_port_ = 0, local_port_ = 0;
};

// Fixed worker pool that reports how many accepted connections wait for a worker.
class WorkerPool final : public httplib::TaskQueue {
 public:
  explicit WorkerPool(std::size_t threads, std::function<void()> before_shutdown)
      : before_shutdown_(std::move(before_shutdown)) {
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
    before_shutdown_();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  std::size_t waiting() const { return waiting_.load(std::memory_order_relaxed); }

  // When the job now running on this thread was queued: for a new connection, its accept.
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

  std::function<void()> before_shutdown_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::pair<Clock::time_point, std::function<void()>>> jobs_;
  std::atomic<std::size_t> waiting_{0};
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// A client connection between requests: its stream (with any bytes read ahead) and progress.
struct Connection {
  Connection(socket_t fd, const Limits& limits, Clock::time_point accepted, std::function<void()> on_close)
      : strm(fd, limits), idle_since(accepted), on_close_(std::move(on_close)) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { on_close_(); }
  ConnectionStream strm;
  std::size_t served = 0;
  Clock::time_point idle_since;  // accept, then the end of the last reply
  Clock::time_point head_since;  // first byte of a request head not complete yet; {} if none
  Clock::time_point deadline;    // when it is closed if nothing more happens

 private:
  std::function<void()> on_close_;
};

// Idle connections wait here in one epoll set, holding no worker: a readable one is handed to
// resume (back to the worker queue), one idle past its deadline is closed.
class ParkingLot {
 public:
  using Resume = std::function<void(std::shared_ptr<Connection>)>;
  explicit ParkingLot(Resume resume) : resume_(std::move(resume)), epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
    thread_ = std::thread([this] { run(); });
  }
  ParkingLot(const ParkingLot&) = delete;
  ParkingLot& operator=(const ParkingLot&) = delete;
  ~ParkingLot() {
    stop();
    ::close(epoll_);
  }

  void park(std::shared_ptr<Connection> conn, Clock::time_point deadline) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;  // dropped: the stream closes itself
    const int fd = conn->strm.socket();
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) == 0) parked_[fd] = {std::move(conn), deadline};
  }

  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return parked_.size();
  }

  // Stops: idle connections close; those in the middle of a request head go back to a worker
  // (their request is in flight). Later park() calls close theirs.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    thread_.join();
    std::vector<std::shared_ptr<Connection>> in_flight;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& [fd, parked] : parked_) {
        if (parked.conn->strm.has_buffered()) in_flight.push_back(std::move(parked.conn));
      }
      parked_.clear();
    }
    for (auto& conn : in_flight) resume_(std::move(conn));
  }

 private:
  struct Parked {
    std::shared_ptr<Connection> conn;
    Clock::time_point deadline;
  };

  void run() {
    std::array<epoll_event, 64> events{};
    for (;;) {
      const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 50);
      std::vector<std::shared_ptr<Connection>> ready, expired;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return;
        for (int i = 0; i < n; ++i) take(events[static_cast<std::size_t>(i)].data.fd, ready);
        const auto now = Clock::now();
        for (auto it = parked_.begin(); it != parked_.end();) {
          if (it->second.deadline > now) {
            ++it;
            continue;
          }
          ::epoll_ctl(epoll_, EPOLL_CTL_DEL, it->first, nullptr);
          expired.push_back(std::move(it->second.conn));
          it = parked_.erase(it);
        }
      }
      for (auto& conn : ready) resume_(std::move(conn));
    }  // expired ones close as they go out of scope
  }

  void take(int fd, std::vector<std::shared_ptr<Connection>>& into) {
    const auto it = parked_.find(fd);
    if (it == parked_.end()) return;
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
    into.push_back(std::move(it->second.conn));
    parked_.erase(it);
  }

  Resume resume_;
  const int epoll_;
  mutable std::mutex mutex_;
  bool stopping_ = false;
  std::unordered_map<int, Parked> parked_;
  std::thread thread_;
};

}  // namespace favorite_athlete
