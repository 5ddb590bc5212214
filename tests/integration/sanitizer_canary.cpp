// A deliberate bug of each kind the sanitizer presets (asan, tsan) instrument for. ctest
// expects each one reported (tests.cmake), so a sanitizer run whose binaries were not
// instrumented fails instead of passing with nothing to report.
#include <climits>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  const std::string kind = argc > 1 ? argv[1] : "";
  if (kind == "address") {
    const std::vector<int> v(4);
    return v.data()[argc + 2];  // argc is 2: one past the end
  }
  if (kind == "undefined") {
    const int big = INT_MAX - 2 + argc;  // INT_MAX
    return big + argc > 0 ? 0 : 1;       // signed overflow
  }
  if (kind == "thread") {
    int shared = 0;
    std::thread other([&] { ++shared; });
    ++shared;  // unsynchronised with the other thread's
    other.join();
    return shared;
  }
  std::fprintf(stderr, "usage: sanitizer_canary address|undefined|thread\n");
  return 2;
}
