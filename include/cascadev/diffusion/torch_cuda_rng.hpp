#pragma once
// PyTorch's CUDA `torch.randn` (float32), reproduced on the CPU (docs/noise.md).
//
// CascadeV's recon.sh seeds once (`torch.manual_seed(42)`, which also seeds the CUDA
// generator: seed 42, Philox offset 0) and draws every noise tensor on the GPU with
// `torch.randn(shape, device='cuda')`. TorchCudaGenerator reproduces that stream: the
// same Philox4x32-10 words as the GPU, the same assignment of words to elements, the same
// offset advance between draws, so draw k of a TorchCudaGenerator(42, gpu) is draw k of
// the reference run on a GPU of that launch shape.
//
// How PyTorch draws a float32 normal tensor of n elements on CUDA (ATen's
// native/cuda/DistributionTemplates.h, PyTorch 1.13 through 2.x):
//
//  * Launch: 256 threads per block; grid = ceil(n / 256), clamped to
//    multiProcessorCount * (maxThreadsPerMultiProcessor / 256); T = 256 * grid threads.
//    The generator's offset advances by counter_offset = ((n - 1) / (4 T) + 1) * 4
//    (philox_cuda_state rounds up to a multiple of 4; it already is one), and the kernel
//    gets the offset from *before* the advance.
//  * Thread idx (0 <= idx < T): curand_init(seed, subsequence = idx, offset, &state);
//    then for k = 0, 1, ... while idx + 4 T k < n: r = curand_normal4(&state) and element
//    idx + 4 T k + T ii gets r[ii] * std + mean (ii = 0..3, when below n).
//  * curand (curand_kernel.h, curand_philox4x32_x.h, curand_normal.h): key = seed,
//    counter = {offset / 4 (64 bits), subsequence (64 bits)} + k as one 128-bit number;
//    curand4 returns Philox4x32-10(counter, key); curand_normal4 applies Box-Muller to
//    words (x, y) and (z, w): u = x 2^-32 + 2^-33, v = y 2^-32 2pi + 2^-32 pi (float fma),
//    s = sqrtf(-2 logf(u)), result (s sin v, s cos v).
//
// So the grid, hence the result for tensors of more than 256 * SMs * blocks-per-SM
// elements, depends on the GPU: CudaLaunchShape names it (presets below; the default,
// the A100, is an assumption about the reference run). Smaller tensors give the same
// values on every GPU.
//
// Exactness. The Philox words, u, v and s = sqrtf(-2 logf(u)) are bit-exact here (CUDA's
// logf is emulated operation by operation). The device computes sin and cos with the
// fast intrinsic __sincosf (FMUL.RZ by 1/2pi, then the MUFU.SIN / MUFU.COS hardware
// approximation, whose exact output is not specified); this code computes sin and cos of
// the same reduced argument in double. The two differ by the hardware's approximation
// error (about 2^-21 absolute), so an element differs from the GPU's by at most about
// s * 2^-21 + 1/2 ulp (s <= 6.8): below 4e-6 absolute, typically 1e-7, most elements
// within a few ulp. docs/noise.md has the details and the fixture that would confirm it.
//
// Numerics: the emulated logf relies on each std::fma rounding once and on IEEE float
// arithmetic; do not build with -ffast-math.
#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "cascadev/core/error.hpp"
#include "cascadev/diffusion/noise.hpp"

namespace cascadev::diffusion {

// ------------------------------------------------------------------------------------
// Launch shape
// ------------------------------------------------------------------------------------

/// The two device properties PyTorch's launch depends on (cudaDeviceProp's
/// multiProcessorCount and maxThreadsPerMultiProcessor). The default is an A100.
struct CudaLaunchShape {
    int sm_count = 108;
    int max_threads_per_sm = 2048;

