#pragma once
// PyTorch's CUDA `torch.randn` (float32) on the device, the way PyTorch draws it: the same
// kernel shape as ATen's distribution_elementwise_grid_stride_kernel with curand's own
// curand_init + curand_normal4, the same launch (256 threads per block, the grid clamped
// to SMs x blocks per SM) and the same Philox offset advance. On the GPU it runs on,
// the result is PyTorch's bit for bit, provided PyTorch was built with a CUDA whose
// logf and curand headers compute as this toolkit's do (see docs/noise.md).
//
// The CPU twin is diffusion::TorchCudaGenerator (cascadev/diffusion/torch_cuda_rng.hpp),
// which agrees with this to within the __sincosf hardware approximation.
// Only CUDA translation units (nvcc) include this.
#include <cuda_runtime_api.h>
#include <curand_kernel.h>

#include <cstddef>
#include <cstdint>

#include "cascadev/backend/cuda/storage.cuh"
#include "cascadev/core/view.hpp"
#include "cascadev/diffusion/torch_cuda_rng.hpp"

namespace cascadev {
namespace cuda_detail {

/// ATen's grid-stride loop for normal_ on float32 (unroll 4, curand_normal4), writing a
/// contiguous buffer; `value * stddev + mean` as PyTorch's transformation::normal.
/// (A template only so that the header may be included by several translation units.)
template <int Unroll = 4>
__global__ void __launch_bounds__(256, 4)
    torch_randn_kernel(std::int64_t numel, unsigned long long seed, unsigned long long offset, float mean,
                       float stddev, float* out) {
    static_assert(Unroll == 4, "curand_normal4 gives four values");
    const std::int64_t idx = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    curandStatePhilox4_32_10_t state;
    curand_init(seed, idx, offset, &state);
    const std::int64_t threads = std::int64_t(blockDim.x) * gridDim.x;
    const std::int64_t rounded = ((numel - 1) / (threads * Unroll) + 1) * threads * Unroll;
    for (std::int64_t linear = idx; linear < rounded; linear += threads * Unroll) {
        const float4 r = curand_normal4(&state);
        const float v[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
        for (int ii = 0; ii < Unroll; ++ii) {
            const std::int64_t li = linear + threads * ii;
            if (li < numel) out[li] = fmaf(v[ii], stddev, mean);
        }
        __syncthreads();
    }
}

}  // namespace cuda_detail

/// The launch shape PyTorch would use on `device` (-1: the current device): its
/// multiProcessorCount and maxThreadsPerMultiProcessor.
inline diffusion::CudaLaunchShape cuda_device_launch_shape(int device = -1) {
    if (device < 0) CASCADEV_CUDA_CHECK(cudaGetDevice(&device));
    diffusion::CudaLaunchShape s;
    CASCADEV_CUDA_CHECK(cudaDeviceGetAttribute(&s.sm_count, cudaDevAttrMultiProcessorCount, device));
    CASCADEV_CUDA_CHECK(cudaDeviceGetAttribute(&s.max_threads_per_sm, cudaDevAttrMaxThreadsPerMultiProcessor, device));
    return s;
}

/// One `normal_(mean, std)` draw of numel float32 elements into device memory `d_out`,
/// for generator (seed, offset), launched as PyTorch launches it on a GPU of shape `gpu`
/// (normally cuda_device_launch_shape(); another shape reproduces that GPU's grid).
/// Returns the launch; the caller's offset advances by its counter_offset. Asynchronous
/// on `stream`.
inline diffusion::TorchCudaLaunch torch_cuda_randn(float* d_out, std::uint64_t numel, std::uint64_t seed,
                                                   std::uint64_t offset, diffusion::CudaLaunchShape gpu,
                                                   cudaStream_t stream = nullptr, float mean = 0.0f,
                                                   float stddev = 1.0f) {
    if (offset % 4 != 0) fail("torch_cuda_randn: Philox offset ", offset, " is not a multiple of 4");
    const diffusion::TorchCudaLaunch l = diffusion::torch_cuda_launch(numel, gpu);
    if (numel == 0) return l;
    cuda_detail::torch_randn_kernel<4><<<l.grid, diffusion::TorchCudaLaunch::block, 0, stream>>>(
        std::int64_t(numel), seed, offset, mean, stddev, d_out);
    CASCADEV_CUDA_CHECK_LAUNCH("torch_randn_kernel");
    return l;
}

/// The device counterpart of diffusion::TorchCudaGenerator: `torch.manual_seed(seed)`,
/// then each draw is one `torch.randn(shape, device='cuda')` into device memory. The
/// launch shape defaults to the current device's (what PyTorch would use here).
class TorchCudaDeviceGenerator : public diffusion::TorchCudaGeneratorState {
public:
    explicit TorchCudaDeviceGenerator(std::uint64_t seed = default_seed)
        : TorchCudaGeneratorState(seed, cuda_device_launch_shape()) {}
    TorchCudaDeviceGenerator(std::uint64_t seed, diffusion::CudaLaunchShape gpu, std::uint64_t offset = 0)
        : TorchCudaGeneratorState(seed, gpu, offset) {}

    /// One draw of n elements into device memory d_out (asynchronous on `stream`).
    void randn(float* d_out, std::size_t n, cudaStream_t stream = nullptr) {
        advance(torch_cuda_randn(d_out, n, seed(), offset(), launch_shape(), stream));
    }
    /// One draw into a contiguous device view or tensor.
    template <ExtentsType E>
    void fill(const View<float, E, cuda>& out, cudaStream_t stream = nullptr) {
        if (!out.is_contiguous()) fail("TorchCudaDeviceGenerator: the output view ", out.extents().str(), " is not contiguous");
        randn(out.data(), std::size_t(out.size()), stream);
    }
    template <ExtentsType E>
    void fill(Tensor<float, E, cuda>& out, cudaStream_t stream = nullptr) {
        fill(out.view(), stream);
    }

};

}  // namespace cascadev
