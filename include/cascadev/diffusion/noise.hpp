#pragma once
// Noise sources for the samplers (docs/reference/samplers.md, sections 1 and 8).
//
// The interface. A noise source hands out a stream of standard-normal float32 tensors,
// one tensor per *draw*, in a fixed order; a sampler never draws noise behind its
// caller's back. Every source implements one primitive,
//
//     void fill(float* out, std::span<const index_t> shape);
//
// which writes one draw of the given shape into a contiguous row-major buffer (the
// element order of a contiguous torch tensor of that shape). The concept `NoiseSource`
// checks that primitive. On top of it every source here also offers (NoiseFillers):
//
//     src.fill(view)      // any host View<float, E, cpu>, strided or not: one draw
//     src.fill(tensor)    // a host Tensor<float, E>: one draw
//     src.next(extents)   // a new Tensor<float, E> holding one draw
//     src.next(dims)      // the same from std::array<index_t, R>
//
// and the free functions fill_noise(src, view) and draw_noise(src, extents) do the same
// for any NoiseSource, so samplers take the source as a template parameter (no virtual
// call anywhere near a hot loop). One draw of shape S is exactly one
// `torch.randn(S)` call of the reference: a strided view is filled as if the tensor
// were contiguous (row-major logical order), never element group by element group.
//
// The sources:
//  - RecordedNoise: tensors noise_0, noise_1, ... from a safetensors file, in order
//    (the golden cases); each draw checks the requested shape.
//  - TorchCpuGenerator: bit-exact `torch.manual_seed(seed); torch.randn(shape)` on the
//    CPU (float32, PyTorch's AVX2 kernel), state carried across draws as torch does.
//  - PhiloxGenerator: counter-based (Philox4x32-10 + Box-Muller in double); element i
//    of the stream depends only on (seed, stream, i), so results do not depend on the
//    thread count or on how the stream is cut into draws. OpenMP-parallel.
//  - TorchCudaGenerator (torch_cuda_rng.hpp, built on philox4x32_10 below):
//    `torch.manual_seed(seed); torch.randn(shape, device='cuda')` reproduced on the CPU
//    for a named GPU launch shape (curand's Philox stream and PyTorch's launch and offset
//    arithmetic exact; values within the GPU's __sincosf approximation, docs/noise.md).
//  - AnyNoise: a type-erased wrapper around any of them, for the example programs.
//
// Numerics: the TorchCpuGenerator's float32 kernel relies on IEEE single-precision
// arithmetic with each std::fma rounded once; do not build it with -ffast-math.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cascadev/core/error.hpp"
#include "cascadev/core/extents.hpp"
#include "cascadev/core/tensor.hpp"
#include "cascadev/core/view.hpp"
#include "cascadev/io/safetensors.hpp"

