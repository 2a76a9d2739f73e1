// cascadev-bench-conv: throughput and peak memory of the two convolutional models on the
// CPU (bench/run_cpu_bench.sh runs it beside bench/torch_conv.py, the PyTorch baseline of
// the same work).
//
//   cascadev-bench-conv [--case encoder|decoder] [--frames T] [--size S] [--slice N]
//                       [--repeats N] [--warmup N]
//
// Cases (every bound parameter filled with deterministic random weights, seed 7, through
// pipeline::parameter_specs + pipeline::random_weight_store, as bench_dit.cpp does; inputs
// Philox N(0, 1)):
//   encoder  EffnetEncoder<EffnetV2S>::encode of a video [1, 3, T, S, S] in [-1, 1]
//            (default T = 8, S = 256) -> latent [1, 16, T, S/32, S/32]
//   decoder  SvdDecoder<SvdReleased>::decode of a latent [1, 4, T, S/8, S/8] (default
//            T = 4, S = 256, slice 4 = the release's slice size) -> video [1, 3, T, S, S]
// Each case runs `warmup` untimed runs (default 1) and `repeats` timed runs (default 3);
// the best time is reported. One JSON object per case on stdout (one line): seconds,
// frames/s, peak RSS (VmHWM of /proc/self/status: run one case per process for a clean
// peak) and the RSS before the timed runs. Threads: OMP_NUM_THREADS (OpenMP and, with
// OpenBLAS's OpenMP build, the GEMMs too).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "cascadev/diffusion/noise.hpp"
#include "cascadev/io/tensor_source.hpp"
#include "cascadev/models/effnet.hpp"
#include "cascadev/models/svd_decoder.hpp"
#include "cascadev/pipeline/random_weights.hpp"

using namespace cascadev;
using namespace cascadev::models;

namespace {

constexpr std::uint64_t weight_seed = 7;

double current_rss_mb() {
    std::ifstream f("/proc/self/statm");
    long pages = 0, resident = 0;
    f >> pages >> resident;
    return double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

double peak_rss_mb() { return double(io::peak_rss()) / (1024.0 * 1024.0); }

template <class F>
double best_seconds(int warmup, int repeats, F&& run) {
    for (int i = 0; i < warmup; ++i) run();
    double best = 1e300;
    for (int i = 0; i < repeats; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        const auto t1 = std::chrono::steady_clock::now();
        best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
    }
    return best;
}

void fill_normal(float* p, index_t n, std::uint64_t stream) {
    diffusion::PhiloxGenerator g(1234, stream);
    g.fill(p, std::span<const index_t>(&n, 1));
}

struct Opts {
    index_t frames = 0;  // 0 = the case's default
    index_t size = 256;
    index_t slice = 4;
    int repeats = 3;
    int warmup = 1;
};

void report(const char* name, const char* what, const std::string& in_shape, index_t frames, double secs,
            double rss_before, const Opts& o, double sink) {
    std::printf(
        "{\"impl\": \"cascadev\", \"case\": \"%s\", \"what\": \"%s\", \"input\": \"%s\", \"threads\": %d, "
        "\"warmup\": %d, \"repeats\": %d, \"frames\": %lld, \"seconds\": %.6f, \"frames_per_s\": %.4f, "
        "\"rss_before_mb\": %.1f, \"peak_rss_mb\": %.1f, \"checksum\": %.6g}\n",
        name, what, in_shape.c_str(), max_threads(), o.warmup, o.repeats, (long long)frames, secs,
        double(frames) / secs, rss_before, peak_rss_mb(), sink);
    std::fflush(stdout);
}

void run_encoder(const Opts& o) {
    using V = EffnetV2S;
    const index_t T = o.frames > 0 ? o.frames : 8, S = o.size;
    const auto specs = pipeline::parameter_specs([](io::Binder& b) { EffnetEncoder<V>().bind(b); });
    EffnetEncoder<V> enc;
    {
        const auto store = pipeline::random_weight_store(specs, weight_seed);
        enc.load(store);
    }
    Tensor<float, DExtents<5>> video(1, 3, T, S, S);
    fill_normal(video.data(), video.size(), 1);
    for (index_t i = 0; i < video.size(); ++i) video.data()[i] = std::tanh(video.data()[i]);  // in (-1, 1)
    const View<const float, DExtents<5>, cpu> v(video.view());

    const double before = current_rss_mb();
    double sink = 0;
    const double secs = best_seconds(o.warmup, o.repeats, [&] {
        const auto lat = enc.encode(v);
        double s = 0;
        for (index_t i = 0; i < lat.size(); ++i) s += double(lat.data()[i]);
        sink = s;
    });
    if (sink != sink) std::fprintf(stderr, "NaN output\n");
    report("encoder", "EffnetEncoder<EffnetV2S>::encode", video.extents().str(), T, secs, before, o, sink);
}

void run_decoder(const Opts& o) {
    using V = SvdReleased;
    const index_t T = o.frames > 0 ? o.frames : 4, h = o.size / 8;
    const auto specs = pipeline::parameter_specs([](io::Binder& b) { SvdDecoder<V>().bind(b); }, "decoder.");
    SvdDecoder<V> dec;
    {
        const auto store = pipeline::random_weight_store(specs, weight_seed);
        dec.load(store);
    }
    Tensor<float, DExtents<5>> latent(1, V::latent_channels, T, h, h);
    fill_normal(latent.data(), latent.size(), 2);
    const View<const float, DExtents<5>, cpu> z(latent.view());
    Tensor<float, DExtents<5>> video(1, V::out_channels, T, h * 8, h * 8);

    const double before = current_rss_mb();
    double sink = 0;
    const double secs = best_seconds(o.warmup, o.repeats, [&] {
        dec.decode_into(z, o.slice, video.view());
        double s = 0;
        for (index_t i = 0; i < video.size(); ++i) s += double(video.data()[i]);
        sink = s;
    });
    if (sink != sink) std::fprintf(stderr, "NaN output\n");
    const std::string what = "SvdDecoder<SvdReleased>::decode, slice " + std::to_string(o.slice);
    report("decoder", what.c_str(), latent.extents().str(), T, secs, before, o, sink);
}

}  // namespace

int main(int argc, char** argv) {
    std::string only;
    Opts o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has = i + 1 < argc;
        if (a == "--case" && has) {
            only = argv[++i];
        } else if (a == "--frames" && has) {
            o.frames = std::max(1, std::atoi(argv[++i]));
        } else if (a == "--size" && has) {
            o.size = std::max(32, std::atoi(argv[++i]));
        } else if (a == "--slice" && has) {
            o.slice = std::max(0, std::atoi(argv[++i]));
        } else if (a == "--repeats" && has) {
            o.repeats = std::max(1, std::atoi(argv[++i]));
        } else if (a == "--warmup" && has) {
            o.warmup = std::max(0, std::atoi(argv[++i]));
        } else {
            std::cerr << "usage: cascadev-bench-conv [--case encoder|decoder] [--frames T] [--size S] [--slice N] "
                         "[--repeats N] [--warmup N]\n";
            return 2;
        }
    }
    if (o.size % 32 != 0) {
        std::cerr << "cascadev-bench-conv: --size must be a multiple of 32\n";
        return 2;
    }
    try {
        bool any = false;
        if (only.empty() || only == "encoder") run_encoder(o), any = true;
        if (only.empty() || only == "decoder") run_decoder(o), any = true;
        if (!any) {
            std::cerr << "cascadev-bench-conv: unknown case " << only << "\n";
            return 2;
        }
    } catch (const std::exception& e) {
        std::cerr << "cascadev-bench-conv: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
