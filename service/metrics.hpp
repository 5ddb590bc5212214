// Prometheus metrics, kept with prometheus-cpp (core only) and served by cpp-httplib on /metrics.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "service/event_loop.hpp"
#include "service/logging.hpp"

namespace favorite_athlete {

class Metrics {
 public:
  Metrics(const std::string& version, const std::string& commit, const std::string& httplib_version)
      : registry_(std::make_shared<prometheus::Registry>()),
        requests_(prometheus::BuildCounter()
                      .Name("favorite_athlete_http_requests_total")
                      .Help("HTTP requests answered, by method and status code")
                      .Register(*registry_)),
        duration_(prometheus::BuildHistogram()
                      .Name("favorite_athlete_http_request_duration_seconds")
                      .Help("Time from a request's first byte to its answer")
                      .Register(*registry_)
                      .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                                       0.01, 0.025, 0.05, 0.1, 0.25, 1})),
        in_flight_(gauge("favorite_athlete_http_requests_in_flight", "Requests being answered")),
        connections_(gauge("favorite_athlete_http_open_connections", "Open client connections")),
        states_(prometheus::BuildGauge()
                    .Name("favorite_athlete_connections")
                    .Help("Open client connections by state: idle (between requests), reading (a request head "
                          "in part), writing (a reply the client has not taken yet), closing (after a last reply)")
                    .Register(*registry_)) {
    for (std::size_t s = 0; s < kStateNames.size(); ++s) state_gauges_[s] = &states_.Add({{"state", kStateNames[s]}});
    log_dropped_ = &prometheus::BuildCounter()
                        .Name("favorite_athlete_log_lines_dropped_total")
                        .Help("Log lines dropped, whole, because the reader of stdout or stderr took nothing for 1 s")
                        .Register(*registry_)
                        .Add({});
    prometheus::BuildGauge()
        .Name("favorite_athlete_build_info")
        .Help("Build of the running binary (always 1)")
        .Register(*registry_)
        .Add({{"version", version}, {"commit", commit}, {"httplib", httplib_version}})
        .Set(1);
  }

  void request_started() { in_flight_.Increment(); }
  void request_ended() { in_flight_.Decrement(); }
  void answered(std::string_view method, int status, double seconds) {
    counter(method, status).Increment();
    duration_.Observe(seconds);
  }
  // Where the connection gauges are read from when scraped: open connections per state.
  void set_connection_source(std::function<ConnectionCounts()> source) { connection_source_ = std::move(source); }

  std::string render() {
    if (connection_source_) {
      const auto counts = connection_source_();
      std::size_t open = 0;
      for (std::size_t s = 0; s < counts.size(); ++s) {
        state_gauges_[s]->Set(static_cast<double>(counts[s]));
        open += counts[s];
      }
      connections_.Set(static_cast<double>(open));
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);  // scrapes may overlap: add each drop once
      log_dropped_->Increment(static_cast<double>(dropped_log_lines().load()) - log_dropped_->Value());
    }
    return prometheus::TextSerializer().Serialize(registry_->Collect());
  }

 private:
  // Label values are bounded: any method outside this list counts as OTHER, any status as itself
  // (the service only produces a handful).
  static constexpr std::array<std::string_view, 10> kMethods = {"GET",   "HEAD",    "POST",  "PUT",     "DELETE",
                                                                "PATCH", "OPTIONS", "TRACE", "CONNECT", "OTHER"};

  prometheus::Gauge& gauge(const char* name, const char* help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(*registry_).Add({});
  }

  // Series are created on first use, then found without a lock.
  prometheus::Counter& counter(std::string_view method, int status) {
    std::size_t m = 0;
    while (m + 1 < kMethods.size() && kMethods[m] != method) ++m;
    status = std::clamp(status, 100, 599);
    const auto s = static_cast<std::size_t>(status - 100);
    auto& slot = series_[m][s];
    if (auto* c = slot.load(std::memory_order_acquire)) return *c;
    std::lock_guard<std::mutex> lock(mutex_);
    if (slot.load() == nullptr) {
      slot.store(&requests_.Add({{"method", std::string(kMethods[m])}, {"code", std::to_string(status)}}));
    }
    return *slot.load();
  }

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Histogram& duration_;
  prometheus::Gauge& in_flight_;
  prometheus::Gauge& connections_;
  prometheus::Family<prometheus::Gauge>& states_;
  std::array<prometheus::Gauge*, kStateNames.size()> state_gauges_{};
  std::function<ConnectionCounts()> connection_source_;
  prometheus::Counter* log_dropped_ = nullptr;  // follows dropped_log_lines() when scraped
  std::mutex mutex_;
  std::array<std::array<std::atomic<prometheus::Counter*>, 500>, kMethods.size()> series_{};
};

}  // namespace favorite_athlete