    friend constexpr bool operator==(const CudaLaunchShape&, const CudaLaunchShape&) = default;
};

/// A named launch shape: `name` is what a command line passes, `gpus` says which boards
/// share it (same SM count and threads per SM give the same noise).
struct CudaGpuPreset {
    std::string_view name;
    std::string_view gpus;
    CudaLaunchShape shape;
};

/// Launch shapes of common GPUs (SM count as the board ships; threads per SM from the
/// compute capability: 2048 for 7.0, 8.0, 9.0; 1536 for 8.6, 8.9; 1024 for 7.5).
inline constexpr std::array<CudaGpuPreset, 14> cuda_gpu_presets{{
    {"a100", "NVIDIA A100 (SXM4 or PCIe, 40 or 80 GB)", {108, 2048}},
    {"a800", "NVIDIA A800 (same shape as the A100)", {108, 2048}},
    {"h100", "NVIDIA H100 SXM5 (same as h100-sxm)", {132, 2048}},
    {"h100-sxm", "NVIDIA H100 SXM5, H100 NVL", {132, 2048}},
    {"h100-pcie", "NVIDIA H100 PCIe", {114, 2048}},
    {"h800", "NVIDIA H800 SXM5", {132, 2048}},
    {"h200", "NVIDIA H200", {132, 2048}},
    {"v100", "Tesla V100 (SXM2 or PCIe)", {80, 2048}},
    {"rtx4090", "GeForce RTX 4090", {128, 1536}},
    {"rtx3090", "GeForce RTX 3090", {82, 1536}},
    {"l40s", "NVIDIA L40S", {142, 1536}},
    {"a10", "NVIDIA A10", {72, 1536}},
    {"l4", "NVIDIA L4", {58, 1536}},
    {"t4", "Tesla T4", {40, 1024}},
}};

/// The shape TorchCudaGenerator assumes when none is given: an A100. This is an
/// assumption about the GPU the reference run used (ByteDance's release names none).
inline constexpr CudaLaunchShape default_cuda_launch_shape = cuda_gpu_presets[0].shape;

/// "a100, a800, h100, ..." (for help texts and errors).
inline std::string cuda_gpu_preset_names() {
    std::string s;
    for (const auto& p : cuda_gpu_presets) {
        if (!s.empty()) s += ", ";
        s += p.name;
    }
    return s;
}

/// The preset called `name` (case-insensitive); an Error listing the presets otherwise.
inline CudaLaunchShape cuda_gpu_preset(std::string_view name) {
    const auto lower = [](char c) { return char(std::tolower(static_cast<unsigned char>(c))); };
    for (const auto& p : cuda_gpu_presets) {
        if (p.name.size() == name.size() &&
            std::equal(name.begin(), name.end(), p.name.begin(), [&](char a, char b) { return lower(a) == b; }))
            return p.shape;
    }
    fail("unknown GPU \"", name, "\" for the CUDA noise launch shape; known: ", cuda_gpu_preset_names(),
         " (another GPU: a CudaLaunchShape of its SM count and max threads per SM)");
}

/// "108 SMs x 2048 threads/SM".
inline std::string to_string(const CudaLaunchShape& s) {
    return concat(s.sm_count, " SMs x ", s.max_threads_per_sm, " threads/SM");
}

/// One launch of PyTorch's distribution_elementwise_grid_stride_kernel for a float32
/// normal_ of `numel` elements.
struct TorchCudaLaunch {
    static constexpr std::uint32_t block = 256;   // block_size_bound
    static constexpr std::uint32_t unroll = 4;    // float4 from curand_normal4
    std::uint64_t numel = 0;
    std::uint32_t grid = 0;                       // blocks
    std::uint64_t counter_offset = 0;             // what the generator's offset advances by

