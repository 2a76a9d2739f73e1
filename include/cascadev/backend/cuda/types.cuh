#pragma once
// Element types on the device: cascadev's host storage types map to CUDA's own
// (float16 -> __half, bfloat16 -> __nv_bfloat16; same 16-bit layout), and kernels
// compute in float whatever the storage type. Only CUDA translation units include this.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstddef>  // before dtype.hpp, which uses std::byte without including it
#include <type_traits>

#include "cascadev/core/dtype.hpp"

namespace cascadev::cuda_detail {

/// The CUDA type a kernel sees for cascadev storage type T (T itself when not a 16-bit float).
template <class T> struct device_type { using type = T; };
template <> struct device_type<float16> { using type = __half; };
template <> struct device_type<bfloat16> { using type = __nv_bfloat16; };
template <class T> struct device_type<const T> { using type = const typename device_type<T>::type; };
template <class T> using device_t = typename device_type<T>::type;

static_assert(sizeof(__half) == sizeof(float16) && alignof(__half) == alignof(float16),
              "cascadev: float16 and __half must share a layout");
static_assert(sizeof(__nv_bfloat16) == sizeof(bfloat16) && alignof(__nv_bfloat16) == alignof(bfloat16),
              "cascadev: bfloat16 and __nv_bfloat16 must share a layout");

/// Host pointer to cascadev storage -> pointer to the matching device type (same bits).
template <class T>
device_t<T>* device_ptr(T* p) { return reinterpret_cast<device_t<T>*>(p); }

/// Storage types the float kernels accept.
template <class T>
concept FloatStorage = std::is_same_v<std::remove_const_t<T>, float> ||
                       std::is_same_v<std::remove_const_t<T>, float16> ||
                       std::is_same_v<std::remove_const_t<T>, bfloat16>;

__host__ __device__ __forceinline__ float to_float(float x) { return x; }
__host__ __device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
__host__ __device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

/// float -> storage type, rounding to nearest even (as cascadev's host conversions do).
template <class D> __host__ __device__ __forceinline__ D from_float(float x);
template <> __host__ __device__ __forceinline__ float from_float<float>(float x) { return x; }
template <> __host__ __device__ __forceinline__ __half from_float<__half>(float x) { return __float2half_rn(x); }
template <> __host__ __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
    return __float2bfloat16_rn(x);
}

/// Converts a device element to float (a functor, for iterators and CUB).
struct ToFloat {
    template <class D>
    __host__ __device__ __forceinline__ float operator()(D x) const { return to_float(x); }
};

}  // namespace cascadev::cuda_detail