namespace cascadev::diffusion {

/// A source of standard-normal draws: `fill(out, shape)` writes one draw of `shape`
/// into the contiguous row-major buffer `out` and advances the stream.
template <class S>
concept NoiseSource = requires(S& s, float* out, std::span<const index_t> shape) {
    { s.fill(out, shape) } -> std::same_as<void>;
};

namespace detail {

inline std::size_t noise_numel(std::span<const index_t> shape) {
    std::size_t n = 1;
    for (index_t d : shape) {
        if (d < 0) fail("noise: negative extent in shape ", shape_str(shape));
        n *= std::size_t(d);
    }
    return n;
}

/// Copies a contiguous row-major buffer into a (possibly strided) host view.
template <ExtentsType E>
void scatter_row_major(const float* src, const View<float, E, cpu>& dst) {
    constexpr std::size_t R = E::rank;
    const auto d = dst.dims();
    const index_t n = dst.size();
    if (n == 0) return;
    if constexpr (R == 0) {
        dst.data()[0] = src[0];
    } else {
        std::array<index_t, R> idx{};
        for (index_t k = 0; k < n; ++k) {
            index_t off = 0;
            for (std::size_t i = 0; i < R; ++i) off += idx[i] * dst.stride(i);
            dst.data()[off] = src[k];
            for (std::size_t i = R; i-- > 0;) {
                if (++idx[i] < d[i]) break;
                idx[i] = 0;
            }
        }
    }
}

}  // namespace detail

/// One draw into any host view (contiguous: in place; strided: via a buffer).
template <NoiseSource S, ExtentsType E>
void fill_noise(S& src, const View<float, E, cpu>& out) {
    const auto dims = out.dims();
    const std::span<const index_t> shape(dims.data(), dims.size());
    if (out.is_contiguous()) {
        src.fill(out.data(), shape);
        return;
    }
    std::vector<float> buf(detail::noise_numel(shape));
    src.fill(buf.data(), shape);
    detail::scatter_row_major(buf.data(), out);
}

/// One draw into a host tensor.
template <NoiseSource S, ExtentsType E>
void fill_noise(S& src, Tensor<float, E, cpu>& out) {
    fill_noise(src, out.view());
}

/// One draw as a new tensor.
template <NoiseSource S, ExtentsType E>
Tensor<float, E> draw_noise(S& src, const E& ext) {
    Tensor<float, E> t(ext);
    const auto dims = ext.dims();
    src.fill(t.data(), std::span<const index_t>(dims.data(), dims.size()));
    return t;
}

/// Mixin giving a source with the primitive fill(float*, span) the convenience members
/// fill(view), fill(tensor), next(extents) and next(dims). Derived classes write
/// `using NoiseFillers<Derived>::fill;` next to their primitive.
template <class Derived>
class NoiseFillers {
public:
    template <ExtentsType E>
    void fill(const View<float, E, cpu>& out) { fill_noise(self(), out); }
    template <ExtentsType E>
    void fill(Tensor<float, E, cpu>& out) { fill_noise(self(), out.view()); }
    template <ExtentsType E>
    Tensor<float, E> next(const E& ext) { return draw_noise(self(), ext); }
    template <std::size_t R>
    Tensor<float, DExtents<R>> next(const std::array<index_t, R>& dims) {
        return draw_noise(self(), DExtents<R>::from_dims(std::span<const index_t>(dims.data(), R)));
    }

private:
    Derived& self() { return static_cast<Derived&>(*this); }
};

// ------------------------------------------------------------------------------------
// PyTorch's CPU generator (samplers.md, section 8)
// ------------------------------------------------------------------------------------

namespace detail {

/// ln(x) for x in (0, 1] as PyTorch's AVX2 normal kernel evaluates it (Cephes-style,
/// single precision, fused multiply-adds exactly where the kernel has them).
inline float torch_avx2_log(float x) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
    float e = float(int((bits >> 23) & 0xFFu) - 126);  // x = m * 2^e, m in [0.5, 1)
    const float m = std::bit_cast<float>((bits & 0x007FFFFFu) | 0x3F000000u);
    float f;
    if (m < 0.707106781186547524f) {
        e = e - 1.0f;
        f = (m - 1.0f) + m;
    } else {
        f = m - 1.0f;
    }
    const float z = f * f;
    float y = 7.0376836292e-2f;
    y = std::fma(y, f, -1.1514610310e-1f);
    y = std::fma(y, f, 1.1676998740e-1f);
    y = std::fma(y, f, -1.2420140846e-1f);
    y = std::fma(y, f, 1.4249322787e-1f);
    y = std::fma(y, f, -1.6668057665e-1f);
    y = std::fma(y, f, 2.0000714765e-1f);
    y = std::fma(y, f, -2.4999993993e-1f);
    y = std::fma(y, f, 3.3333331174e-1f);
    y = y * f;
    const float eq1 = e * -2.12194440e-4f;
    y = std::fma(y, z, eq1);
    y = std::fma(-z, 0.5f, y);
    const float fy = f + y;
    return std::fma(e, 0.693359375f, fy);
}

/// sin and cos of x >= 0 as PyTorch's AVX2 normal kernel evaluates them.
inline void torch_avx2_sincos(float x, float& s_out, float& c_out) {
    const float yj = x * 1.27323954473516f;  // 4/pi
    std::int32_t j = std::int32_t(yj);       // truncation (cvttps)
    j = (j + 1) & ~std::int32_t(1);
    const float y = float(j);
    x = std::fma(y, -0.78515625f, x);
    x = std::fma(y, -2.4187564849853515625e-4f, x);
    x = std::fma(y, -3.77489497744594108e-8f, x);
    const float z = x * x;
    float c = std::fma(std::fma(2.443315711809948e-5f, z, -1.388731625493765e-3f), z, 4.166664568298827e-2f);
    c = c * z;
    const float hz = z * 0.5f;
    c = std::fma(c, z, -hz);
    c = c + 1.0f;
    float s = std::fma(std::fma(-1.9515295891e-4f, z, 8.3321608736e-3f), z, -1.6666654611e-1f);
    s = s * z;
    s = std::fma(s, x, x);
    float sn = s, cs = c;
    if ((j & 2) != 0) {
        sn = c;
        cs = s;
    }
    if ((j & 4) != 0) sn = -sn;
    if (((j - 2) & 4) == 0) cs = -cs;
    s_out = sn;
    c_out = cs;
}

/// Box-Muller on one block of 16 float uniforms, in place (normal_fill_16).
inline void torch_normal_fill_16(float* d) {
    for (int j = 0; j < 8; ++j) {
        const float u1 = 1.0f - d[j];
        const float u2 = d[j + 8];
        const float l = torch_avx2_log(u1);
        const float m2l = -2.0f * l;
        const float radius = std::sqrt(m2l);
        const float theta = 6.2831855f * u2;
        float s, c;
        torch_avx2_sincos(theta, s, c);
        d[j] = radius * c;
        d[j + 8] = radius * s;
    }
}

}  // namespace detail

