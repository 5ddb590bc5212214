// A pass-through httplib::Stream that keeps a copy of the bytes cpp-httplib's parser reads for a
// request head, up to the empty line that ends it, so that handlers.hpp (check_head) can judge
// the head as it was received rather than as the parser, version by version, cleaned it up.
#pragma once

#include <httplib.h>

#include <string>
#include <string_view>

namespace favorite_athlete {

class HeadRecorder final : public httplib::Stream {
 public:
  // head is cleared, then receives at most cap bytes (the transport's head budget is smaller).
  HeadRecorder(httplib::Stream& inner, std::string& head, std::size_t cap) : inner_(inner), head_(head), cap_(cap) {
    head_.clear();
  }

  ssize_t read(char* ptr, size_t size) override {
    // A head ended by bare LFs is refused (check_head); cpp-httplib 0.53 would instead wait for
    // a CRLF until the read timeout. End the input there, so the parser fails at once.
    if (cut_) return 0;
    const ssize_t n = inner_.read(ptr, size);
    if (n > 0 && !complete_) record(std::string_view(ptr, static_cast<std::size_t>(n)));
    return n;
  }
  ssize_t write(const char* ptr, size_t size) override { return inner_.write(ptr, size); }
#ifdef CPPHTTPLIB_VERSION_NUM  // >= 0.23.1, as FAVORITE_ATHLETE_HTTPLIB_MODERN
  bool is_readable() const override { return inner_.is_readable(); }
  bool wait_readable() const override { return inner_.wait_readable(); }
  bool wait_writable() const override { return inner_.wait_writable(); }
  bool is_peer_alive() const override { return inner_.is_peer_alive(); }
  time_t duration() const override { return inner_.duration(); }
  void set_read_timeout(time_t sec, time_t usec) override { inner_.set_read_timeout(sec, usec); }
#else
  bool is_readable() const override { return inner_.is_readable(); }
  bool is_writable() const override { return inner_.is_writable(); }
#endif
  void get_remote_ip_and_port(std::string& ip, int& port) const override { inner_.get_remote_ip_and_port(ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { inner_.get_local_ip_and_port(ip, port); }
  socket_t socket() const override { return inner_.socket(); }

 private:
  void record(std::string_view bytes) {
    const std::size_t from = head_.size() < 2 ? 0 : head_.size() - 2;  // an end split across reads
    head_.append(bytes.substr(0, cap_ - std::min(cap_, head_.size())));
    // The head ends at the first empty line, CRLF or bare LF (check_head rejects the latter).
    const bool bare_lf_end = head_.find("\n\n", from) != std::string::npos;
    complete_ = bare_lf_end || head_.find("\n\r\n", from) != std::string::npos || head_.size() >= cap_;
    cut_ = bare_lf_end || (complete_ && has_bare_lf());
  }

  bool has_bare_lf() const {
    for (std::size_t at = head_.find('\n'); at != std::string::npos; at = head_.find('\n', at + 1)) {
      if (at == 0 || head_[at - 1] != '\r') return true;
    }
    return false;
  }

  httplib::Stream& inner_;
  std::string& head_;
  const std::size_t cap_;
  bool complete_ = false;
  bool cut_ = false;
};

}  // namespace favorite_athlete
