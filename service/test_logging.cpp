// Unit tests of logging.hpp's promises about what reaches a log reader: whole lines, each a JSON
// object, at most PIPE_BUF long; a reader that reads slowly, or through a non-blocking pipe, gets
// every line; one that stops reading gets whole lines dropped and counted, and the writer is not
// held; a SIGKILL at any moment leaves whole lines behind.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "service/access_log.hpp"

namespace fa = favorite_athlete;
using std::chrono::milliseconds;

namespace {

// A pipe of one page (4096 bytes), so that writers fill it at once; closed on the way out.
struct SmallPipe {
  int read = -1, write = -1;
  SmallPipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    read = fds[0];
    write = fds[1];
    ::fcntl(write, F_SETPIPE_SZ, 4096);
  }
  SmallPipe(const SmallPipe&) = delete;
  SmallPipe& operator=(const SmallPipe&) = delete;
  ~SmallPipe() {
    close_write();
    if (read >= 0) ::close(read);
  }
  void close_write() {
    if (write >= 0) ::close(write);
    write = -1;
  }
  // Reads until EOF, pausing between small reads when slow.
  std::string read_all(bool slow) const {
    std::string out;
    char buf[512];
    for (;;) {
      const ssize_t n = ::read(read, buf, slow ? 100 : sizeof buf);
      if (n <= 0) return out;
      out.append(buf, static_cast<std::size_t>(n));
      if (slow) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
};

// n access log lines, each with its number in the path.
std::string numbered_lines(int from, int n) {
  std::string out;
  for (int i = from; i < from + n; ++i) {
    fa::append_access_line(out, {"GET", "/" + std::to_string(i) + std::string(80, 'x'), 200, 0.5, "127.0.0.1:9"},
                           "2026-12-06T00:00:00.000Z");
  }
  return out;
}

// The lines of text that are whole JSON objects, and the count of those that are not.
struct Parsed {
  std::vector<nlohmann::json> lines;
  int bad = 0;
};
Parsed parse_lines(const std::string& text) {
  Parsed p;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    if (end == std::string::npos) {  // the text ends in part of a line: torn
      ++p.bad;
      break;
    }
    try {
      p.lines.push_back(nlohmann::json::parse(text.substr(start, end - start)));
    } catch (const nlohmann::json::exception&) {
      ++p.bad;
    }
    start = end + 1;
  }
  return p;
}

}  // namespace

TEST_CASE("an access line is at most PIPE_BUF bytes whatever the client sent, and a cut one says so") {
  const std::string controls(16 * 1024, '\x01');  // 6 bytes each once escaped
  const std::string method = controls.substr(0, 4096), peer = controls.substr(0, 200);
  const fa::AccessRecord worst{method, controls, 400, 1, peer};
  const std::string line = fa::access_line(worst, std::chrono::system_clock::now());
  CHECK(line.size() <= fa::kMaxLineBytes);
  const auto j = nlohmann::json::parse(line);
  CHECK(j.at("truncated") == true);
  CHECK(j.at("path") == controls.substr(0, fa::kMaxPathBytes));
  CHECK_FALSE(nlohmann::json::parse(fa::access_line({"GET", "/", 200, 1, "p"}, {})).contains("truncated"));
}

TEST_CASE("a non-blocking pipe read slowly gets every line, whole and in order") {
  SmallPipe pipe;
  ::fcntl(pipe.write, F_SETFL, O_NONBLOCK);  // as some supervisors hand stdout over
  const auto dropped_before = fa::dropped_log_lines().load();
  auto text = std::async(std::launch::async, [&] { return pipe.read_all(true); });
  constexpr int kBatches = 40, kPerBatch = 100;
  for (int b = 0; b < kBatches; ++b) fa::write_lines(pipe.write, numbered_lines(b * kPerBatch, kPerBatch));
  pipe.close_write();
  const Parsed p = parse_lines(text.get());
  CHECK(p.bad == 0);
  REQUIRE(p.lines.size() == kBatches * kPerBatch);
  for (int i = 0; i < kBatches * kPerBatch; ++i) {
    CHECK(p.lines[static_cast<std::size_t>(i)].at("path").get<std::string>().rfind("/" + std::to_string(i) + "x", 0) ==
          0);
  }
  CHECK(fa::dropped_log_lines().load() == dropped_before);
}

