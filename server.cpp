// favorite-athlete: process concerns. Configuration, logging, signals and graceful shutdown;
// HTTP behaviour lives in handlers.hpp, its cpp-httplib adaptation in http_server.hpp.
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "service/config.hpp"
#include "service/http_server.hpp"
#include "service/logging.hpp"
#include "service/metrics_server.hpp"

namespace fa = favorite_athlete;

namespace {

constexpr const char* kVersion = FAVORITE_ATHLETE_VERSION " (commit " FAVORITE_ATHLETE_COMMIT
                                                          ", cpp-httplib " CPPHTTPLIB_VERSION ")";

void log_info(nlohmann::json fields) {
  fields["level"] = "info";
  fa::log_to(STDOUT_FILENO, std::move(fields));
}

void log_error(nlohmann::json fields) {
  fields["level"] = "error";
  fa::log_to(STDERR_FILENO, std::move(fields));
}

// Healthcheck mode for images without curl: exit 0 on a 2xx answer within 2 s.
int check(const std::string& url) {
  const auto slash = url.find('/', std::strlen("http://"));
  httplib::Client client(url.substr(0, slash));
  client.set_connection_timeout(2);
  client.set_read_timeout(2);
  client.set_write_timeout(2);
  const auto res = client.Get(slash == std::string::npos ? "/" : url.substr(slash));
  if (res && res->status >= 200 && res->status < 300) return 0;
  std::cerr << "favorite-athlete: check " << url
            << " failed: " << (res ? "status " + std::to_string(res->status) : httplib::to_string(res.error())) << "\n";
  return 1;
}

// Go-style: lift the soft open-files limit to the hard one, so connections, not the default
// 1024, are what runs out first.
rlim_t raise_open_files_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    getrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur;
}

// One event loop per CPU this process may run on (its affinity mask, as taskset or a cpuset sets
// it): each loop keeps one CPU busy, and more would only take turns on the same CPUs.
std::size_t auto_loops() {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  const int n = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
  return static_cast<std::size_t>(std::max(n, 1));
}

