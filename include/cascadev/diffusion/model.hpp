#pragma once
// What the samplers need from a model and from a caller (docs/reference/samplers.md §1).
//
//  - EpsModel: anything callable as `eps = model(x, x_ref, t)` with x [N, 4, H, W] and
//    x_ref [N, C, H, W] as read-only float32 host views (View<const float, DExtents<4>>)
//    and t the time value (float32, the same for every frame; the samplers hand over
//    fractional values for Euler ancestral and DPM-Solver, integers for DDIM). It returns
//    an owning float32 host tensor of rank 4 with x's shape: the predicted noise.
//  - StepCallback: an optional per-step progress callback, called after each update as
//    `cb(step, total)` (step = 1 … total) or, when it accepts one, `cb(step, total, x)`
//    with the state after the update.
//  - SampleInput checks: z [N, 4, H, W] and x_ref [N, C, H, W] agree on N, H, W.
#include <concepts>
#include <type_traits>
#include <utility>

#include "cascadev/backend/cpu/parallel.hpp"
#include "cascadev/core/error.hpp"
#include "cascadev/core/tensor.hpp"
#include "cascadev/core/view.hpp"

namespace cascadev::diffusion {

/// The sampler state and the model's output: [N, 4, H, W], float32, host.
using Latent = Tensor<float, DExtents<4>>;
/// Read-only view of a latent or of the reference latent.
using LatentView = View<const float, DExtents<4>, cpu>;

template <class T>
struct is_float_tensor4 : std::false_type {};
template <ExtentsType E>
struct is_float_tensor4<Tensor<float, E, cpu>> : std::bool_constant<E::rank == 4> {};

/// An owning float32 host tensor of rank 4 (any mix of static and dynamic dims).
template <class T>
concept FloatTensor4 = is_float_tensor4<std::remove_cvref_t<T>>::value;

/// eps = model(x, x_ref, t).
template <class M>
concept EpsModel = requires(M& m, LatentView x, LatentView x_ref, float t) {
    { m(x, x_ref, t) } -> FloatTensor4;
};

/// A per-step callback: cb(step, total) or cb(step, total, state).
template <class P>
concept StepCallback = std::invocable<P&, int, int> || std::invocable<P&, int, int, LatentView>;

/// The default callback: does nothing.
struct NoProgress {
    void operator()(int, int) const noexcept {}
};

namespace detail {

template <StepCallback P>
void report(P& cb, int step, int total, const Latent& x) {
    if constexpr (std::invocable<P&, int, int, LatentView>) cb(step, total, LatentView(x.view()));
    else cb(step, total);
}

inline void check_inputs(const char* sampler, const LatentView& z, const LatentView& x_ref) {
    if (z.extent(1) != 4) fail(sampler, ": the starting tensor must be [N, 4, H, W], got ", z.extents().str());
    if (x_ref.extent(0) != z.extent(0) || x_ref.extent(2) != z.extent(2) || x_ref.extent(3) != z.extent(3))
        fail(sampler, ": reference latent ", x_ref.extents().str(), " does not match the starting tensor ",
             z.extents().str(), " in frames, height or width");
}

/// Calls the model and checks that eps has x's shape.
template <EpsModel M>
Latent call_model(const char* sampler, M& model, const Latent& x, const LatentView& x_ref, float t) {
    auto eps = model(LatentView(x.view()), x_ref, t);
    if (eps.dims() != x.dims())
        fail(sampler, ": the model returned ", eps.extents().str(), " for an input ", x.extents().str(),
             " (t = ", t, "); eps must have the input's shape");
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(eps)>, Latent>) {
        return eps;
    } else {
        Latent out(DExtents<4>::from_dims(eps.dims()));
        std::copy_n(eps.data(), eps.size(), out.data());
        return out;
    }
}

/// A contiguous float32 copy of a (possibly strided) view.
inline Latent to_latent(const LatentView& v) {
    auto c = contiguous_copy(v);
    return c;
}

/// f(i) for every element index, in parallel for large tensors (elementwise: results do
/// not depend on the thread count).
template <class F>
void for_each_element(index_t n, F&& f) {
    parallel_for(n, 1, std::forward<F>(f));
}

}  // namespace detail

}  // namespace cascadev::diffusion
