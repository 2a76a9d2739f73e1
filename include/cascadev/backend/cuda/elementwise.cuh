#pragma once
// Elementwise ops on the device: a generic unary / binary map over contiguous device
// views (grid-stride loop; 16-byte vector loads and stores when every pointer allows),
// computing in float whatever the storage type (f32, f16, bf16).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "cascadev/backend/cuda/storage.cuh"
#include "cascadev/backend/cuda/types.cuh"

namespace cascadev {

/// Device functors for map(): float in, float out.
namespace cuda_ops {

struct Add {
    __device__ __forceinline__ float operator()(float a, float b) const { return a + b; }
};
struct Mul {
    __device__ __forceinline__ float operator()(float a, float b) const { return a * b; }
};
struct Scale {
    float s;
    __device__ __forceinline__ float operator()(float x) const { return s * x; }
};
/// x * sigmoid(x).
struct Silu {
    __device__ __forceinline__ float operator()(float x) const { return x / (1.0f + expf(-x)); }
};
/// Exact GELU (PyTorch's approximate="none"): x/2 (1 + erf(x / sqrt 2)), evaluated as
/// x/2 erfc(-x / sqrt 2), which is the same function without the cancellation for x << 0.
struct GeluErf {
    __device__ __forceinline__ float operator()(float x) const {
        return 0.5f * x * erfcf(-0.70710678118654752f * x);
    }
};
/// Tanh GELU (PyTorch's approximate="tanh"): x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3),
/// evaluated as x sigmoid(2u) = x / (1 + exp(-2u)), the same function without the cancellation for u << 0.
struct GeluTanh {
    __device__ __forceinline__ float operator()(float x) const {
        const float two_u = 1.5957691216057308f * (x + 0.044715f * x * x * x);
        return x / (1.0f + expf(-two_u));
    }
};

}  // namespace cuda_ops

namespace cuda_detail {

/// V elements loaded or stored as one aligned access (V * sizeof(D) = 16 bytes).
template <class D, int V>
struct alignas(sizeof(D) * V) Pack {
    D v[V];
};

inline constexpr int kMapThreads = 256;

template <int V, class D, class Op>
__global__ void __launch_bounds__(kMapThreads)
    map_unary_kernel(const D* x, D* y, std::int64_t n, Op op) {
    const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
    const std::int64_t first = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    const std::int64_t packs = n / V;
    if constexpr (V > 1) {
        const auto* xp = reinterpret_cast<const Pack<D, V>*>(x);
        auto* yp = reinterpret_cast<Pack<D, V>*>(y);
        for (std::int64_t i = first; i < packs; i += stride) {
            const Pack<D, V> a = xp[i];
            Pack<D, V> r;
#pragma unroll
            for (int k = 0; k < V; ++k) r.v[k] = from_float<D>(op(to_float(a.v[k])));
            yp[i] = r;
        }
    }
    for (std::int64_t i = packs * V + first; i < n; i += stride) y[i] = from_float<D>(op(to_float(x[i])));
}

template <int V, class D, class Op>
__global__ void __launch_bounds__(kMapThreads)
    map_binary_kernel(const D* a, const D* b, D* y, std::int64_t n, Op op) {
    const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
    const std::int64_t first = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    const std::int64_t packs = n / V;
    if constexpr (V > 1) {
        const auto* ap = reinterpret_cast<const Pack<D, V>*>(a);
        const auto* bp = reinterpret_cast<const Pack<D, V>*>(b);
        auto* yp = reinterpret_cast<Pack<D, V>*>(y);
        for (std::int64_t i = first; i < packs; i += stride) {
            const Pack<D, V> pa = ap[i];
            const Pack<D, V> pb = bp[i];
            Pack<D, V> r;
#pragma unroll
            for (int k = 0; k < V; ++k) r.v[k] = from_float<D>(op(to_float(pa.v[k]), to_float(pb.v[k])));
            yp[i] = r;
        }
    }
    for (std::int64_t i = packs * V + first; i < n; i += stride)
        y[i] = from_float<D>(op(to_float(a[i]), to_float(b[i])));
}

inline bool aligned16(const void* p) { return (reinterpret_cast<std::uintptr_t>(p) & 15u) == 0; }

/// Enough blocks to fill the device a few times over; the loops stride over the rest.
inline unsigned map_blocks(std::int64_t work) {
    const std::int64_t wanted = (std::max<std::int64_t>(work, 1) + kMapThreads - 1) / kMapThreads;
    return unsigned(std::min<std::int64_t>(wanted, std::int64_t(sm_count()) * 8));
}

template <class XV, class YV>
void check_map_operands(const XV& x, const YV& y, const char* what) {
    check_same_shape(x, y, what);
    if (!x.is_contiguous() || !y.is_contiguous())
        fail(what, ": CUDA elementwise ops need contiguous views (shape ", x.extents().str(), ")");
}

template <class X, class Y>
concept SameStorage = std::is_same_v<std::remove_const_t<typename X::value_type>, typename Y::value_type>;

}  // namespace cuda_detail

/// y[i] = op(x[i]) over contiguous device views (or tensors) of one shape; `op` maps
/// float -> float on the device. x and y may be the same memory. Asynchronous on `stream`.
template <CudaOperand X, CudaOperand Y, class Op>
void map(const X& x, Y&& y, Op op, cudaStream_t stream = nullptr, const char* what = "map") {
    const auto xv = cuda_detail::as_view(x);
    const auto yv = cuda_detail::as_view(y);
    using XV = std::remove_const_t<decltype(xv)>;
    using YV = std::remove_const_t<decltype(yv)>;
    using T = typename YV::value_type;
    static_assert(!std::is_const_v<T>, "cascadev: the output of an elementwise op must be writable");
    static_assert(cuda_detail::SameStorage<XV, YV>, "cascadev: elementwise input and output types differ");
    static_assert(cuda_detail::FloatStorage<T>, "cascadev: CUDA elementwise ops take f32, f16 or bf16");
    cuda_detail::check_map_operands(xv, yv, what);
    const std::int64_t n = xv.size();
    if (n == 0) return;
    using D = cuda_detail::device_t<T>;
    const D* xp = cuda_detail::device_ptr(xv.data());
    D* yp = cuda_detail::device_ptr(yv.data());
    constexpr int V = 16 / sizeof(D);
    if (cuda_detail::aligned16(xp) && cuda_detail::aligned16(yp)) {
        cuda_detail::map_unary_kernel<V><<<cuda_detail::map_blocks(n / V), cuda_detail::kMapThreads, 0, stream>>>(
            xp, yp, n, op);
    } else {
        cuda_detail::map_unary_kernel<1><<<cuda_detail::map_blocks(n), cuda_detail::kMapThreads, 0, stream>>>(
            xp, yp, n, op);
    }
    CASCADEV_CUDA_CHECK_LAUNCH(what);
}

/// y[i] = op(a[i], b[i]) over contiguous device views (or tensors) of one shape.
template <CudaOperand A, CudaOperand B, CudaOperand Y, class Op>
void map(const A& a, const B& b, Y&& y, Op op, cudaStream_t stream = nullptr, const char* what = "map") {
    const auto av = cuda_detail::as_view(a);
    const auto bv = cuda_detail::as_view(b);
    const auto yv = cuda_detail::as_view(y);
    using AV = std::remove_const_t<decltype(av)>;
    using BV = std::remove_const_t<decltype(bv)>;
    using YV = std::remove_const_t<decltype(yv)>;
    using T = typename YV::value_type;
    static_assert(!std::is_const_v<T>, "cascadev: the output of an elementwise op must be writable");
    static_assert(cuda_detail::SameStorage<AV, YV> && cuda_detail::SameStorage<BV, YV>,
                  "cascadev: elementwise input and output types differ");
    static_assert(cuda_detail::FloatStorage<T>, "cascadev: CUDA elementwise ops take f32, f16 or bf16");
    cuda_detail::check_map_operands(av, yv, what);
    cuda_detail::check_map_operands(bv, yv, what);
    const std::int64_t n = yv.size();
    if (n == 0) return;
    using D = cuda_detail::device_t<T>;
    const D* ap = cuda_detail::device_ptr(av.data());
    const D* bp = cuda_detail::device_ptr(bv.data());
    D* yp = cuda_detail::device_ptr(yv.data());
    constexpr int V = 16 / sizeof(D);
    if (cuda_detail::aligned16(ap) && cuda_detail::aligned16(bp) && cuda_detail::aligned16(yp)) {
        cuda_detail::map_binary_kernel<V><<<cuda_detail::map_blocks(n / V), cuda_detail::kMapThreads, 0, stream>>>(
            ap, bp, yp, n, op);
    } else {
        cuda_detail::map_binary_kernel<1><<<cuda_detail::map_blocks(n), cuda_detail::kMapThreads, 0, stream>>>(
            ap, bp, yp, n, op);
    }
    CASCADEV_CUDA_CHECK_LAUNCH(what);
}

/// y = a + b
template <CudaOperand A, CudaOperand B, CudaOperand Y>
void add(const A& a, const B& b, Y&& y, cudaStream_t stream = nullptr) {
    map(a, b, y, cuda_ops::Add{}, stream, "add");
}
/// y = a * b
template <CudaOperand A, CudaOperand B, CudaOperand Y>
void mul(const A& a, const B& b, Y&& y, cudaStream_t stream = nullptr) {
    map(a, b, y, cuda_ops::Mul{}, stream, "mul");
}
/// y = s * x
template <CudaOperand X, CudaOperand Y>
void scale(const X& x, float s, Y&& y, cudaStream_t stream = nullptr) {
    map(x, y, cuda_ops::Scale{s}, stream, "scale");
}
/// y = x * sigmoid(x)
template <CudaOperand X, CudaOperand Y>
void silu(const X& x, Y&& y, cudaStream_t stream = nullptr) {
    map(x, y, cuda_ops::Silu{}, stream, "silu");
}
/// y = gelu(x), exact (erf) form
template <CudaOperand X, CudaOperand Y>
void gelu(const X& x, Y&& y, cudaStream_t stream = nullptr) {
    map(x, y, cuda_ops::GeluErf{}, stream, "gelu");
}
/// y = gelu(x), tanh approximation
template <CudaOperand X, CudaOperand Y>
void gelu_tanh(const X& x, Y&& y, cudaStream_t stream = nullptr) {
    map(x, y, cuda_ops::GeluTanh{}, stream, "gelu_tanh");
}

}  // namespace cascadev
