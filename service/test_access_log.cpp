// Unit tests of access_log.hpp (per-loop batches of lines) and of logging.hpp's hand-written
// access line, which must say exactly what the nlohmann_json-built line it replaced said.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "service/access_log.hpp"

namespace fa = favorite_athlete;
using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {

// An unlinked temporary file: what was written to it so far.
class TempFile {
 public:
  TempFile() : file_(std::tmpfile()) { REQUIRE(file_ != nullptr); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() { std::fclose(file_); }
  int fd() const { return ::fileno(file_); }
  std::string contents() const {
    struct stat st {};
    REQUIRE(::fstat(fd(), &st) == 0);
    std::string out(static_cast<std::size_t>(st.st_size), '\0');
    REQUIRE(::pread(fd(), out.data(), out.size(), 0) == static_cast<ssize_t>(out.size()));
    return out;
  }

 private:
  std::FILE* file_;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    out.push_back(text.substr(start, end - start));
  }
  if (start != text.size()) out.push_back(text.substr(start));  // an unterminated tail: torn
  return out;
}

fa::AccessRecord record(std::string_view path) { return {"GET", path, 200, 0.25, "127.0.0.1:4242"}; }

const SteadyTime t0 = SteadyTime() + std::chrono::hours(1);

// The access line as the service wrote it before append_access_line: built with nlohmann_json.
// The same line built by nlohmann_json, with the fields cut as documented (kMax*Bytes).
std::string nlohmann_access_line(const fa::AccessRecord& r, std::chrono::system_clock::time_point t) {
  nlohmann::json fields = {{"level", "info"},
                           {"msg", "request"},
                           {"method", r.method.substr(0, fa::kMaxMethodBytes)},
                           {"path", r.path.substr(0, fa::kMaxPathBytes)},
                           {"status", r.status},
                           {"duration_ms", static_cast<double>(static_cast<long long>(r.duration_ms * 1000)) / 1000},
                           {"peer", r.peer.substr(0, fa::kMaxPeerBytes)}};
  if (r.method.size() > fa::kMaxMethodBytes || r.path.size() > fa::kMaxPathBytes || r.peer.size() > fa::kMaxPeerBytes) {
    fields["truncated"] = true;
  }
  return fa::json_line(fields, t);
}

}  // namespace

TEST_CASE("lines are collected, not written, until flush()") {
  TempFile out;
  fa::AccessLog log(out.fd());
  CHECK(log.on());
  CHECK_FALSE(log.due().has_value());
  log.add(record("/a"), t0);
  log.add(record("/b"), t0 + milliseconds(1));
  log.add(record("/c"), t0 + milliseconds(2));
  CHECK(out.contents().empty());
  log.flush();
  const auto lines = lines_of(out.contents());
  REQUIRE(lines.size() == 3);
  CHECK(nlohmann::json::parse(lines[0]).at("path") == "/a");
  CHECK(nlohmann::json::parse(lines[2]).at("path") == "/c");
  CHECK_FALSE(log.due().has_value());
  log.flush();  // nothing collected: nothing written
  CHECK(lines_of(out.contents()).size() == 3);
}

TEST_CASE("due() is the oldest collected line's time + 100 ms") {
  TempFile out;
  fa::AccessLog log(out.fd());
  log.add(record("/a"), t0);
  REQUIRE(log.due().has_value());
  CHECK(*log.due() == t0 + milliseconds(100));
  log.add(record("/b"), t0 + milliseconds(60));
  CHECK(*log.due() == t0 + milliseconds(100));  // a newer line does not postpone the batch
  log.flush();
  CHECK_FALSE(log.due().has_value());
  log.add(record("/c"), t0 + milliseconds(500));
  CHECK(*log.due() == t0 + milliseconds(600));  // the next batch's oldest line
  CHECK(fa::AccessLog::kMaxDelay == milliseconds(100));
}

TEST_CASE("a batch that reaches 64 KiB is written at once, and holds whole lines only") {
  TempFile out;
  fa::AccessLog log(out.fd());
  const std::string path = "/" + std::string(997, 'p');  // lines that do not divide 64 KiB
  std::size_t added = 0;
  std::size_t line_size = 0;
  while (out.contents().empty()) {
    REQUIRE(added < 1000);
    log.add(record(path), t0);
    ++added;
    if (line_size == 0) line_size = fa::access_line(record(path), std::chrono::system_clock::now()).size();
  }
  const std::string batch = out.contents();
  CHECK(batch.size() >= fa::AccessLog::kCapacity);
  CHECK(batch.size() < fa::AccessLog::kCapacity + line_size);  // written as soon as it was full
  CHECK(batch.back() == '\n');
  const auto lines = lines_of(batch);
  CHECK(lines.size() == added);
  for (const auto& line : lines) CHECK(nlohmann::json::accept(line));
  CHECK_FALSE(log.due().has_value());  // everything went
}

TEST_CASE("the destructor writes what is left") {
  TempFile out;
  {
    fa::AccessLog log(out.fd());
    log.add(record("/last"), t0);
    CHECK(out.contents().empty());
  }
  const auto lines = lines_of(out.contents());
  REQUIRE(lines.size() == 1);
  CHECK(nlohmann::json::parse(lines[0]).at("path") == "/last");
}