    /// Threads in the grid (T): subsequences 0 .. T-1.
    std::uint64_t threads() const { return std::uint64_t(block) * grid; }
    /// Elements per grid-stride iteration (4 T).
    std::uint64_t stride() const { return threads() * unroll; }
    /// curand_normal4 calls per thread (grid-stride iterations).
    std::uint64_t iterations() const { return counter_offset / 4; }
    /// Whether the device clamped the grid (only then does the result depend on the GPU).
    bool clamped() const { return numel != 0 && threads() < numel; }
};

/// Largest tensor PyTorch launches as one kernel: a float32 tensor of more elements
/// exceeds 2^31 bytes, fails TensorIterator::can_use_32bit_indexing, and is drawn in
/// pieces with offsets that this code does not reproduce.
inline constexpr std::uint64_t torch_cuda_max_numel = std::uint64_t(1) << 29;

/// PyTorch's calc_execution_policy(numel, unroll = 4) on a GPU of launch shape `gpu`.
/// numel = 0 launches nothing and advances nothing.
inline TorchCudaLaunch torch_cuda_launch(std::uint64_t numel, CudaLaunchShape gpu) {
    if (gpu.sm_count < 1 || gpu.max_threads_per_sm < int(TorchCudaLaunch::block))
        fail("CUDA launch shape ", to_string(gpu), ": needs at least 1 SM and ", TorchCudaLaunch::block,
             " threads per SM");
    if (numel > torch_cuda_max_numel)
        fail("torch.randn on CUDA with ", numel, " float32 elements: more than 2^29 elements are drawn in "
             "32-bit-indexable pieces, which is not reproduced");
    TorchCudaLaunch l;
    l.numel = numel;
    if (numel == 0) return l;
    const std::uint64_t blocks = (numel + TorchCudaLaunch::block - 1) / TorchCudaLaunch::block;
    const std::uint32_t blocks_per_sm = std::uint32_t(gpu.max_threads_per_sm) / TorchCudaLaunch::block;
    const std::uint32_t max_grid = std::uint32_t(gpu.sm_count) * blocks_per_sm;
    l.grid = std::uint32_t(std::min<std::uint64_t>(blocks, max_grid));
    const std::uint64_t per_call = 4;  // max_generator_offsets_per_curand_call (curand4_engine_calls)
    const std::uint64_t counter_offset = ((numel - 1) / (l.stride()) + 1) * per_call;
    l.counter_offset = (counter_offset + 3) / 4 * 4;  // philox_cuda_state's rounding (a no-op here)
    return l;
}

// ------------------------------------------------------------------------------------
// curand's Philox4_32_10 device generator, emulated
// ------------------------------------------------------------------------------------

/// curand's Philox state and device functions, operation for operation (CUDA 13.0's
/// curand_kernel.h, curand_philox4x32_x.h, curand_normal.h, curand_globals.h), with the
/// device math of _curand_box_muller.
namespace curand_emu {

using u32 = std::uint32_t;
using u64 = std::uint64_t;

/// curandStatePhilox4_32_10 (the Box-Muller cache fields are not used by curand4 or
/// curand_normal4, and are left out).
struct PhiloxState {
    std::array<u32, 4> ctr{};     // x, y, z, w
    std::array<u32, 4> output{};  // Philox4x32-10(ctr, key)
    std::array<u32, 2> key{};
    u32 state = 0;                // STATE: which word of output curand() returns next
};

/// Philox_State_Incr(s, n): adds n to the counter's low 64 bits, with curand's carry.
inline void incr(PhiloxState& s, u64 n) {
    const u32 nlo = u32(n);
    u32 nhi = u32(n >> 32);
    s.ctr[0] += nlo;
    if (s.ctr[0] < nlo) ++nhi;
    s.ctr[1] += nhi;
    if (nhi <= s.ctr[1]) return;
    if (++s.ctr[2]) return;
    ++s.ctr[3];
}

/// Philox_State_Incr_hi(s, n): adds n to the counter's high 64 bits (the subsequence).
inline void incr_hi(PhiloxState& s, u64 n) {
    const u32 nlo = u32(n);
    u32 nhi = u32(n >> 32);
    s.ctr[2] += nlo;
    if (s.ctr[2] < nlo) ++nhi;
    s.ctr[3] += nhi;
}

/// Philox_State_Incr(s): the counter plus one, as a 128-bit number.
inline void incr(PhiloxState& s) {
    if (++s.ctr[0]) return;
    if (++s.ctr[1]) return;
    if (++s.ctr[2]) return;
    ++s.ctr[3];
}

inline void refresh(PhiloxState& s) { s.output = philox4x32_10(s.ctr, s.key); }

/// skipahead(n, state): n 32-bit outputs ahead.
inline void skipahead(u64 n, PhiloxState& s) {
    s.state += u32(n & 3);
    n /= 4;
    if (s.state > 3) {
        n += 1;
        s.state -= 4;
    }
    incr(s, n);
    refresh(s);
}

/// skipahead_sequence(n, state): n subsequences (2^66 outputs each) ahead.
inline void skipahead_sequence(u64 n, PhiloxState& s) {
    incr_hi(s, n);
    refresh(s);
}

/// curand_init(seed, subsequence, offset, &state).
inline PhiloxState init(u64 seed, u64 subsequence, u64 offset) {
    PhiloxState s;
    s.key = {u32(seed), u32(seed >> 32)};
    skipahead_sequence(subsequence, s);
    skipahead(offset, s);
    return s;
}

/// curand(&state): one 32-bit output.
inline u32 next(PhiloxState& s) {
    const u32 ret = s.output[s.state & 3];
    if (++s.state == 4) {
        incr(s);
        refresh(s);
        s.state = 0;
    }
    return ret;
}

/// curand4(&state): four outputs (the next four of the stream, whatever the position).
inline std::array<u32, 4> next4(PhiloxState& s) {
    const std::array<u32, 4> tmp = s.output;
    incr(s);
    refresh(s);
    const auto& o = s.output;
    switch (s.state) {
        case 1: return {tmp[1], tmp[2], tmp[3], o[0]};
        case 2: return {tmp[2], tmp[3], o[0], o[1]};
        case 3: return {tmp[3], o[0], o[1], o[2]};
        default: return tmp;
    }
}

/// CURAND_2POW32_INV: 2.3283064e-10f, which is 2^-32 exactly.
inline constexpr float k2pow32_inv = 2.3283064e-10f;
/// CURAND_2POW32_INV_2PI: the float product 2.3283064e-10f * 6.2831855f.
inline constexpr float k2pow32_inv_2pi = 2.3283064e-10f * 6.2831855f;
/// The float that __sincosf multiplies by (FMUL.RZ) before MUFU.SIN / MUFU.COS: 1/(2 pi).
inline constexpr float kinv_2pi = std::bit_cast<float>(0x3E22F983u);

/// CUDA's logf (libdevice __nv_logf, non-ftz), operation for operation: bit-exact.
inline float cuda_logf(float a) {
    float e_bias = 0.0f;
    if (a < 0x1p-126f) {  // subnormal (and zero, negative): scale by 2^23
        a = a * 8388608.0f;
        e_bias = -23.0f;
    }
    const u32 i = std::bit_cast<u32>(a);
    const u32 e = (i - 0x3F2AAAABu) & 0xFF800000u;  // exponent so that m is in [2/3, 4/3)
    const float m = std::bit_cast<float>(i - e);
    const float fe = std::fma(float(std::int32_t(e)), 0x1p-23f, e_bias);
    const float f = m - 1.0f;
    float p = std::fma(std::bit_cast<float>(0xBE055027u), f, std::bit_cast<float>(0x3E1039F6u));
    p = std::fma(p, f, std::bit_cast<float>(0xBDF8CDCCu));
    p = std::fma(p, f, std::bit_cast<float>(0x3E0F2955u));
    p = std::fma(p, f, std::bit_cast<float>(0xBE2AD8B9u));
    p = std::fma(p, f, std::bit_cast<float>(0x3E4CED0Bu));
    p = std::fma(p, f, std::bit_cast<float>(0xBE7FFF22u));
    p = std::fma(p, f, std::bit_cast<float>(0x3EAAAA78u));
    p = std::fma(p, f, -0.5f);
    const float q = f * p;
    float r = std::fma(q, f, f);
    r = std::fma(fe, std::bit_cast<float>(0x3F317218u), r);  // + e ln 2
    if (i >= 0x7F800000u) r = std::fma(a, INFINITY, INFINITY);  // inf, NaN, negative
    if (a == 0.0f) r = -INFINITY;
    return r;
}

/// The argument __sincosf hands the hardware: v / (2 pi) in turns, rounded toward zero.
inline float sincos_turns(float v) {
    const double exact = double(v) * double(kinv_2pi);  // exact: 24 x 24 bits
    float t = float(exact);
    if (std::abs(double(t)) > std::abs(exact)) t = std::nextafter(t, 0.0f);
    return t;
}

/// Model of the device's __sincosf(v): the exact sine and cosine of the reduced argument
/// 2 pi t (t = sincos_turns(v)), rounded to float. The hardware's MUFU.SIN / MUFU.COS
/// approximate these within about 2^-21 absolute; that difference is the only part of
/// curand_normal4 not reproduced bit for bit.
inline void cuda_sincosf_fast(float v, float& s, float& c) {
    const double a = 6.283185307179586476925 * double(sincos_turns(v));
    s = float(std::sin(a));
    c = float(std::cos(a));
}

/// The two float uniforms _curand_box_muller makes of (x, y): u in (0, 1] and the angle v
/// in (0, 2 pi) (both fused multiply-adds on the device).
inline std::array<float, 2> box_muller_inputs(u32 x, u32 y) {
    const float u = std::fma(float(x), k2pow32_inv, k2pow32_inv / 2);
    const float v = std::fma(float(y), k2pow32_inv_2pi, k2pow32_inv_2pi / 2);
    return {u, v};
}

/// The radius sqrtf(-2 logf(u)), bit-exact with the device.
inline float box_muller_radius(float u) { return std::sqrt(-2.0f * cuda_logf(u)); }

/// _curand_box_muller(x, y) as the device computes it: {s sin v, s cos v}.
inline std::array<float, 2> box_muller(u32 x, u32 y) {
    const auto [u, v] = box_muller_inputs(x, y);
    const float s = box_muller_radius(u);
    float sn, cs;
    cuda_sincosf_fast(v, sn, cs);
    return {sn * s, cs * s};
}

/// curand_normal4(&state): Box-Muller of (x, y) and of (z, w) of one curand4.
inline std::array<float, 4> normal4(PhiloxState& s) {
    const auto w = next4(s);
    const auto a = box_muller(w[0], w[1]);
    const auto b = box_muller(w[2], w[3]);
    return {a[0], a[1], b[0], b[1]};
}

/// The Philox counter of curand4 call k after curand_init(seed, subsequence, offset)
/// with offset % 4 == 0: {offset / 4 (64 bits), subsequence (64 bits)} + k, 128 bits.
inline std::array<u32, 4> counter(u64 subsequence, u64 offset, u64 k) {
    const u64 lo = offset / 4 + k;
    const u64 hi = subsequence + (lo < k ? 1 : 0);
    return {u32(lo), u32(lo >> 32), u32(hi), u32(hi >> 32)};
}

}  // namespace curand_emu

// ------------------------------------------------------------------------------------
// The draw
// ------------------------------------------------------------------------------------

/// One `normal_(mean, std)` of PyTorch's CUDA kernel on the CPU: writes out[0 .. numel-1]
/// (numel = launch.numel) for generator (seed, offset); offset % 4 == 0 as PyTorch keeps
/// it. OpenMP-parallel over the kernel's threads; the result does not depend on the
/// thread count.
inline void torch_cuda_normal_fill(float* out, std::uint64_t seed, std::uint64_t offset, const TorchCudaLaunch& launch,
                                   float mean = 0.0f, float stddev = 1.0f) {
    if (offset % 4 != 0) fail("torch CUDA generator: Philox offset ", offset, " is not a multiple of 4");
    const std::uint64_t n = launch.numel;
    if (n == 0) return;
    const std::uint64_t T = launch.threads(), stride = launch.stride(), iters = launch.iterations();
    const std::array<std::uint32_t, 2> key{std::uint32_t(seed), std::uint32_t(seed >> 32)};
    const std::int64_t active = std::int64_t(std::min(T, n));  // threads that write anything
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n >= 16384)
#endif
    for (std::int64_t t = 0; t < active; ++t) {
        const std::uint64_t idx = std::uint64_t(t);
        for (std::uint64_t k = 0; k < iters; ++k) {
            const std::uint64_t base = k * stride + idx;
            if (base >= n) break;
            const auto w = philox4x32_10(curand_emu::counter(idx, offset, k), key);
            const auto a = curand_emu::box_muller(w[0], w[1]);
            out[base] = std::fma(a[0], stddev, mean);  // transformation::normal: rand * std + mean (an FFMA)
            if (base + T < n) out[base + T] = std::fma(a[1], stddev, mean);
            if (base + 2 * T < n) {
                const auto b = curand_emu::box_muller(w[2], w[3]);
                out[base + 2 * T] = std::fma(b[0], stddev, mean);
                if (base + 3 * T < n) out[base + 3 * T] = std::fma(b[1], stddev, mean);
            }
        }
    }
}

