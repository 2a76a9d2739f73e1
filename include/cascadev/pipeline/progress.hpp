#pragma once
// Progress reporting shared by the pipeline stages: a callback (stage name, step, total)
// called after each unit of work (a frame for encode/preview, a sampler step for refine,
// a frame slice for decode). An empty callback costs nothing.
#include <chrono>
#include <functional>
#include <string_view>

namespace cascadev::pipeline {

/// progress(stage, step, total): `step` units of `total` are done (1-based, step == total last).
using Progress = std::function<void(std::string_view stage, int step, int total)>;

inline void report(const Progress& p, std::string_view stage, int step, int total) {
    if (p) p(stage, step, total);
}

/// Wall-clock seconds since construction.
class Stopwatch {
public:
    Stopwatch() : t0_(std::chrono::steady_clock::now()) {}
    double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }

private:
    std::chrono::steady_clock::time_point t0_;
};

}  // namespace cascadev::pipeline