TEST_CASE("a reader that stops reading gets whole lines dropped and counted, and never holds the writer") {
  ::signal(SIGPIPE, SIG_IGN);
  SmallPipe pipe;
  const auto dropped_before = fa::dropped_log_lines().load();
  constexpr int kBatches = 20, kPerBatch = 100;  // 20 * 100 * ~190 bytes: far more than the pipe holds
  auto writer = std::async(std::launch::async, [&] {
    for (int b = 0; b < kBatches; ++b) fa::write_lines(pipe.write, numbered_lines(b * kPerBatch, kPerBatch));
  });
  // The first batch that finds the pipe full waits kStuckReaderWait, the ones after it not at all.
  const bool returned = writer.wait_for(fa::kStuckReaderWait + std::chrono::seconds(3)) == std::future_status::ready;
  CHECK(returned);
  if (!returned) {  // a writer blocked in write(2): EPIPE sets it free
    ::close(pipe.read);
    pipe.read = -1;
    writer.wait();
    return;
  }
  // The reader reads again: the next batch arrives whole, and the count of what was lost is reported.
  auto text = std::async(std::launch::async, [&] { return pipe.read_all(false); });
  int unread = 1;
  while (::ioctl(pipe.read, FIONREAD, &unread) == 0 && unread > 0) std::this_thread::sleep_for(milliseconds(1));
  fa::write_lines(pipe.write, numbered_lines(kBatches * kPerBatch, kPerBatch));
  pipe.close_write();
  const Parsed p = parse_lines(text.get());
  const auto dropped = fa::dropped_log_lines().load() - dropped_before;
  CHECK(p.bad == 0);
  CHECK(dropped > 0);
  CHECK(p.lines.size() + dropped == (kBatches + 1) * kPerBatch);
  REQUIRE(p.lines.size() >= kPerBatch);
  CHECK(p.lines.back().at("path").get<std::string>().rfind("/" + std::to_string((kBatches + 1) * kPerBatch - 1), 0) ==
        0);
}

TEST_CASE("a SIGKILL at any moment of a write leaves whole lines only") {
  std::mt19937 random(42);
  for (int round = 0; round < 20; ++round) {
    SmallPipe pipe;
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // writes 64 KiB batches for ever, as a busy loop's access log does
      ::close(pipe.read);
      for (int b = 0;; ++b) fa::write_lines(pipe.write, numbered_lines(b * 400, 400));
    }
    pipe.close_write();
    std::string text;
    char buf[100];
    const auto kill_at = std::chrono::steady_clock::now() +
                         std::chrono::microseconds(std::uniform_int_distribution<>(100, 20000)(random));
    while (std::chrono::steady_clock::now() < kill_at) {  // a slow reader: the writer is mid-write
      const ssize_t n = ::read(pipe.read, buf, sizeof buf);
      if (n > 0) text.append(buf, static_cast<std::size_t>(n));
    }
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    text += pipe.read_all(false);
    CAPTURE(round);
    const Parsed p = parse_lines(text);
    CHECK(p.bad == 0);
    CHECK(!p.lines.empty());
  }
}

TEST_CASE("access log lines are single-line JSON even for hostile paths") {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
  const std::string hostile = std::string("/a\"b\nc\0d", 8) + "\xff\xfe";
  const auto line = fa::access_line({"GET", hostile, 404, 1.23456, "127.0.0.1:4242"}, t);
  REQUIRE(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  const auto j = nlohmann::json::parse(line);
  CHECK(j.at("time") == "2023-11-14T22:13:20.123Z");
  CHECK(j.at("method") == "GET");
  CHECK(j.at("status") == 404);
  CHECK(j.at("duration_ms") == doctest::Approx(1.234));
  CHECK(j.at("peer") == "127.0.0.1:4242");
  CHECK(j.at("msg") == "request");
  CHECK(j.at("path").get<std::string>().find("\xEF\xBF\xBD") != std::string::npos);
}
