// PyTorch's CUDA randn on the device (backend/cuda/torch_cuda_rng.cuh) against its CPU
// twin diffusion::TorchCudaGenerator: the curand words and the Box-Muller radius must be
// bit-exact, __sincosf within the documented bound, whole draws within 1e-5 (docs/noise.md
// expects below 4e-6), the offsets equal. The messages report how close they are: the
// numbers to put in docs/noise.md once this has run on a GPU.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "cascadev/backend/cuda/torch_cuda_rng.cuh"
#include "common.hpp"

using namespace cascadev_test;
namespace cd = cascadev::diffusion;
namespace ce = cascadev::diffusion::curand_emu;

namespace {

__global__ void curand_words_kernel(const unsigned long long* args, int n, uint4* out) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    curandStatePhilox4_32_10_t s;
    curand_init(args[3 * i], args[3 * i + 1], args[3 * i + 2], &s);
    out[3 * i] = curand4(&s);
    out[3 * i + 1] = curand4(&s);
    uint4 single;
    single.x = curand(&s);
    single.y = curand(&s);
    single.z = curand(&s);
    single.w = s.ctr.x;
    out[3 * i + 2] = single;
}

/// The pieces of _curand_box_muller (written as curand_normal.h writes them), and the
/// whole of it: u, v, radius, __sincosf, result.
__global__ void box_muller_kernel(const unsigned* xy, int n, float* out) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const unsigned x = xy[2 * i], y = xy[2 * i + 1];
    const float u = x * CURAND_2POW32_INV + (CURAND_2POW32_INV / 2);
    const float v = y * CURAND_2POW32_INV_2PI + (CURAND_2POW32_INV_2PI / 2);
    const float s = sqrtf(-2.0f * logf(u));
    float sn, cs;
    __sincosf(v, &sn, &cs);
    const float2 r = _curand_box_muller(x, y);
    float* o = out + 7 * i;
    o[0] = u;
    o[1] = v;
    o[2] = s;
    o[3] = sn;
    o[4] = cs;
    o[5] = r.x;
    o[6] = r.y;
}

template <class T>
T* device_copy(const std::vector<T>& h) {
    T* d = nullptr;
    CASCADEV_CUDA_CHECK(cudaMalloc(&d, sizeof(T) * std::max<std::size_t>(h.size(), 1)));
    CASCADEV_CUDA_CHECK(cudaMemcpy(d, h.data(), sizeof(T) * h.size(), cudaMemcpyHostToDevice));
    return d;
}

template <class T>
std::vector<T> host_copy(const T* d, std::size_t n) {
    std::vector<T> h(n);
    CASCADEV_CUDA_CHECK(cudaMemcpy(h.data(), d, sizeof(T) * n, cudaMemcpyDeviceToHost));
    return h;
}

std::uint32_t bits(float f) { return std::bit_cast<std::uint32_t>(f); }

struct Agreement {
    std::size_t n = 0, exact = 0, beyond = 0, first_beyond = 0;
    double max_abs = 0;
};

Agreement compare(const std::vector<float>& gpu, const std::vector<float>& cpu, double tol) {
    Agreement a;
    a.n = gpu.size();
    for (std::size_t i = 0; i < gpu.size(); ++i) {
        const double d = std::abs(double(gpu[i]) - double(cpu[i]));
        a.exact += bits(gpu[i]) == bits(cpu[i]);
        if (!(d <= tol)) {
            if (a.beyond++ == 0) a.first_beyond = i;
        }
        a.max_abs = std::isnan(d) ? INFINITY : std::max(a.max_abs, d);
    }
    return a;
}

std::string describe(const Agreement& a) {
    std::ostringstream os;
    os << a.n << " elements: " << a.exact << " bit-exact (" << (a.n ? 100.0 * double(a.exact) / double(a.n) : 0.0)
       << "%), max |gpu - cpu| " << a.max_abs << ", " << a.beyond << " beyond tolerance";
    return os.str();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cuda_torch_randn)