/// `torch.manual_seed(seed); torch.randn(shape)` on the CPU, float32, bit for bit
/// (PyTorch's AVX2/AVX-512 path, the usual x86-64 build). Successive draws continue
/// the stream exactly as successive torch.randn calls on one generator do: the MT19937
/// state and the cached second normal of the small-tensor path carry over.
class TorchCpuGenerator : public NoiseFillers<TorchCpuGenerator> {
public:
    /// PyTorch's default CPU seed (what a fresh process uses without manual_seed).
    static constexpr std::uint64_t default_seed = 67280421310721ull;

    explicit TorchCpuGenerator(std::uint64_t seed = default_seed) { manual_seed(seed); }

    /// torch.manual_seed: only the low 32 bits reach the engine; clears the cached normal.
    void manual_seed(std::uint64_t seed) {
        seed_ = seed;
        engine_.seed(std::uint32_t(seed & 0xFFFFFFFFu));
        has_cached_ = false;
        cached_ = 0.0;
    }
    std::uint64_t initial_seed() const { return seed_; }

    /// One 32-bit output of the engine (torch's generator->random()).
    std::uint32_t random() { return std::uint32_t(engine_()); }
    /// Two outputs, the first as the high word (torch's generator->random64()).
    std::uint64_t random64() {
        const std::uint64_t hi = random();
        const std::uint64_t lo = random();
        return (hi << 32) | lo;
    }
    bool has_cached_normal() const { return has_cached_; }

    /// One torch.randn call of n elements (a contiguous float32 tensor of any shape
    /// with n elements), written to out[0 .. n-1].
    void randn(float* out, std::size_t n) {
        if (n >= 16) {
            normal_fill(out, n);
            return;
        }
        for (std::size_t i = 0; i < n; ++i) out[i] = float(normal_double());
    }

    using NoiseFillers<TorchCpuGenerator>::fill;
    /// NoiseSource primitive: one torch.randn(shape) draw into a contiguous buffer.
    void fill(float* out, std::span<const index_t> shape) { randn(out, detail::noise_numel(shape)); }

private:
    float uniform_float() { return float(random() & 0xFFFFFFu) * 0x1.0p-24f; }
    double uniform_double() { return double(random64() & ((std::uint64_t(1) << 53) - 1)) * 0x1.0p-53; }

    /// at::normal_distribution<double> with mean 0, std 1 (the cache lives here).
    double normal_double() {
        if (has_cached_) {
            has_cached_ = false;
            return cached_;
        }
        const double u1 = uniform_double();
        const double u2 = uniform_double();
        const double r = std::sqrt(-2.0 * std::log(1.0 - u2));
        const double theta = 2.0 * 3.14159265358979323846 * u1;
        cached_ = r * std::sin(theta);
        has_cached_ = true;
        return r * std::cos(theta);
    }

    /// normal_fill for n >= 16: uniforms for every element, Box-Muller per block of 16,
    /// and the last 16 recomputed from 16 fresh uniforms when n is not a multiple of 16.
    void normal_fill(float* out, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) out[i] = uniform_float();
        for (std::size_t i = 0; i + 16 <= n; i += 16) detail::torch_normal_fill_16(out + i);
        if (n % 16 != 0) {
            float* tail = out + (n - 16);
            for (std::size_t i = 0; i < 16; ++i) tail[i] = uniform_float();
            detail::torch_normal_fill_16(tail);
        }
    }

    std::mt19937 engine_;  // identical outputs to PyTorch's at::mt19937
    bool has_cached_ = false;  // torch's next_double_normal_sample
    double cached_ = 0.0;
    std::uint64_t seed_ = 0;
};

// ------------------------------------------------------------------------------------
// Counter-based generator
// ------------------------------------------------------------------------------------

