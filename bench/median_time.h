// The median wall time of a few runs of a piece of work, in ms: what the CPU benchmarks print
// (the median shrugs off one run that another process slowed).
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace cm::bench {

inline double median_ms(const std::function<void()>& run, int runs = 3) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace cm::bench