BOOST_AUTO_TEST_CASE(curand_words_bit_exact) {
    const std::vector<unsigned long long> args{42, 0, 0,   42, 1, 0,   42, 221183, 8,   0x123456789abcdefull, 0xffffffffull, 0,
                                               42, 0, 0xfffffffffffffffcull,   7, 3, 6,   9, 5, 13};
    const int n = int(args.size() / 3);
    unsigned long long* d_args = device_copy(args);
    uint4* d_out = nullptr;
    CASCADEV_CUDA_CHECK(cudaMalloc(&d_out, sizeof(uint4) * 3 * n));
    curand_words_kernel<<<1, 32>>>(d_args, n, d_out);
    CASCADEV_CUDA_CHECK_LAUNCH("curand_words_kernel");
    const auto got = host_copy(d_out, std::size_t(3 * n));
    for (int i = 0; i < n; ++i) {
        auto s = ce::init(args[3 * i], args[3 * i + 1], args[3 * i + 2]);
        const auto a = ce::next4(s), b = ce::next4(s);
        const std::uint32_t c0 = ce::next(s), c1 = ce::next(s), c2 = ce::next(s);
        const uint4 ga = got[3 * i], gb = got[3 * i + 1], gc = got[3 * i + 2];
        BOOST_CHECK_MESSAGE(ga.x == a[0] && ga.y == a[1] && ga.z == a[2] && ga.w == a[3], "first curand4, case " << i);
        BOOST_CHECK_MESSAGE(gb.x == b[0] && gb.y == b[1] && gb.z == b[2] && gb.w == b[3], "second curand4, case " << i);
        BOOST_CHECK_MESSAGE(gc.x == c0 && gc.y == c1 && gc.z == c2 && gc.w == s.ctr[0], "curand() x3, case " << i);
    }
    CASCADEV_CUDA_CHECK(cudaFree(d_args));
    CASCADEV_CUDA_CHECK(cudaFree(d_out));
}

BOOST_AUTO_TEST_CASE(box_muller_radius_bit_exact_sincos_within_bound) {
    // Random words plus the extremes. u, v and the radius must match bit for bit (the
    // emulated logf); __sincosf is the hardware approximation: documented below 2^-21.19
    // absolute on [-pi, pi]; checked against 2^-20.
    std::vector<unsigned> xy;
    for (unsigned e : {0u, 1u, 2u, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu})
        for (unsigned f : {0u, 1u, 0x40000000u, 0x80000000u, 0xc0000000u, 0xffffffffu}) {
            xy.push_back(e);
            xy.push_back(f);
        }
    for (std::uint32_t i = 0; xy.size() < 2 * 200000; ++i) {
        const auto w = cascadev::diffusion::philox4x32_10({i, 0, 0, 0}, {12345, 0});
        xy.insert(xy.end(), w.begin(), w.end());
    }
    const int n = int(xy.size() / 2);
    unsigned* d_xy = device_copy(xy);
    float* d_out = nullptr;
    CASCADEV_CUDA_CHECK(cudaMalloc(&d_out, sizeof(float) * 7 * n));
    box_muller_kernel<<<(n + 255) / 256, 256>>>(d_xy, n, d_out);
    CASCADEV_CUDA_CHECK_LAUNCH("box_muller_kernel");
    const auto got = host_copy(d_out, std::size_t(7 * n));
    std::size_t bad_u = 0, bad_v = 0, bad_s = 0, bad_r = 0, exact_sc = 0, exact_r = 0;
    double max_sc = 0, max_r = 0;
    for (int i = 0; i < n; ++i) {
        const float* g = got.data() + 7 * i;
        const auto [u, v] = ce::box_muller_inputs(xy[2 * i], xy[2 * i + 1]);
        const float s = ce::box_muller_radius(u);
        float sn, cs;
        ce::cuda_sincosf_fast(v, sn, cs);
        const auto r = ce::box_muller(xy[2 * i], xy[2 * i + 1]);
        bad_u += bits(g[0]) != bits(u);
        bad_v += bits(g[1]) != bits(v);
        bad_s += bits(g[2]) != bits(s);
        max_sc = std::max({max_sc, std::abs(double(g[3]) - sn), std::abs(double(g[4]) - cs)});
        exact_sc += (bits(g[3]) == bits(sn)) + (bits(g[4]) == bits(cs));
        const double dr = std::max(std::abs(double(g[5]) - r[0]), std::abs(double(g[6]) - r[1]));
        max_r = std::max(max_r, dr);
        exact_r += (bits(g[5]) == bits(r[0])) + (bits(g[6]) == bits(r[1]));
        bad_r += !(dr <= std::ldexp(double(s), -20) + std::ldexp(std::max(std::abs(double(r[0])), std::abs(double(r[1]))), -22));
    }
    BOOST_TEST_MESSAGE("box muller over " << n << " word pairs: __sincosf vs exact sin/cos of the reduced argument: max "
                                          << max_sc << " (2^" << std::log2(max_sc) << "), " << exact_sc << " of "
                                          << 2 * n << " equal; normals: max |diff| " << max_r << ", " << exact_r
                                          << " of " << 2 * n << " bit-exact");
    BOOST_CHECK_MESSAGE(bad_u == 0u, bad_u << " u values differ");
    BOOST_CHECK_MESSAGE(bad_v == 0u, bad_v << " v values differ");
    BOOST_CHECK_MESSAGE(bad_s == 0u, bad_s << " radii sqrtf(-2 logf(u)) differ (logf emulation)");
    BOOST_CHECK_MESSAGE(max_sc <= std::ldexp(1.0, -20), "__sincosf differs by " << max_sc);
    BOOST_CHECK_MESSAGE(bad_r == 0u, bad_r << " normals beyond s 2^-20 + 1e-7");
    CASCADEV_CUDA_CHECK(cudaFree(d_xy));
    CASCADEV_CUDA_CHECK(cudaFree(d_out));
}