/// Element e of that draw, through the emulated curand state (curand_init, then
/// curand_normal4 k + 1 times): slow, for tests and spot checks.
inline float torch_cuda_normal_element(std::uint64_t seed, std::uint64_t offset, const TorchCudaLaunch& launch,
                                       std::uint64_t e, float mean = 0.0f, float stddev = 1.0f) {
    if (e >= launch.numel) fail("torch CUDA draw: element ", e, " of a draw of ", launch.numel);
    const std::uint64_t k = e / launch.stride(), r = e % launch.stride();
    const std::uint64_t ii = r / launch.threads(), idx = r % launch.threads();
    auto st = curand_emu::init(seed, idx, offset);
    std::array<float, 4> v{};
    for (std::uint64_t j = 0; j <= k; ++j) v = curand_emu::normal4(st);
    return std::fma(v[ii], stddev, mean);
}

/// What PyTorch's default CUDA generator holds between draws: the seed, the Philox offset
/// (philox_offset_per_thread) and, here, the GPU whose launch shape the draws follow. The
/// CPU generator below and the device one (backend/cuda/torch_cuda_rng.cuh) share it.
class TorchCudaGeneratorState {
public:
    /// PyTorch's default CUDA seed (c10::detail::default_rng_seed_val).
    static constexpr std::uint64_t default_seed = 67280421310721ull;

