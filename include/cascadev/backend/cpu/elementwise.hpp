#pragma once
// Elementwise and broadcasting ops on host views, computed by xtensor expressions over
// adaptors of the views' own buffers (no copies).
//
// Broadcasting is numpy's, towards the output: every input must broadcast to the output's
// shape (dims aligned from the right; an input dim equals the output's or is 1; missing
// leading dims count as 1). As with numpy's `out=`, the output may be larger than the
// inputs' common shape. Static extents that cannot broadcast fail to compile; run-time
// mismatches throw an Error naming every shape.
//
// The output may be the very same view as an input (same data and strides: in place);
// any other overlap between output and inputs is undefined.
//
// Threading: large outputs are cut along one dim into blocks, one xtensor assignment per
// block, in an OpenMP loop. Each element is computed by the same expression whatever the
// cut, so results do not depend on the number of threads.
#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xoperation.hpp>

#include "cascadev/backend/cpu/parallel.hpp"
#include "cascadev/backend/cpu/xtensor_adapt.hpp"
#include "cascadev/core/error.hpp"

namespace cascadev {

namespace detail {

/// False when static extents make the input unable to broadcast to the output.
template <class VI, class VO>
constexpr bool static_broadcastable() {
    if (VI::rank > VO::rank) return false;
    for (std::size_t i = 0; i < VI::rank; ++i) {
        const index_t si = VI::extents_type::static_extent(i);
        const index_t so = VO::extents_type::static_extent(i + VO::rank - VI::rank);
        if (si != dyn && so != dyn && si != 1 && si != so) return false;
    }
    return true;
}

template <class VI, class VO>
bool broadcastable(const VI& in, const VO& out) {
    if constexpr (VI::rank > VO::rank) {
        return false;
    } else {
        for (std::size_t i = 0; i < VI::rank; ++i) {
            const index_t si = in.extent(i), so = out.extent(i + VO::rank - VI::rank);
            if (si != 1 && si != so) return false;
        }
        return true;
    }
}

template <class VO, class... VI>
void check_broadcast(const char* what, const VO& out, const VI&... ins) {
    if ((broadcastable(ins, out) && ...)) return;
    std::string list;
    ((list += (list.empty() ? "" : ", ") + ins.extents().str()), ...);
    fail(what, ": shape mismatch: input", sizeof...(VI) > 1 ? "s " : " ", list,
         sizeof...(VI) > 1 ? " do" : " does", " not broadcast to the output ", out.extents().str());
}

/// out = expr, where expr's shape may be smaller (broadcastable). xtensor would otherwise
/// *resize* the output to the expression's shape: for a strided adaptor that silently
/// recomputes row-major strides (or throws), so the expression is broadcast explicitly.
template <class AO, class Expr>
void assign_exact(AO& ao, Expr&& e) {
    const auto& es = e.shape();
    const auto& os = ao.shape();
    if (es.size() == os.size() && std::equal(es.begin(), es.end(), os.begin()))
        xt::noalias(ao) = std::forward<Expr>(e);
    else
        xt::noalias(ao) = xt::broadcast(std::forward<Expr>(e), os);
}

/// Rows [b, e) of dim d of the output block; the matching part of a (right-aligned)
/// input block, which is the whole input where it broadcasts along d.
template <class T, std::size_t N>
StridedBlock<T, N> sub_block(StridedBlock<T, N> blk, std::size_t out_rank, std::size_t d, index_t b, index_t e) {
    const std::ptrdiff_t dk = std::ptrdiff_t(d) - std::ptrdiff_t(out_rank - N);
    if (dk >= 0 && blk.shape[std::size_t(dk)] != 1) {
        blk.data += b * blk.strides[std::size_t(dk)];
        blk.shape[std::size_t(dk)] = std::size_t(e - b);
    }
    return blk;
}

/// Evaluates out = make(adaptor(in)...) for blocks already checked to broadcast, in
/// parallel blocks along one dim of the output when it is large.
template <class TO, std::size_t R, class Make, class... Blocks>
void run_blocks(const StridedBlock<TO, R>& out, Make&& make, const Blocks&... ins) {
    const std::size_t n = out.size();
    if (n == 0) return;
    auto eval = [&make](const StridedBlock<TO, R>& o, const auto&... i) {
        auto ao = as_xtensor(o);
        assign_exact(ao, make(as_xtensor(i)...));
    };
    const int threads = max_threads();
    if constexpr (R == 0) {
        eval(out, ins...);
    } else {
        if (threads <= 1 || index_t(n) < parallel_grain) { eval(out, ins...); return; }
        // Cut the outermost dim that gives every thread work; else the longest dim.
        std::size_t d = 0;
        for (std::size_t k = 0; k < R; ++k)
            if (out.shape[k] > out.shape[d]) d = k;
        for (std::size_t k = 0; k < R; ++k)
            if (out.shape[k] >= std::size_t(threads)) { d = k; break; }
        const index_t extent = index_t(out.shape[d]);
        const index_t chunks = std::min<index_t>(extent, 4 * index_t(threads));
        parallel_for(chunks, index_t(n) / chunks, [&](index_t c) {
            const index_t b = extent * c / chunks, e = extent * (c + 1) / chunks;
            eval(sub_block(out, R, d, b, e), sub_block(ins, R, d, b, e)...);
        });
    }
}

/// The common front end: checks shapes (static, then run-time), adapts, runs.
template <class Make, HostWritable XO, HostReadable... XI>
void broadcast_op(const char* what, Make&& make, XO&& out, XI&&... ins) {
    using VO = host_view_t<XO>;
    static_assert((static_broadcastable<host_view_t<XI>, VO>() && ...),
                  "cascadev: static extents of an input do not broadcast to the output's");
    const auto ov = host_view(out);
    check_broadcast(what, ov, host_cview(ins)...);
    run_blocks(strided_block(ov), make, strided_block(host_cview(ins))...);
}

}  // namespace detail

// ---------------------------------------------------------------------------------
// Generic maps
// ---------------------------------------------------------------------------------

/// out = f(x) elementwise, x broadcast to out. f: a callable on one element.
template <HostReadable XX, HostWritable XO, class F>
void map(XX&& x, XO&& out, F f) {
    detail::broadcast_op(
        "map", [&f](auto&& a) { return xt::make_lambda_xfunction(F(f), std::forward<decltype(a)>(a)); },
        out, x);
}

/// out = f(a, b) elementwise with broadcasting.
template <HostReadable XA, HostReadable XB, HostWritable XO, class F>
void map(XA&& a, XB&& b, XO&& out, F f) {
    detail::broadcast_op(
        "map",
        [&f](auto&& p, auto&& q) {
            return xt::make_lambda_xfunction(F(f), std::forward<decltype(p)>(p), std::forward<decltype(q)>(q));
        },
        out, a, b);
}

/// x = f(x) elementwise, in place.
template <HostWritable XO, class F>
void map_inplace(XO&& x, F f) {
    const auto v = host_view(x);
    map(v, v, std::move(f));
}

// ---------------------------------------------------------------------------------
// Arithmetic with broadcasting
// ---------------------------------------------------------------------------------

/// out = a + b
template <HostReadable XA, HostReadable XB, HostWritable XO>
void add(XA&& a, XB&& b, XO&& out) {
    detail::broadcast_op("add", [](auto&& p, auto&& q) { return std::move(p) + std::move(q); }, out, a, b);
}
/// out = a - b
template <HostReadable XA, HostReadable XB, HostWritable XO>
void sub(XA&& a, XB&& b, XO&& out) {
    detail::broadcast_op("sub", [](auto&& p, auto&& q) { return std::move(p) - std::move(q); }, out, a, b);
}
/// out = a * b
template <HostReadable XA, HostReadable XB, HostWritable XO>
void mul(XA&& a, XB&& b, XO&& out) {
    detail::broadcast_op("mul", [](auto&& p, auto&& q) { return std::move(p) * std::move(q); }, out, a, b);
}
/// out = a / b
template <HostReadable XA, HostReadable XB, HostWritable XO>
void div(XA&& a, XB&& b, XO&& out) {
    detail::broadcast_op("div", [](auto&& p, auto&& q) { return std::move(p) / std::move(q); }, out, a, b);
}

/// out = s * x (x broadcast to out).
template <HostReadable XX, HostWritable XO>
void scale(XX&& x, host_value_t<XO> s, XO&& out) {
    detail::broadcast_op("scale", [s](auto&& p) { return std::move(p) * s; }, out, x);
}
/// x *= s, in place.
template <HostWritable XO>
void scale(XO&& x, host_value_t<XO> s) {
    const auto v = host_view(x);
    scale(v, s, v);
}

/// y += alpha * x (x broadcast to y): the residual / axpy update.
template <HostWritable XY, HostReadable XX>
void add_scaled(XY&& y, host_value_t<XY> alpha, XX&& x) {
    const auto yv = host_view(y);
    detail::broadcast_op("add_scaled", [alpha](auto&& p, auto&& q) { return std::move(p) + alpha * std::move(q); },
                         yv, yv, x);
}

/// out = a * x + b elementwise (scalars a, b): e.g. rescaling to [-1, 1].
template <HostReadable XX, HostWritable XO>
void affine(XX&& x, host_value_t<XO> a, host_value_t<XO> b, XO&& out) {
    detail::broadcast_op("affine", [a, b](auto&& p) { return std::move(p) * a + b; }, out, x);
}

/// dst = src with broadcasting: strided copies (gather a permuted view into a contiguous
/// tensor), tiling a bias over rows, and so on.
template <HostReadable XS, HostWritable XD>
void copy(XS&& src, XD&& dst) {
    detail::broadcast_op("copy", [](auto&& p) { return std::move(p); }, dst, src);
}

/// dst = value everywhere (strided views included).
template <HostWritable XD>
void fill(XD&& dst, host_value_t<XD> value) {
    using T = host_value_t<XD>;
    detail::broadcast_op("fill", [value]() { return xt::xscalar<T>(value); }, dst);
}

}  // namespace cascadev