BOOST_AUTO_TEST_CASE(draws_match_cpu_generator) {
    // This device's own launch shape and two foreign ones (the kernel runs with any
    // grid): sizes below, at and above the clamp, with several iterations per thread.
    const cd::CudaLaunchShape here = cascadev::cuda_device_launch_shape();
    BOOST_TEST_MESSAGE("device launch shape: " << cd::to_string(here));
    const double tol = 1e-5;
    for (const cd::CudaLaunchShape gpu : {here, cd::cuda_gpu_preset("a100"), cd::cuda_gpu_preset("t4")}) {
        cascadev::TorchCudaDeviceGenerator dev(42, gpu);
        cd::TorchCudaGenerator cpu(42, gpu);
        const std::uint64_t clamp = 256ull * std::uint64_t(gpu.sm_count) * std::uint64_t(gpu.max_threads_per_sm / 256);
        for (const std::uint64_t n : {std::uint64_t(1), std::uint64_t(3), std::uint64_t(1000), clamp, clamp + 1,
                                      std::uint64_t(524288), std::uint64_t(3000001), std::uint64_t(0), std::uint64_t(17)}) {
            Tensor<float, DExtents<1>, Dev> d(static_cast<std::int64_t>(n));
            dev.fill(d);
            CASCADEV_CUDA_CHECK(cudaDeviceSynchronize());
            const auto h = cascadev::to_host(d);
            const std::vector<float> g(h.data(), h.data() + n);
            std::vector<float> c(n);
            cpu.randn(c.data(), n);
            const Agreement a = compare(g, c, tol);
            BOOST_TEST_MESSAGE(cd::to_string(gpu) << ", n = " << n << ": " << describe(a));
            BOOST_CHECK_MESSAGE(a.beyond == 0u, cd::to_string(gpu) << ", n = " << n << ": " << describe(a)
                                                                  << "; first at " << a.first_beyond);
            BOOST_CHECK_MESSAGE(dev.offset() == cpu.offset(),
                                "offsets " << dev.offset() << " (device) vs " << cpu.offset() << " (cpu)");
        }
    }
}

BOOST_AUTO_TEST_CASE(default_shape_is_the_current_device) {
    cascadev::TorchCudaDeviceGenerator g(7);
    BOOST_CHECK(g.launch_shape() == cascadev::cuda_device_launch_shape());
    BOOST_CHECK_THROW(g.set_offset(2), cascadev::Error);
    Tensor<float, DExtents<2>, Dev> t(4, 6);
    BOOST_CHECK_THROW(g.fill(t.view().permute<1, 0>()), cascadev::Error);  // not contiguous
}

BOOST_AUTO_TEST_SUITE_END()