/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11;
/// the Random123 reference): a bijection of a 128-bit counter under a 64-bit key.
inline std::array<std::uint32_t, 4> philox4x32_10(std::array<std::uint32_t, 4> ctr,
                                                  std::array<std::uint32_t, 2> key) {
    constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
    constexpr std::uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            key[0] += W0;
            key[1] += W1;
        }
        const std::uint64_t p0 = std::uint64_t(M0) * ctr[0];
        const std::uint64_t p1 = std::uint64_t(M1) * ctr[2];
        ctr = {std::uint32_t(p1 >> 32) ^ ctr[1] ^ key[0], std::uint32_t(p1), std::uint32_t(p0 >> 32) ^ ctr[3] ^ key[1],
               std::uint32_t(p0)};
    }
    return ctr;
}

/// Seeded, counter-based standard normals. Element g of the stream (g counts every
/// element drawn since construction, across draws) is computed from Philox block g / 2
/// (counter = {block lo, block hi, stream lo, stream hi}, key = {seed lo, seed hi}):
/// the four 32-bit outputs make two 53-bit uniforms u1, u2 in (0, 1), and Box-Muller in
/// double gives r cos(2 pi u2) for even g and r sin(2 pi u2) for odd g, r =
/// sqrt(-2 ln u1) (tails reach about 8.6 sigma), rounded to float32. Nothing depends on
/// the thread count, the partition, or how the stream is cut into draws.
class PhiloxGenerator : public NoiseFillers<PhiloxGenerator> {
public:
    explicit PhiloxGenerator(std::uint64_t seed, std::uint64_t stream = 0, std::uint64_t offset = 0)
        : seed_(seed), stream_(stream), offset_(offset) {}

    std::uint64_t seed() const { return seed_; }
    std::uint64_t stream() const { return stream_; }
    /// Elements drawn so far (the index of the next element of the stream).
    std::uint64_t offset() const { return offset_; }
    void set_offset(std::uint64_t off) { offset_ = off; }

    /// The pair of normals of Philox block b.
    static std::array<double, 2> normal_pair(std::uint64_t seed, std::uint64_t stream, std::uint64_t block) {
        const auto w = philox4x32_10(
            {std::uint32_t(block), std::uint32_t(block >> 32), std::uint32_t(stream), std::uint32_t(stream >> 32)},
            {std::uint32_t(seed), std::uint32_t(seed >> 32)});
        constexpr double k = 0x1.0p-53;
        const std::uint64_t a = ((std::uint64_t(w[0]) << 32) | w[1]) >> 11;
        const std::uint64_t b = ((std::uint64_t(w[2]) << 32) | w[3]) >> 11;
        const double u1 = (double(a) + 0.5) * k;  // (0, 1): never 0, so the log is finite
        const double u2 = (double(b) + 0.5) * k;
        const double r = std::sqrt(-2.0 * std::log(u1));
        const double theta = 6.283185307179586476925 * u2;
        return {r * std::cos(theta), r * std::sin(theta)};
    }
    /// Element g of the stream (for tests and for random access).
    static float normal_at(std::uint64_t seed, std::uint64_t stream, std::uint64_t g) {
        return float(normal_pair(seed, stream, g / 2)[g % 2]);
    }

    /// The next n elements of the stream into out[0 .. n-1]; parallel over elements.
    void randn(float* out, std::size_t n) {
        const std::uint64_t first = offset_;
        const std::uint64_t seed = seed_, stream = stream_;
        // Chunks of whole blocks so each pair is computed once; any split gives the same bits.
        constexpr std::int64_t chunk = 512;  // elements, even
        const std::int64_t nchunks = std::int64_t((n + chunk - 1) / chunk);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n >= 32768)
#endif
        for (std::int64_t c = 0; c < nchunks; ++c) {
            const std::size_t lo = std::size_t(c * chunk);
            const std::size_t hi = std::min(n, lo + std::size_t(chunk));
            std::uint64_t cur = ~std::uint64_t(0);
            std::array<double, 2> pair{};
            for (std::size_t i = lo; i < hi; ++i) {
                const std::uint64_t g = first + i;
                if (g / 2 != cur) {
                    cur = g / 2;
                    pair = normal_pair(seed, stream, cur);
                }
                out[i] = float(pair[g % 2]);
            }
        }
        offset_ += n;
    }

    using NoiseFillers<PhiloxGenerator>::fill;
    /// NoiseSource primitive: the next numel(shape) elements of the stream.
    void fill(float* out, std::span<const index_t> shape) { randn(out, detail::noise_numel(shape)); }

private:
    std::uint64_t seed_;
    std::uint64_t stream_;
    std::uint64_t offset_;
};

// ------------------------------------------------------------------------------------
// Recorded noise
// ------------------------------------------------------------------------------------