// Waits for one of `signals` until `timeout` (forever if none); returns the signal or 0.
int wait_signal(const sigset_t& signals, std::optional<std::chrono::milliseconds> timeout) {
  if (!timeout) {
    int sig = 0;
    return sigwait(&signals, &sig) == 0 ? sig : 0;
  }
  const auto ms = timeout->count();
  const timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000L};
  const int sig = sigtimedwait(&signals, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

// Binds `port` (0: any free one) with bind(address, port), which returns the port bound or -1
// with errno set; on failure, a line on stderr names the setting the port came from.
template <typename Bind>
int bind_port(Bind bind, const std::string& address, int port, const char* setting) {
  const int bound = bind(address, port);
  if (bound <= 0) {
    const int err = errno;
    std::cerr << "favorite-athlete: cannot listen on BIND_ADDRESS=" << address << " " << setting << "=" << port << ": "
              << std::strerror(err) << "\n";
    return -1;
  }
  return bound;
}

[[noreturn]] void exit_now(int sig, const char* phase) {
  log_error({{"msg", "second signal, exiting at once"}, {"signal", strsignal(sig)}, {"phase", phase}});
  std::_Exit(128 + sig);
}

int serve(const fa::Config& config) {
  // Signals are taken synchronously by this thread (sigwait), never by async handlers: the mask
  // is set before any thread starts, so every thread inherits it.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  const rlim_t open_files = raise_open_files_limit();

  fa::Metrics metrics(FAVORITE_ATHLETE_VERSION, FAVORITE_ATHLETE_COMMIT, CPPHTTPLIB_VERSION);
  const fa::Service service(config.athlete);
  fa::Limits limits;
  limits.loops = config.threads > 0 ? static_cast<std::size_t>(config.threads) : auto_loops();
  limits.keepalive_timeout = std::chrono::seconds(config.keepalive_timeout_seconds);
  limits.read_timeout = std::chrono::seconds(config.read_timeout_seconds);
  std::atomic<bool> draining{false};
  fa::HttpServer server(service, limits, draining, metrics, config.access_log ? STDOUT_FILENO : -1,
                        [](const char* what) {
                          log_error({{"msg", "request failed"}, {"exception", what}});
                        });
  metrics.set_connection_source([&server] { return server.connection_counts(); });

  const int port = bind_port([&](const std::string& a, int p) { return server.bind(a, p); }, config.bind_address,
                             config.port, "PORT");
  if (port <= 0) return 1;

  // The metrics port, if any: bound before anything is served, so a taken port fails the start.
  std::unique_ptr<fa::MetricsServer> metrics_server;
  int metrics_port = fa::kMetricsOff;
  if (config.metrics_port != fa::kMetricsOff) {
    metrics_server = std::make_unique<fa::MetricsServer>([&metrics] { return metrics.render(); });
    metrics_port = bind_port(
        [&](const std::string& a, int p) {
          if (p != 0) return metrics_server->bind_to_port(a, p, AI_NUMERICHOST) ? p : -1;
          return metrics_server->bind_to_any_port(a, AI_NUMERICHOST);
        },
        config.bind_address, config.metrics_port, "METRICS_PORT");
    if (metrics_port <= 0) return 1;
  }
  std::thread metrics_listener;
  if (metrics_server) metrics_listener = std::thread([&] { metrics_server->listen_after_bind(); });
  const auto stop_metrics = [&] {
    if (!metrics_server) return;
    metrics_server->stop();
    metrics_listener.join();
  };

  std::promise<bool> stopped;
  auto listener_done = stopped.get_future();
  std::thread listener([&] { stopped.set_value(server.run()); });
  log_info({{"msg", "listening"},
            {"address", config.bind_address},
            {"port", port},
            {"metrics_port", metrics_port > 0 ? nlohmann::json(metrics_port) : nlohmann::json("off")},
            {"version", kVersion},
            {"event_loops", limits.loops},
            {"max_open_files", open_files},
            {"drain_seconds", config.drain_seconds},
            {"shutdown_timeout_seconds", config.shutdown_timeout_seconds}});

  int sig = 0;
  while (sig == 0) {
    sig = wait_signal(signals, std::chrono::seconds(1));
    if (sig == 0 && listener_done.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
      log_error({{"msg", "listener stopped unexpectedly"}});
      listener.join();
      stop_metrics();
      return 1;
    }
  }

  // Readiness flips at once; keep serving while load balancers stop sending new requests.
  draining = true;
  log_info({{"msg", "draining"}, {"signal", strsignal(sig)}, {"drain_seconds", config.drain_seconds}});
  if (const int again = wait_signal(signals, std::chrono::seconds(config.drain_seconds))) {
    exit_now(again, "drain");
  }

  // The metrics port closes first: its counts would show the public port emptying, which no
  // one is left to scrape once the pod is gone. A scrape during the last seconds is lost.
  stop_metrics();
  // Stop accepting; in-flight requests finish, idle connections close.
  server.stop();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(config.shutdown_timeout_seconds);
  while (listener_done.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
    if (std::chrono::steady_clock::now() >= deadline) {
      log_error({{"msg", "shutdown timed out, exiting with requests in flight"},
                 {"shutdown_timeout_seconds", config.shutdown_timeout_seconds}});
      std::_Exit(1);
    }
    if (const int again = wait_signal(signals, std::chrono::milliseconds(50))) exit_now(again, "shutdown");
  }
  listener.join();
  log_info({{"msg", "stopped"}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const fa::Parsed parsed = fa::parse_config(args, [](const char* name) { return std::getenv(name); });
  if (!parsed.error.empty()) {
    std::cerr << "favorite-athlete: " << parsed.error << "\n";
    return 2;
  }
  switch (parsed.action) {
    case fa::Action::Help: std::cout << fa::usage(); return 0;
    case fa::Action::Version: std::cout << "favorite-athlete " << kVersion << "\n"; return 0;
    case fa::Action::Check: return check(parsed.check_url);
    case fa::Action::Serve: break;
  }
  try {
    return serve(parsed.config);
  } catch (const std::exception& e) {
    std::cerr << "favorite-athlete: fatal: " << e.what() << "\n";
    return 1;
  }
}
