// cascadev-bench-dit: DiT throughput and peak memory on the CPU (bench/run_dit_bench.sh
// runs it beside bench/torch_dit.py, the PyTorch baseline of the same work).
//
//   cascadev-bench-dit [--case NAME] [--repeats N]
//
// Cases (every parameter bound with deterministic random weights, seed 7, through
// pipeline::random_weight_store; inputs Philox N(0, 1)):
//   tiny_4x16   dit.tiny forward on 4 frames of 16x16 latent pixels (one clip, 256 tokens)
//   tiny_8x32   dit.tiny forward_with_dpmsolver on 8 frames of 32x32 (3 windows x 9 tiles)
//   tiny_8x64   dit.tiny forward_with_dpmsolver on 8 frames of 64x64 (3 windows x 25 tiles)
//   xl2_full    one dit.xl2 block, full 3-D attention, on 8x16x16 tokens (one video)
//   xl2_grid14  one dit.xl2 block, grid [1,4] attention, on 8x16x16 tokens
// Each case is timed `repeats` times (default 3) after one warm-up run; the best time is
// reported. One JSON object per case on stdout (one line each): seconds, tokens/s (input
// latent tokens n*(H/2)*(W/2) for the tiny cases; model_tokens counts the tokens that go
// through the blocks, tiles and windows included), peak RSS (ru_maxrss of the process; run
// one case per process for a clean peak) and the RSS before the timed runs.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <span>
#include <iostream>
#include <string>
#include <vector>

#include "cascadev/diffusion/noise.hpp"
#include "cascadev/models/dit.hpp"
#include "cascadev/pipeline/random_weights.hpp"

using namespace cascadev;
using namespace cascadev::models;

namespace {

constexpr std::uint64_t weight_seed = 7;

double peak_rss_mb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;  // KiB on Linux
}

