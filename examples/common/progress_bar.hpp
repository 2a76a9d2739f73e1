#pragma once
// A progress bar on stderr for pipeline::Progress: stage, bar, step/total, frames/s, ETA.
// Carriage-return updates on a terminal; one line per stage (at its end) otherwise.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>

namespace cascadev::examples {

class ProgressBar {
public:
    explicit ProgressBar(bool enabled) : enabled_(enabled), tty_(::isatty(2) != 0) {}
    ~ProgressBar() { close(); }  // an error message then starts on its own line
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    /// Starts timing `stage` now (otherwise its clock starts at its first report, so the
    /// first step's time is not counted).
    void start(std::string_view stage) {
        close();
        stage_ = std::string(stage);
        t0_ = clock::now();
    }

    /// Frames of work one step of `stage` stands for (frames/s = steps · this / seconds).
    void set_frames_per_step(const std::string& stage, double frames) { per_step_[stage] = frames; }

    void operator()(std::string_view stage, int step, int total) {
        if (!enabled_) return;
        const auto now = clock::now();
        if (stage != stage_) {
            close();
            stage_ = std::string(stage);
            t0_ = now;
        }
        const double el = std::chrono::duration<double>(now - t0_).count();
        const double per = step > 0 ? el / step : 0, eta = per * (total - step);
        const auto it = per_step_.find(stage_);
        const double fps = el > 0 ? step * (it == per_step_.end() ? 1.0 : it->second) / el : 0;
        constexpr int width = 24;
        const int filled = total > 0 ? int(double(width) * step / total) : width;
        std::string bar(std::size_t(filled), '#');
        bar.append(std::size_t(width - filled), '.');
        char line[256];
        std::snprintf(line, sizeof line, "%-8s [%s] %d/%d  %.2f frames/s  %.1fs elapsed  ETA %.1fs", stage_.c_str(),
                      bar.c_str(), step, total, fps, el, eta);
        if (tty_) {
            std::fprintf(stderr, "\r%s\033[K", line);
            open_ = true;
            if (step >= total) close();
        } else if (step >= total) {
            std::fprintf(stderr, "%s\n", line);
        }
        std::fflush(stderr);
    }

    /// Ends an open carriage-return line (before printing anything else on stderr).
    void close() {
        if (open_) std::fputc('\n', stderr);
        open_ = false;
    }

private:
    using clock = std::chrono::steady_clock;
    bool enabled_, tty_, open_ = false;
    std::string stage_;
    clock::time_point t0_;
    std::map<std::string, double, std::less<>> per_step_;
};

}  // namespace cascadev::examples