    explicit TorchCudaGeneratorState(std::uint64_t seed = default_seed, CudaLaunchShape gpu = default_cuda_launch_shape,
                                     std::uint64_t offset = 0)
        : seed_(seed) {
        set_launch_shape(gpu);
        set_offset(offset);
    }

    /// torch.cuda.manual_seed: the seed, offset 0.
    void manual_seed(std::uint64_t seed) {
        seed_ = seed;
        offset_ = 0;
    }
    std::uint64_t seed() const { return seed_; }
    /// The offset the next draw starts at.
    std::uint64_t offset() const { return offset_; }
    /// Sets the offset (a multiple of 4, as PyTorch requires).
    void set_offset(std::uint64_t off) {
        if (off % 4 != 0) fail("torch CUDA generator: offset ", off, " is not a multiple of 4");
        offset_ = off;
    }
    const CudaLaunchShape& launch_shape() const { return gpu_; }
    void set_launch_shape(CudaLaunchShape gpu) {
        torch_cuda_launch(1, gpu);  // validates the shape
        gpu_ = gpu;
    }
    /// The launch a draw of numel elements makes on this generator's GPU.
    TorchCudaLaunch launch(std::uint64_t numel) const { return torch_cuda_launch(numel, gpu_); }

protected:
    /// After a draw made with `l`: the next starts past its counters.
    void advance(const TorchCudaLaunch& l) { offset_ += l.counter_offset; }

private:
    std::uint64_t seed_;
    std::uint64_t offset_ = 0;
    CudaLaunchShape gpu_;
};