double current_rss_mb() {
    std::ifstream f("/proc/self/statm");
    long pages = 0, resident = 0;
    f >> pages >> resident;
    return double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

template <class F>
double best_seconds(int repeats, F&& run) {
    run();  // warm-up (first-touch of buffers, OpenMP/BLAS thread start)
    double best = 1e300;
    for (int i = 0; i < repeats; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        const auto t1 = std::chrono::steady_clock::now();
        best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
    }
    return best;
}

void fill_normal(float* p, index_t n, std::uint64_t stream, float scale = 1.0f) {
    diffusion::PhiloxGenerator g(1234, stream);
    g.fill(p, std::span<const index_t>(&n, 1));
    for (index_t i = 0; i < n; ++i) p[i] *= scale;
}

void report(const std::string& name, const std::string& what, index_t tokens, index_t model_tokens, double secs,
            double rss_before, int repeats) {
    std::printf(
        "{\"impl\": \"cascadev\", \"case\": \"%s\", \"what\": \"%s\", \"threads\": %d, \"repeats\": %d, "
        "\"tokens\": %lld, \"model_tokens\": %lld, \"seconds\": %.6f, \"tokens_per_s\": %.1f, "
        "\"model_tokens_per_s\": %.1f, \"rss_before_mb\": %.1f, \"peak_rss_mb\": %.1f}\n",
        name.c_str(), what.c_str(), max_threads(), repeats, (long long)tokens, (long long)model_tokens, secs,
        double(tokens) / secs, double(model_tokens) / secs, rss_before, peak_rss_mb());
    std::fflush(stdout);
}

/// dit.tiny on n frames of s x s latent pixels: forward when s = input_size and n = L,
/// else forward_with_dpmsolver (tiles and windows, as the sampler calls it).
void run_tiny(const std::string& name, index_t n, index_t s, int repeats) {
    using V = DitTiny;
    const auto specs = pipeline::parameter_specs([](io::Binder& b) { Dit<V>().bind(b); });
    const auto store = pipeline::random_weight_store(specs, weight_seed);
    Dit<V> dit;
    dit.load(store);

    Tensor<float, DExtents<4>> x(n, V::in_channels, s, s);
    fill_normal(x.data(), x.size(), 1);
    std::vector<float> tau(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) tau[std::size_t(i)] = 500.0f + float(i);
    const View<const float, DExtents<4>, cpu> xv(x.view());

    const bool plain = s == V::input_size && n == V::lats_per_vid;
    const index_t g = V::input_size / V::patch;
    const index_t tiles = index_t(dit_tile_starts(s, V::input_size).size());
    const index_t windows = index_t(dit_window_starts(n, V::lats_per_vid).size());
    const index_t model_tokens = plain ? n * g * g : windows * tiles * tiles * V::lats_per_vid * g * g;
    const index_t tokens = n * (s / V::patch) * (s / V::patch);

    const double before = current_rss_mb();
    double sink = 0;
    const double secs = best_seconds(repeats, [&] {
        if (plain) {
            const auto y = dit.forward(xv, tau);
            sink += double(y.data()[0]);
        } else {
            const auto y = dit.forward_with_dpmsolver(xv, tau);
            sink += double(y.data()[0]);
        }
    });
    if (sink != sink) std::fprintf(stderr, "NaN output\n");
    report(name, plain ? "dit.tiny forward" : "dit.tiny forward_with_dpmsolver", tokens, model_tokens, secs, before,
           repeats);
}

/// One dit.xl2 block on one video of frames x g x g tokens with the given layout.
void run_xl2_block(const std::string& name, const StridesEntry& strides, int repeats) {
    using V = DitXL2;
    constexpr index_t C = V::hidden;
    const index_t frames = 8, g = 16, M = frames * g * g;
    const auto specs = pipeline::parameter_specs([](io::Binder& b) { DitBlock<V>().bind(b, 0); });
    const auto store = pipeline::random_weight_store(specs, weight_seed);
    DitBlock<V> blk;
    {
        io::Binder b(store);
        blk.bind(b, 0);
        b.finish();
    }
    Tensor<float, Extents<dyn, dyn, C>> x0(1, M), x(1, M);
    fill_normal(x0.data(), x0.size(), 2);
    Tensor<float, Extents<dyn, 6 * C>> t6(1);
    fill_normal(t6.data(), t6.size(), 3, 0.1f);
    const View<const float, Extents<dyn, 6 * C>, cpu> t6v(t6.view());

    const double before = current_rss_mb();
    double sink = 0;
    const double secs = best_seconds(repeats, [&] {
        std::memcpy(x.data(), x0.data(), std::size_t(x.size()) * sizeof(float));  // ~9 MB, negligible
        blk(x.view(), t6v, strides, frames, g, g);
        sink += double(x.data()[0]);
    });
    if (sink != sink) std::fprintf(stderr, "NaN output\n");
    const std::string what = strides ? "dit.xl2 block, grid [" + std::to_string(strides->ts) + "," +
                                           std::to_string(strides->xs) + "]"
                                     : std::string("dit.xl2 block, full 3-D");
    report(name, what, M, M, secs, before, repeats);
}

}  // namespace

int main(int argc, char** argv) {
    std::string only;
    int repeats = 3;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--case" && i + 1 < argc) {
            only = argv[++i];
        } else if (a == "--repeats" && i + 1 < argc) {
            repeats = std::max(1, std::atoi(argv[++i]));
        } else {
            std::cerr << "usage: cascadev-bench-dit [--case tiny_4x16|tiny_8x32|tiny_8x64|xl2_full|xl2_grid14] "
                         "[--repeats N]\n";
            return 2;
        }
    }
    const std::vector<std::pair<std::string, std::function<void()>>> cases = {
        {"tiny_4x16", [&] { run_tiny("tiny_4x16", 4, 16, repeats); }},
        {"tiny_8x32", [&] { run_tiny("tiny_8x32", 8, 32, repeats); }},
        {"tiny_8x64", [&] { run_tiny("tiny_8x64", 8, 64, repeats); }},
        {"xl2_full", [&] { run_xl2_block("xl2_full", full3d, repeats); }},
        {"xl2_grid14", [&] { run_xl2_block("xl2_grid14", AttnStrides{1, 4}, repeats); }},
    };
    bool any = false;
    try {
        for (const auto& [name, run] : cases)
            if (only.empty() || only == name) {
                run();
                any = true;
            }
    } catch (const std::exception& e) {
        std::cerr << "cascadev-bench-dit: " << e.what() << "\n";
        return 1;
    }
    if (!any) {
        std::cerr << "cascadev-bench-dit: unknown case " << only << "\n";
        return 2;
    }
    return 0;
}
