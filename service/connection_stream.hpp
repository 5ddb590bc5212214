// The bytes of one client connection, as cpp-httplib's parser sees them: what was read ahead
// from the socket, and the replies not sent yet. Nothing here ever waits. The event loop reads
// into it when the socket is readable, cpp-httplib parses a request out of it only once a whole
// head is buffered (head_ready), and the loop sends what the reply left in it.
#pragma once

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace favorite_athlete {

class ConnectionStream final : public httplib::Stream {
 public:
  // What fill() and flush() found.
  enum class Io { Done, Again, Closed };

  // fd: a connected, non-blocking socket, owned (closed) by the caller.
  ConnectionStream(int fd, std::size_t max_head_bytes, std::string remote_ip, int remote_port, std::string local_ip,
                   int local_port)
      : fd_(fd),
        max_head_bytes_(max_head_bytes),
        remote_ip_(std::move(remote_ip)),
        local_ip_(std::move(local_ip)),
        peer_(remote_ip_ + ":" + std::to_string(remote_port)),
        remote_port_(remote_port),
        local_port_(local_port) {}

  // --- input ---------------------------------------------------------------------------------
  bool has_buffered() const { return off_ < len_; }
  std::size_t buffered() const { return len_ - off_; }
  bool at_eof() const { return eof_; }

  // A whole request head is buffered, or enough to answer it: the blank line that ends the
  // headers, a first line that is not HTTP/1.x (HTTP/0.9, TLS, HTTP/2...), the head's byte
  // budget, or the end of input. Only then is it parsed, so parsing never waits for the network.
  bool head_ready() const {
    const std::string_view b = unread();
    if (eof_ || b.size() >= max_head_bytes_) return true;
    if (b.find("\n\r\n") != std::string_view::npos || b.find("\n\n") != std::string_view::npos) return true;
    const auto eol = b.find('\n');
    if (eol == std::string_view::npos) return false;
    std::string_view line = b.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto version = line.size() < 9 ? std::string_view() : line.substr(line.size() - 9);
    return version != " HTTP/1.1" && version != " HTTP/1.0";
  }

  // The head of the next request as received (for check_head): the unread bytes, at most the
  // head budget and the two bytes that could end it. Valid until the next fill().
  std::string_view head() const { return unread().substr(0, max_head_bytes_ + 2); }

  // Starts parsing one request: it may consume at most max_head_bytes (its head; bodies are
  // never read).
  void begin_request() { budget_ = max_head_bytes_; }

  // Reads what the socket has, without waiting, unless a head's worth is already buffered.
  Io fill() {
    if (unread().size() >= max_head_bytes_) return Io::Done;
    make_room();
    const std::size_t room = cap_ - len_;
    ssize_t n;
    do n = ::recv(fd_, in_.get() + len_, room, 0);
    while (n < 0 && errno == EINTR);
    drained_ = n < static_cast<ssize_t>(room);
    if (n > 0) {
      len_ += static_cast<std::size_t>(n);
      return Io::Done;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Io::Again;
    eof_ = true;  // end of input, or an error: nothing more will arrive either way
    return Io::Closed;
  }

  // The last fill() read less than there was room for: the socket had nothing more then, so
  // reading again before the next readiness event would only return EAGAIN (a wasted syscall).
  bool drained() const { return drained_; }

  // --- output --------------------------------------------------------------------------------
  bool has_output() const { return sent_ < out_.size(); }

  // Sends what the replies left, without waiting: Done when all is sent, Again when the socket
  // takes no more for now (the loop waits for EPOLLOUT), Closed if the peer is gone.
  Io flush() {
    while (sent_ < out_.size()) {
      const ssize_t n = ::send(fd_, out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
      if (n > 0) {
        sent_ += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return Io::Again;
      } else {
        return Io::Closed;
      }
    }
    out_.clear();
    sent_ = 0;
    return Io::Done;
  }

  // --- httplib::Stream: the parser reads the buffered head, the reply is appended --------------
  ssize_t read(char* ptr, size_t size) override {
    const std::size_t n = std::min({size, unread().size(), budget_});
    if (n == 0) return budget_ == 0 ? -1 : 0;  // past the budget: a failed read; else end of input
    std::memcpy(ptr, in_.get() + off_, n);
    consume(n);
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    out_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  bool is_readable() const override { return has_buffered(); }
  bool wait_readable() const override { return has_buffered(); }
  bool wait_writable() const override { return true; }
  time_t duration() const override { return 0; }
  // cpp-httplib's line reader: the one place this class uses what not every supported cpp-httplib
  // has. Where httplib::Stream declares buffered_data() and consume_buffered() (the pinned 0.53.1),
  // these override them, and the parser scans the buffered head for each line end in one pass
  // instead of calling read() for every byte: 3,400 fewer instructions per request for a 41-byte
  // head, 39,000 for a 448-byte one (callgrind, docs/build-and-test.md).
  // Where it does not (Debian's 0.41), nothing calls them. Hence no `override`, and clang's warning
  // for that is off for these two alone (-Wpragmas: GCC knows no such warning).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Winconsistent-missing-override"
  const char* buffered_data(size_t& size) const {
    size = std::min(unread().size(), budget_);
    return size == 0 ? nullptr : in_.get() + off_;
  }
  void consume_buffered(size_t size) { consume(size); }
#pragma GCC diagnostic pop
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = remote_ip_;
    port = remote_port_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = local_ip_;
    port = local_port_;
  }
  socket_t socket() const override { return fd_; }

  const std::string& remote_ip() const { return remote_ip_; }
  int remote_port() const { return remote_port_; }
  const std::string& local_ip() const { return local_ip_; }
  int local_port() const { return local_port_; }
  const std::string& peer() const { return peer_; }  // remote address:port, for the access log

 private:
  std::string_view unread() const { return std::string_view(in_.get() + off_, len_ - off_); }
  void consume(std::size_t n) {
    off_ += n;
    budget_ -= n;
  }
  // Before a read: at least kChunk bytes of room after the unread bytes, which move to the front
  // of the buffer (it stays about a head's size: fill() reads no more once a head's worth is in).
  void make_room() {
    if (off_ == len_) off_ = len_ = 0;
    if (cap_ - len_ >= kChunk) return;
    const std::size_t unread_bytes = len_ - off_;
    if (unread_bytes + kChunk > cap_) {
      const std::size_t cap = std::max(cap_ * 2, unread_bytes + kChunk);
      std::unique_ptr<char[]> bigger(new char[cap]);
      if (unread_bytes > 0) std::memcpy(bigger.get(), in_.get() + off_, unread_bytes);
      in_ = std::move(bigger);
      cap_ = cap;
    } else {
      std::memmove(in_.get(), in_.get() + off_, unread_bytes);
    }
    off_ = 0;
    len_ = unread_bytes;
  }

  static constexpr std::size_t kChunk = 4096;
  int fd_;
  std::size_t max_head_bytes_;
  std::unique_ptr<char[]> in_;  // read ahead: in_[off_..len_) is not consumed yet; cap_ bytes
  std::size_t cap_ = 0, len_ = 0;
  std::size_t off_ = 0;     // first unconsumed byte of in_
  bool drained_ = false;    // the last fill() emptied the socket
  std::size_t budget_ = 0;  // bytes the request being parsed may still consume
  bool eof_ = false;        // nothing more will arrive
  std::string out_;         // replies: out_[sent_..] is not sent yet
  std::size_t sent_ = 0;    // first unsent byte of out_
  std::string remote_ip_, local_ip_, peer_;
  int remote_port_ = 0, local_port_ = 0;
};

}  // namespace favorite_athlete