/// `torch.manual_seed(seed); torch.randn(shape, device='cuda')` (float32) on the CPU:
/// successive draws continue the stream as successive torch.randn calls on the default
/// CUDA generator do (each advances the Philox offset by the launch's counter_offset).
/// The result depends on the GPU for tensors larger than 256 * SMs * (threads per SM /
/// 256) elements: pass the reference GPU's launch shape (cuda_gpu_preset("h100"), ...).
/// Values agree with the GPU's to within the __sincosf approximation (see the top of
/// this file); the offsets exactly.
class TorchCudaGenerator : public NoiseFillers<TorchCudaGenerator>, public TorchCudaGeneratorState {
public:
    using TorchCudaGeneratorState::TorchCudaGeneratorState;

    /// One torch.randn call of n elements (a contiguous float32 tensor of any shape with
    /// n elements), written to out[0 .. n-1].
    void randn(float* out, std::size_t n) {
        const TorchCudaLaunch l = launch(n);
        torch_cuda_normal_fill(out, seed(), offset(), l);
        advance(l);
    }

    using NoiseFillers<TorchCudaGenerator>::fill;
    /// NoiseSource primitive: one torch.randn(shape, device='cuda') draw.
    void fill(float* out, std::span<const index_t> shape) { randn(out, detail::noise_numel(shape)); }
};

static_assert(NoiseSource<TorchCudaGenerator>);

}  // namespace cascadev::diffusion