/// Hands out the tensors `<prefix>0`, `<prefix>1`, ... (default noise_0, noise_1, ...)
/// of a safetensors file in order, converting to float32. Each draw checks the requested
/// shape; a missing or mis-shaped tensor throws an Error naming the file and the key,
/// and leaves the position unchanged.
class RecordedNoise : public NoiseFillers<RecordedNoise> {
public:
    explicit RecordedNoise(const std::filesystem::path& file, std::string prefix = "noise_")
        : RecordedNoise(std::make_shared<const io::SafetensorsReader>(file), std::move(prefix)) {}
    explicit RecordedNoise(std::shared_ptr<const io::SafetensorsReader> reader, std::string prefix = "noise_")
        : reader_(std::move(reader)), prefix_(std::move(prefix)) {
        if (!reader_) fail("RecordedNoise: null safetensors reader");
    }

    /// Draws handed out so far (the index of the next key).
    std::size_t position() const { return pos_; }
    /// The key the next draw reads.
    std::string next_key() const { return key(pos_); }
    /// How many consecutive tensors prefix0, prefix1, ... the file holds.
    std::size_t count() const {
        std::size_t k = 0;
        while (reader_->contains(key(k))) ++k;
        return k;
    }
    std::size_t remaining() const { return count() > pos_ ? count() - pos_ : 0; }
    void rewind() { pos_ = 0; }
    const io::SafetensorsReader& reader() const { return *reader_; }

    using NoiseFillers<RecordedNoise>::fill;
    /// NoiseSource primitive: the next recorded tensor, which must have this shape.
    void fill(float* out, std::span<const index_t> shape) {
        const std::string k = key(pos_);
        const std::string file = reader_->path().string();
        if (!reader_->contains(k)) {
            const std::size_t have = count();
            fail(file, ": recorded noise \"", k, "\" is missing: draw #", pos_, " of shape ", shape_str(shape),
                 " was requested but the file holds ", have, " noise tensor", have == 1 ? "" : "s",
                 have ? concat(" (", key(0), " ... ", key(have - 1), ")") : std::string());
        }
        const io::TensorInfo& t = reader_->info(k);
        if (t.shape.size() != shape.size() || !std::equal(shape.begin(), shape.end(), t.shape.begin()))
            fail(file, ": recorded noise \"", k, "\" has shape ", shape_str(t.shape), ", but draw #", pos_,
                 " requested shape ", shape_str(shape));
        if (!io::convertible_to<float>(t.dtype))
            fail(file, ": recorded noise \"", k, "\" has dtype ", dtype_name(t.dtype), ", not a float type");
        io::convert_elements(reader_->bytes(k).data(), t.dtype, std::size_t(t.numel()), out);
        ++pos_;
    }

private:
    std::string key(std::size_t i) const { return prefix_ + std::to_string(i); }

    std::shared_ptr<const io::SafetensorsReader> reader_;
    std::string prefix_;
    std::size_t pos_ = 0;
};

// ------------------------------------------------------------------------------------
// Type erasure
// ------------------------------------------------------------------------------------

/// Any NoiseSource behind one (virtual) call per draw: for example programs that pick
/// the source at run time. Holds the source by value; target<S>() reaches it.
class AnyNoise : public NoiseFillers<AnyNoise> {
public:
    template <NoiseSource S>
        requires(!std::is_same_v<std::remove_cvref_t<S>, AnyNoise>)
    AnyNoise(S source)  // NOLINT: implicit on purpose (AnyNoise n = TorchCpuGenerator(1);)
        : impl_(std::make_unique<Model<S>>(std::move(source))) {}

    using NoiseFillers<AnyNoise>::fill;
    void fill(float* out, std::span<const index_t> shape) { impl_->fill(out, shape); }

    template <class S>
    S* target() {
        auto* m = dynamic_cast<Model<S>*>(impl_.get());
        return m ? &m->source : nullptr;
    }

private:
    struct Concept {
        virtual ~Concept() = default;
        virtual void fill(float* out, std::span<const index_t> shape) = 0;
    };
    template <class S>
    struct Model final : Concept {
        explicit Model(S s) : source(std::move(s)) {}
        void fill(float* out, std::span<const index_t> shape) override { source.fill(out, shape); }
        S source;
    };
    std::unique_ptr<Concept> impl_;
};

static_assert(NoiseSource<TorchCpuGenerator>);
static_assert(NoiseSource<PhiloxGenerator>);
static_assert(NoiseSource<RecordedNoise>);
static_assert(NoiseSource<AnyNoise>);

}  // namespace cascadev::diffusion
