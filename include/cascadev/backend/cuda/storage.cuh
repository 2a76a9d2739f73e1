#pragma once
// Device storage for Tensor<T, E, cuda>: memory owned by a thrust::device_vector,
// zero-filled; host <-> device copies; CUDA error checking that throws cascadev::Error.
// Only CUDA translation units (nvcc) include this; the core headers never do.
#include <cuda_runtime_api.h>
#include <thrust/device_vector.h>

#include <cstddef>
#include <exception>
#include <type_traits>
#include <utility>

#include "cascadev/backend/cuda/types.cuh"
#include "cascadev/core/device.hpp"
#include "cascadev/core/error.hpp"
#include "cascadev/core/tensor.hpp"
#include "cascadev/core/view.hpp"

namespace cascadev {
namespace cuda_detail {

/// Throws cascadev::Error naming the call, where it was made and CUDA's error name and text.
inline void check(cudaError_t err, const char* call, const char* file, int line) {
    if (err == cudaSuccess) return;
    (void)cudaGetLastError();  // clear a non-sticky error so a later launch check does not report it again
    fail("CUDA error in ", call, " at ", file, ":", line, ": ", cudaGetErrorName(err), " (",
         cudaGetErrorString(err), ")");
}

/// After a kernel launch: reports a bad launch configuration or an earlier asynchronous error.
inline void check_launch(const char* kernel, const char* file, int line) {
    check(cudaGetLastError(), kernel, file, line);
}

}  // namespace cuda_detail

/// CASCADEV_CUDA_CHECK(cudaMemcpy(...)): throws cascadev::Error when the call fails.
#define CASCADEV_CUDA_CHECK(call) ::cascadev::cuda_detail::check((call), #call, __FILE__, __LINE__)
/// After `kernel<<<...>>>(...)`: CASCADEV_CUDA_CHECK_LAUNCH("kernel").
#define CASCADEV_CUDA_CHECK_LAUNCH(name) ::cascadev::cuda_detail::check_launch(name, __FILE__, __LINE__)

/// Device storage: `n` zero-filled elements owned by a thrust::device_vector of the
/// matching CUDA type (float16 -> __half, bfloat16 -> __nv_bfloat16; same bits).
template <class T>
class Storage<T, cuda> {
    static_assert(std::is_trivially_copyable_v<T>, "cascadev: device storage needs a trivially copyable type");
    using D = cuda_detail::device_t<T>;

public:
    Storage() = default;
    explicit Storage(std::size_t n) {
        if (n == 0) return;
        try {
            vec_ = thrust::device_vector<D>(n, D{});
        } catch (const std::exception& e) {
            fail("out of device memory? allocating ", n, " elements (", n * sizeof(T),
                 " bytes) on the CUDA device failed: ", e.what());
        }
    }
    Storage(Storage&&) noexcept = default;
    Storage& operator=(Storage&&) noexcept = default;
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    /// Device pointer (not dereferenceable on the host).
    T* data() const {
        if (vec_.empty()) return nullptr;
        return reinterpret_cast<T*>(thrust::raw_pointer_cast(vec_.data()));
    }
    std::size_t size() const { return vec_.size(); }

private:
    mutable thrust::device_vector<D> vec_;  // data() const hands out a mutable pointer, as on the host
};

template <class T, ExtentsType E>
using CudaTensor = Tensor<T, E, cuda>;

template <class T, ExtentsType E>
using CudaView = View<T, E, cuda>;

/// Copies a contiguous view to another of the same shape; one side (or both) on the
/// device. With a stream the copy is asynchronous (the host side should be pinned to
/// overlap); without one it completes before returning.
template <class S, ExtentsType E, class SD, class T, ExtentsType F, class TD>
    requires(std::is_same_v<std::remove_const_t<S>, T> && !std::is_const_v<T> &&
             (std::is_same_v<SD, cuda> || std::is_same_v<TD, cuda>))
void copy(const View<S, E, SD>& src, const View<T, F, TD>& dst, cudaStream_t stream = nullptr) {
    check_same_shape(src, dst, "copy");
    if (!src.is_contiguous() || !dst.is_contiguous())
        fail("copy: host <-> device copies need contiguous views (got ", src.extents().str(), ")");
    if (src.size() == 0) return;
    const std::size_t bytes = std::size_t(src.size()) * sizeof(T);
    const cudaMemcpyKind kind = std::is_same_v<SD, cpu>   ? cudaMemcpyHostToDevice
                                : std::is_same_v<TD, cpu> ? cudaMemcpyDeviceToHost
                                                          : cudaMemcpyDeviceToDevice;
    CASCADEV_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), bytes, kind, stream));
    if (!stream) CASCADEV_CUDA_CHECK(cudaStreamSynchronize(stream));
}

/// A device copy of a host tensor.
template <class T, ExtentsType E>
Tensor<T, E, cuda> to_device(const Tensor<T, E, cpu>& host) {
    Tensor<T, E, cuda> dev(host.extents());
    copy(host.view(), dev.view());
    return dev;
}

/// A host copy of a device tensor (waits for work queued on the default stream).
template <class T, ExtentsType E>
Tensor<T, E, cpu> to_host(const Tensor<T, E, cuda>& dev) {
    Tensor<T, E, cpu> host(dev.extents());
    copy(dev.view(), host.view());
    return host;
}

/// A device copy of a device tensor (Tensor's copy constructor is deleted; copies are explicit).
template <class T, ExtentsType E>
Tensor<T, E, cuda> clone(const Tensor<T, E, cuda>& dev) {
    Tensor<T, E, cuda> out(dev.extents());
    copy(dev.view(), out.view());
    return out;
}

namespace cuda_detail {

/// Multiprocessors of the current device (sizes grid-stride launches).
inline int sm_count() {
    int dev = 0, sms = 0;
    CASCADEV_CUDA_CHECK(cudaGetDevice(&dev));
    CASCADEV_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    return sms;
}

template <class X> struct is_cuda_operand : std::false_type {};
template <class T, ExtentsType E> struct is_cuda_operand<View<T, E, cuda>> : std::true_type {};
template <class T, ExtentsType E> struct is_cuda_operand<Tensor<T, E, cuda>> : std::true_type {};

/// A device view of a device tensor or view (tensors pass where views go, as on the host).
template <class T, ExtentsType E>
View<T, E, cuda> as_view(const View<T, E, cuda>& v) { return v; }
template <class T, ExtentsType E>
View<T, E, cuda> as_view(Tensor<T, E, cuda>& t) { return t.view(); }
template <class T, ExtentsType E>
View<const T, E, cuda> as_view(const Tensor<T, E, cuda>& t) { return t.view(); }

}  // namespace cuda_detail

/// A CUDA tensor or view, possibly const or a reference: what the CUDA ops accept.
template <class X>
concept CudaOperand = cuda_detail::is_cuda_operand<std::remove_cvref_t<X>>::value;

}  // namespace cascadev