TEST_CASE("an access log without an fd is off") { CHECK_FALSE(fa::AccessLog(-1).on()); }

TEST_CASE("two threads, each with its own AccessLog, on one pipe: every line read back is whole and in order") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  constexpr int kLines = 4000;  // a few 64 KiB batches each: far past PIPE_BUF, and past the pipe's size
  std::string text;
  std::thread reader([&] {
    char buf[65536];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  });
  auto writer = [&](char who) {
    fa::AccessLog log(fds[1]);
    for (int i = 0; i < kLines; ++i) {
      const std::string path = std::string(1, '/') + who + std::to_string(i) + std::string(100, who);
      log.add(record(path), std::chrono::steady_clock::now());
      if (i % 1500 == 0) log.flush();  // a few small batches too, as an idle loop writes them
    }
  };
  std::thread a(writer, 'a');
  std::thread b(writer, 'b');
  a.join();
  b.join();
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);

  std::map<char, int> next{{'a', 0}, {'b', 0}};
  const auto lines = lines_of(text);
  CHECK(lines.size() == 2 * kLines);
  int bad = 0;
  for (const auto& line : lines) {
    try {
      const std::string path = nlohmann::json::parse(line).at("path");
      const char who = path.at(1);
      const int i = std::stoi(path.substr(2));
      if (path != std::string(1, '/') + who + std::to_string(i) + std::string(100, who) || i != next.at(who)) ++bad;
      next[who] = i + 1;
    } catch (const std::exception&) {
      ++bad;
    }
  }
  CHECK(bad == 0);
  CHECK(next['a'] == kLines);
  CHECK(next['b'] == kLines);
}

TEST_CASE("append_access_line says what the nlohmann_json-built line said, for any input") {
  const auto t = std::chrono::system_clock::time_point(milliseconds(1'700'000'000'123));
  std::string all_bytes;  // every byte value, NUL and invalid UTF-8 included
  for (int c = 0; c < 256; ++c) all_bytes += static_cast<char>(c);
  const std::vector<std::string> strings = {
      "",
      "/",
      "/healthz?x=1&y=2",
      "GET",
      "127.0.0.1:4242",
      "[::1]:65535",
      "/a\"b\\c/d",  // quote, backslash
      "\"\\\"\\\\",
      "/\n\r\t\b\f\x01\x1f\x7f",  // control characters, DEL
      std::string("/nul\0after", 10),
      std::string(1, '\0'),
      "/caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8f\x83",  // valid UTF-8
      "/\xff\xfe",                                   // invalid UTF-8: replaced
      "/trunc\xe2\x82",
      "/overlong\xc0\xaf",
      "/surrogate\xed\xa0\x80",
      "/mixed\xc3\xa9\x80\"\n\x00x",
      all_bytes,
  };
  const std::vector<double> durations = {0, 0.0004, 0.001, 1.23456, 999.9999, 12345.678, 86'400'000};
  std::size_t compared = 0;
  for (const auto& s : strings) {
    for (const fa::AccessRecord& r :
         {fa::AccessRecord{"GET", s, 200, 1.5, "10.0.0.1:1"}, fa::AccessRecord{s, "/", 405, 0.3, "10.0.0.1:1"},
          fa::AccessRecord{"HEAD", "/", 404, 2, s}}) {
      const std::string shown = nlohmann::json(s).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
      CAPTURE(shown);
      const std::string line = fa::access_line(r, t);
      REQUIRE(line.back() == '\n');
      CHECK(line.find('\n') == line.size() - 1);  // one line
      nlohmann::json got;
      REQUIRE_NOTHROW(got = nlohmann::json::parse(line));  // valid JSON, valid UTF-8
      CHECK(got == nlohmann::json::parse(nlohmann_access_line(r, t)));
      ++compared;
    }
  }
  for (const double d : durations) {
    CAPTURE(d);
    const fa::AccessRecord r{"GET", "/", 200, d, "127.0.0.1:1"};
    CHECK(nlohmann::json::parse(fa::access_line(r, t)) == nlohmann::json::parse(nlohmann_access_line(r, t)));
  }
  CHECK(compared == 3 * strings.size());

  const auto j = nlohmann::json::parse(fa::access_line({"GET", "/x\xff", 200, 1, "p"}, t));
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  CHECK(keys == std::vector<std::string>{"duration_ms", "level", "method", "msg", "path", "peer", "status", "time"});
  CHECK(j.at("path") == "/x\xef\xbf\xbd");  // U+FFFD
  CHECK(j.at("time") == "2023-11-14T22:13:20.123Z");
}

TEST_CASE("append_access_line appends: a batch is lines one after another") {
  const auto t = std::chrono::system_clock::time_point(milliseconds(0));
  std::string batch = "previous\n";
  fa::append_access_line(batch, record("/1"), fa::format_time(t));
  fa::append_access_line(batch, record("/2"), fa::format_time(t));
  const auto lines = lines_of(batch);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "previous");
  CHECK(nlohmann::json::parse(lines[1]).at("path") == "/1");
  CHECK(nlohmann::json::parse(lines[2]).at("path") == "/2");
}
