#pragma once
// Row softmax on the device: y[r, :] = softmax(x[r, :]) over the last dim of a
// [rows, cols] view. Each thread keeps an online (max, sum of exp) pair over its
// elements; the pairs are combined by cub::WarpReduce (one warp per row, short rows)
// or cub::BlockReduce (one block per row, long rows). fp32 accumulation; f32, f16 or
// bf16 storage. Rows may be strided (e.g. a column slice); the last dim must be contiguous.
#include <cub/block/block_reduce.cuh>
#include <cub/warp/warp_reduce.cuh>
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "cascadev/backend/cuda/storage.cuh"
#include "cascadev/backend/cuda/types.cuh"

namespace cascadev {
namespace cuda_detail {

/// Running max and sum of exp(x - max) of part of a row.
struct MaxSum {
    float m;
    float s;
};

__device__ __forceinline__ MaxSum max_sum_init() { return {-INFINITY, 0.0f}; }

__device__ __forceinline__ void max_sum_push(MaxSum& a, float v) {
    if (v > a.m) {
        a.s = a.s * expf(a.m - v) + 1.0f;  // first finite v: 0 * exp(-inf) + 1
        a.m = v;
    } else if (a.m != -INFINITY) {
        a.s += expf(v - a.m);  // NaN inputs fall through here and poison the sum, as they should
    }
}

struct MaxSumCombine {
    __device__ __forceinline__ MaxSum operator()(const MaxSum& a, const MaxSum& b) const {
        const float m = fmaxf(a.m, b.m);
        if (m == -INFINITY) return {m, 0.0f};
        return {m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
    }
};

inline constexpr int kSoftmaxThreads = 256;        // both kernels
inline constexpr std::int64_t kWarpRowMax = 1024;  // rows up to this long get one warp each

/// One warp per row; kSoftmaxThreads / 32 rows per block.
template <class D>
__global__ void __launch_bounds__(kSoftmaxThreads)
    softmax_warp_kernel(const D* x, std::int64_t x_row_stride, D* y, std::int64_t y_row_stride, std::int64_t rows,
                        std::int64_t cols) {
    constexpr int kWarps = kSoftmaxThreads / 32;
    using WarpReduce = cub::WarpReduce<MaxSum>;
    __shared__ typename WarpReduce::TempStorage temp[kWarps];
    const int warp = threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    const std::int64_t row = std::int64_t(blockIdx.x) * kWarps + warp;
    if (row >= rows) return;  // the whole warp leaves together
    const D* xr = x + row * x_row_stride;
    D* yr = y + row * y_row_stride;

    MaxSum acc = max_sum_init();
    for (std::int64_t c = lane; c < cols; c += 32) max_sum_push(acc, to_float(xr[c]));
    acc = WarpReduce(temp[warp]).Reduce(acc, MaxSumCombine{});
    const float m = __shfl_sync(0xffffffffu, acc.m, 0);  // the aggregate is valid in lane 0 only
    const float inv = 1.0f / __shfl_sync(0xffffffffu, acc.s, 0);
    for (std::int64_t c = lane; c < cols; c += 32) yr[c] = from_float<D>(expf(to_float(xr[c]) - m) * inv);
}

/// One block per row.
template <class D>
__global__ void __launch_bounds__(kSoftmaxThreads)
    softmax_block_kernel(const D* x, std::int64_t x_row_stride, D* y, std::int64_t y_row_stride, std::int64_t cols) {
    using BlockReduce = cub::BlockReduce<MaxSum, kSoftmaxThreads>;
    __shared__ typename BlockReduce::TempStorage temp;
    __shared__ MaxSum total;
    const std::int64_t row = blockIdx.x;
    const D* xr = x + row * x_row_stride;
    D* yr = y + row * y_row_stride;

    MaxSum acc = max_sum_init();
    for (std::int64_t c = threadIdx.x; c < cols; c += kSoftmaxThreads) max_sum_push(acc, to_float(xr[c]));
    acc = BlockReduce(temp).Reduce(acc, MaxSumCombine{});
    if (threadIdx.x == 0) total = acc;  // the aggregate is valid in thread 0 only
    __syncthreads();
    const float m = total.m;
    const float inv = 1.0f / total.s;
    for (std::int64_t c = threadIdx.x; c < cols; c += kSoftmaxThreads)
        yr[c] = from_float<D>(expf(to_float(xr[c]) - m) * inv);
}

}  // namespace cuda_detail

/// y = softmax(x) along the last dim of rank-2 device views (or tensors) [rows, cols] of
/// one shape. The last dim must be contiguous; rows may be strided; y may alias x.
/// Asynchronous on `stream`.
template <CudaOperand X, CudaOperand Y>
void softmax(const X& x, Y&& y, cudaStream_t stream = nullptr) {
    const auto xv = cuda_detail::as_view(x);
    const auto yv = cuda_detail::as_view(y);
    using XV = std::remove_const_t<decltype(xv)>;
    using YV = std::remove_const_t<decltype(yv)>;
    using T = typename YV::value_type;
    static_assert(XV::rank == 2 && YV::rank == 2, "cascadev: CUDA softmax takes [rows, cols] views (reshape first)");
    static_assert(!std::is_const_v<T>, "cascadev: the output of softmax must be writable");
    static_assert(std::is_same_v<std::remove_const_t<typename XV::value_type>, T>,
                  "cascadev: softmax input and output types differ");
    static_assert(cuda_detail::FloatStorage<T>, "cascadev: CUDA softmax takes f32, f16 or bf16");
    check_same_shape(xv, yv, "softmax");
    const std::int64_t rows = xv.extent(0), cols = xv.extent(1);
    if (rows == 0 || cols == 0) return;
    if (cols > 1 && (xv.stride(1) != 1 || yv.stride(1) != 1))
        fail("softmax: the last dim must be contiguous (shape ", xv.extents().str(), ", strides [", xv.stride(0),
             ", ", xv.stride(1), "] and [", yv.stride(0), ", ", yv.stride(1), "])");
    if (rows > std::int64_t(0x7fffffff)) fail("softmax: too many rows (", rows, ")");
    using D = cuda_detail::device_t<T>;
    const D* xp = cuda_detail::device_ptr(xv.data());
    D* yp = cuda_detail::device_ptr(yv.data());
    if (cols <= cuda_detail::kWarpRowMax) {
        constexpr int warps = cuda_detail::kSoftmaxThreads / 32;
        const auto blocks = unsigned((rows + warps - 1) / warps);
        cuda_detail::softmax_warp_kernel<<<blocks, cuda_detail::kSoftmaxThreads, 0, stream>>>(
            xp, xv.stride(0), yp, yv.stride(0), rows, cols);
        CASCADEV_CUDA_CHECK_LAUNCH("softmax_warp_kernel");
    } else {
        cuda_detail::softmax_block_kernel<<<unsigned(rows), cuda_detail::kSoftmaxThreads, 0, stream>>>(
            xp, xv.stride(0), yp, yv.stride(0), cols);
        CASCADEV_CUDA_CHECK_LAUNCH("softmax_block_kernel");
    }
}

}  // namespace cascadev
