// libFuzzer target: arbitrary bytes as one connection's input, through cpp-httplib's real request
// parser and this service's handlers (as cpp-httplib's own server fuzzer does, with a Stream fed
// from memory). Besides crashes and sanitizer reports it checks what clients may rely on: every
// reply is well-formed HTTP/1.1 and none is a server error (5xx but 501).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "http_server.hpp"

namespace fa = favorite_athlete;

namespace {

class MemoryStream final : public httplib::Stream {
 public:
  MemoryStream(const uint8_t* data, size_t size) : data_(reinterpret_cast<const char*>(data)), size_(size) {}
  const std::string& output() const { return output_; }

#ifdef FAVORITE_ATHLETE_HTTPLIB_MODERN
  bool is_readable() const override { return off_ < size_; }
  bool wait_readable() const override { return off_ < size_; }
  bool wait_writable() const override { return true; }
  time_t duration() const override { return 0; }
#else
  bool is_readable() const override { return off_ < size_; }
  bool is_writable() const override { return true; }
#endif
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, size_ - off_);
    std::memcpy(ptr, data_ + off_, n);
    off_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    output_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 40000;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 8080;
  }
  socket_t socket() const override { return INVALID_SOCKET; }

 private:
  const char* data_;
  size_t size_, off_ = 0;
  std::string output_;
};

void require(bool ok, const char* what, const std::string& output) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n--- output ---\n%s\n", what, output.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fa::Metrics metrics("fuzz", "fuzz", CPPHTTPLIB_VERSION);
  static const fa::Service service("Usain Bolt");
  static const std::atomic<bool> draining{false};
  static fa::HttpServer server(service, fa::Limits{}, draining, metrics, {}, [](const char*) {});

  MemoryStream strm(data, size);
  server.serve_stream(strm, 64);
  const std::string& out = strm.output();
  require(out.empty() || out.rfind("HTTP/1.1 ", 0) == 0, "output starts with a status line", out);
  // No server error: the only 5xx is 501, the deliberate answer to a transfer coding other than
  // chunked (RFC 9112 6.1, handlers.hpp check_head).
  for (std::size_t at = out.find("HTTP/1.1 "); at != std::string::npos; at = out.find("HTTP/1.1 ", at + 1)) {
    require(out.compare(at + 9, 1, "5") != 0 || out.compare(at + 9, 3, "501") == 0, "no 5xx reply but 501", out);
  }
  return 0;
}
