#pragma once
// Reductions on the device through CUB (cub::DeviceReduce::Sum over a float-converting
// iterator): sum and sum of squares of a contiguous device view, accumulated in float,
// returned to the host. Temporary storage comes from thrust.
#include <cub/device/device_reduce.cuh>
#include <cuda_runtime_api.h>
#include <thrust/device_free.h>
#include <thrust/device_malloc.h>
#include <thrust/iterator/transform_iterator.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <type_traits>

#include "cascadev/backend/cuda/storage.cuh"
#include "cascadev/backend/cuda/types.cuh"

namespace cascadev {
namespace cuda_detail {

struct Square {
    template <class D>
    __host__ __device__ __forceinline__ float operator()(D x) const {
        const float f = to_float(x);
        return f * f;
    }
};

/// Uninitialised device bytes from thrust, freed on scope exit.
class TempBytes {
public:
    explicit TempBytes(std::size_t n) {
        try {
            p_ = thrust::device_malloc<unsigned char>(n);
        } catch (const std::exception& e) {
            fail("allocating ", n, " bytes of CUDA temporary storage failed: ", e.what());
        }
    }
    ~TempBytes() {
        try { thrust::device_free(p_); } catch (...) {}  // never throw from a destructor
    }
    TempBytes(const TempBytes&) = delete;
    TempBytes& operator=(const TempBytes&) = delete;
    unsigned char* get() const { return thrust::raw_pointer_cast(p_); }

private:
    thrust::device_ptr<unsigned char> p_;
};

/// Sum over i of f(x[i]) in float with cub::DeviceReduce::Sum; waits for the result.
template <class D, class F>
float device_sum(const D* x, std::int64_t n, F f, cudaStream_t stream) {
    if (n == 0) return 0.0f;
    const auto in = thrust::make_transform_iterator(x, f);
    std::size_t temp_bytes = 0;
    CASCADEV_CUDA_CHECK(cub::DeviceReduce::Sum(nullptr, temp_bytes, in, static_cast<float*>(nullptr), n, stream));
    const std::size_t out_offset = (temp_bytes + 255) / 256 * 256;  // the result after the scratch, aligned
    TempBytes temp(out_offset + sizeof(float));
    float* d_out = reinterpret_cast<float*>(temp.get() + out_offset);
    CASCADEV_CUDA_CHECK(cub::DeviceReduce::Sum(temp.get(), temp_bytes, in, d_out, n, stream));
    float result = 0.0f;
    CASCADEV_CUDA_CHECK(cudaMemcpyAsync(&result, d_out, sizeof(float), cudaMemcpyDeviceToHost, stream));
    CASCADEV_CUDA_CHECK(cudaStreamSynchronize(stream));
    return result;
}

template <class XV>
auto reduce_input(const XV& x, const char* what) {
    static_assert(FloatStorage<typename XV::value_type>, "cascadev: CUDA reductions take f32, f16 or bf16");
    if (!x.is_contiguous()) fail(what, ": CUDA reductions need a contiguous view (shape ", x.extents().str(), ")");
    return device_ptr(x.data());
}

}  // namespace cuda_detail

/// Sum of all elements of a contiguous device view (or tensor), accumulated in float.
/// Synchronises `stream`.
template <CudaOperand X>
float sum(const X& x, cudaStream_t stream = nullptr) {
    const auto xv = cuda_detail::as_view(x);
    return cuda_detail::device_sum(cuda_detail::reduce_input(xv, "sum"), xv.size(), cuda_detail::ToFloat{}, stream);
}

/// Sum of the squares of all elements of a contiguous device view (or tensor), in float.
/// Synchronises `stream`.
template <CudaOperand X>
float sum_squares(const X& x, cudaStream_t stream = nullptr) {
    const auto xv = cuda_detail::as_view(x);
    return cuda_detail::device_sum(cuda_detail::reduce_input(xv, "sum_squares"), xv.size(), cuda_detail::Square{},
                                   stream);
}

}  // namespace cascadev
