// Weightless parts of the DiT (docs/reference/dit.md §3, §4, §10, §11) against the spec's
// formulas and examples, and the checkpoint binding's error report.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>
#include <filesystem>
#include <string>
#include <vector>

#include "cascadev/models/dit.hpp"

using namespace cascadev;
using namespace cascadev::models;

BOOST_AUTO_TEST_SUITE(dit_parts)

BOOST_AUTO_TEST_CASE(pos_table_matches_formula) {
    const index_t frames = 3, grid = 4, T = 8, P = 16;
    const double pe = 2.0;
    const auto tab = pos_embed_3d(frames, grid, pe, T, P);
    BOOST_TEST(tab.extent(0) == frames * grid * grid);
    BOOST_TEST(tab.extent(1) == T + P);
    auto E = [](index_t D, double pos, index_t k) {
        const index_t half = D / 2;
        const index_t kk = k % half;
        const double a = pos * std::pow(10000.0, -double(kk) / double(half));
        return k < half ? std::sin(a) : std::cos(a);
    };
    for (index_t f = 0; f < frames; ++f)
        for (index_t i = 0; i < grid; ++i)
            for (index_t j = 0; j < grid; ++j) {
                const index_t r = (f * grid + i) * grid + j;
                for (index_t k = 0; k < T; ++k) BOOST_TEST(tab(r, k) == float(E(T, double(f), k)));
                // Column coordinate first, then the row coordinate, both divided by pe.
                for (index_t k = 0; k < P / 2; ++k) {
                    BOOST_TEST(tab(r, T + k) == float(E(P / 2, double(j) / pe, k)));
                    BOOST_TEST(tab(r, T + P / 2 + k) == float(E(P / 2, double(i) / pe, k)));
                }
            }
    BOOST_CHECK_THROW(pos_embed_3d(1, 2, 2.0, 7, 16), Error);
    BOOST_CHECK_THROW(pos_embed_3d(1, 2, 2.0, 8, 14), Error);
}

BOOST_AUTO_TEST_CASE(timestep_sinusoid_cos_first) {
    const std::vector<float> t = {0.f, 1.f};
    const auto fr = timestep_frequencies(t, 256);
    for (index_t k = 0; k < 128; ++k) {
        BOOST_TEST(fr(0, k) == 1.0f);
        BOOST_TEST(fr(0, 128 + k) == 0.0f);
    }
    BOOST_TEST(fr(1, 0) == float(std::cos(1.0)));    // f_0 = 1
    BOOST_TEST(fr(1, 128) == float(std::sin(1.0)));
}

BOOST_AUTO_TEST_CASE(tile_starts_spec_examples) {
    using V = std::vector<index_t>;
    BOOST_TEST(dit_tile_starts(16, 16) == V({0}));
    BOOST_TEST(dit_tile_starts(18, 16) == V({0, 2}));
    BOOST_TEST(dit_tile_starts(22, 16) == V({0, 6}));
    BOOST_TEST(dit_tile_starts(20, 16) == V({0, 4}));
    BOOST_TEST(dit_tile_starts(28, 16) == V({0, 12}));
    BOOST_TEST(dit_tile_starts(31, 16) == V({0, 12, 15}));
    BOOST_TEST(dit_tile_starts(300, 128) == V({0, 96, 172}));  // step round(96.0)
    BOOST_TEST(dit_tile_starts(12, 8) == V({0, 4}));           // step round(6.0)
    BOOST_TEST(dit_tile_starts(14, 10) == V({0, 4}));          // round(7.5) = 8 (halves to even): 0, then 4
    BOOST_TEST(dit_tile_starts(19, 10) == V({0, 8, 9}));
    BOOST_CHECK_THROW(dit_tile_starts(15, 16), Error);
}

BOOST_AUTO_TEST_CASE(window_starts_spec_examples) {
    using V = std::vector<index_t>;
    BOOST_TEST(dit_window_starts(8, 8) == V({0}));
    BOOST_TEST(dit_window_starts(12, 8) == V({0, 4}));
    BOOST_TEST(dit_window_starts(17, 8) == V({0, 4, 8, 9}));
    BOOST_TEST(dit_window_starts(7, 4) == V({0, 2, 3}));
    BOOST_TEST(dit_window_starts(10, 4) == V({0, 2, 4, 6}));
    BOOST_TEST(dit_window_starts(5, 4) == V({0, 1}));
    BOOST_CHECK_THROW(dit_window_starts(3, 4), Error);
}

BOOST_AUTO_TEST_CASE(blend_weights) {
    using V = std::vector<float>;
    BOOST_TEST(dit_blend_weights(8, 0) == V(8, 1.0f));
    BOOST_TEST(dit_blend_weights(8, 1) == V(8, 1.0f));
    BOOST_TEST(dit_blend_weights(4, 2) == V({0.f, 1.f, 1.f, 1.f}));
    BOOST_TEST(dit_blend_weights(4, 3) == V({0.f, 0.5f, 1.f, 1.f}));
    BOOST_TEST(dit_blend_weights(8, 4) == V({0.f, float(1.0 / 3.0), float(2.0 / 3.0), 1.f, 1.f, 1.f, 1.f, 1.f}));
}

BOOST_AUTO_TEST_CASE(strides_schedule_of_release) {
    BOOST_TEST(DitXL2::attn_strides.size() == 28u);
    BOOST_TEST((Dit<DitXL2>::strides_of(0) == StridesEntry(AttnStrides{1, 4})));
    BOOST_TEST((Dit<DitXL2>::strides_of(1) == StridesEntry(AttnStrides{4, 1})));
    BOOST_TEST(!Dit<DitXL2>::strides_of(8).has_value());
    BOOST_TEST((Dit<DitXL2>::strides_of(19) == StridesEntry(AttnStrides{4, 1})));
    BOOST_TEST(!Dit<DitXL2>::strides_of(27).has_value());
    BOOST_TEST(DitXL2::mlp_hidden == 4608);
}

BOOST_AUTO_TEST_CASE(load_reports_every_bad_key) {
    // A tiny checkpoint with one mis-shaped tensor, everything else missing, one extra key.
    const auto path = std::filesystem::temp_directory_path() / "cascadev_test_dit_parts.safetensors";
    {
        io::SafetensorsWriter w;
        Tensor<float, DExtents<2>> bad(3, 3);
        w.add("x_embedder.proj.bias", bad);
        Tensor<float, DExtents<1>> extra(2);
        w.add("y_embedder.foo", extra);
        w.write(path);
    }
    io::WeightStore store(path);
    Dit<DitTiny> m;
    std::string msg;
    try {
        m.load(store);
    } catch (const Error& e) {
        msg = e.what();
    }
    std::filesystem::remove(path);
    BOOST_TEST(msg.find("x_embedder.proj.bias") != std::string::npos);
    BOOST_TEST(msg.find("missing key \"x_embedder.proj.weight\"") != std::string::npos);
    BOOST_TEST(msg.find("missing key \"blocks.3.mlp.fc2.bias\"") != std::string::npos);
    BOOST_TEST(msg.find("missing key \"final_layer.linear.weight\"") != std::string::npos);
    BOOST_TEST(msg.find("unexpected key \"y_embedder.foo\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(forward_rejects_bad_shapes) {
    Dit<DitTiny> m(0);
    Tensor<float, DExtents<4>> x(4, 20, 16, 18);
    const std::vector<float> tau(4, 1.f);
    BOOST_CHECK_THROW(m.embed(View<const float, DExtents<4>, cpu>(x.view()), tau), Error);  // not square
    Tensor<float, DExtents<4>> y(3, 20, 16, 16);
    BOOST_CHECK_THROW(m.embed(View<const float, DExtents<4>, cpu>(y.view()), std::vector<float>(3, 1.f)),
                      Error);  // 3 frames, L = 4
    Tensor<float, DExtents<4>> z(4, 19, 16, 16);
    BOOST_CHECK_THROW(m.embed(View<const float, DExtents<4>, cpu>(z.view()), tau), Error);  // channels
}

namespace {

/// A custom variant: released head dim (72, not a power of two) with 2 heads.
struct DitWideTest : DitTiny {
    static constexpr index_t hidden = 144, heads = 2, head_dim = 72;
    static constexpr index_t mlp_hidden = 4 * hidden;
    static constexpr index_t pe_temporal = 48, pe_spatial = 96;
};
static_assert(DitVariant<DitWideTest>);

template <class T, class E>
void fill_uniform(Tensor<T, E>& t, std::mt19937& rng, float a) {
    std::uniform_real_distribution<float> d(-a, a);
    for (index_t i = 0; i < t.size(); ++i) t.data()[i] = d(rng);
}

/// One block in double with explicit loops over the reference's windows (dit_ref.py).
template <class V>
std::vector<double> naive_block(const DitBlock<V>& blk, const std::vector<float>& x, const std::vector<float>& t6,
                                index_t B, index_t F, index_t gh, index_t gw, const StridesEntry& s) {
    constexpr index_t C = V::hidden, H = V::heads, D = V::head_dim, Cm = V::mlp_hidden;
    const index_t M = F * gh * gw;
    std::vector<double> out(x.begin(), x.end());
    auto lin = [](const float* W, const float* b, const std::vector<double>& in, index_t nin, index_t nout) {
        std::vector<double> o(static_cast<std::size_t>(nout));
        for (index_t r = 0; r < nout; ++r) {
            double acc = b[r];
            for (index_t c = 0; c < nin; ++c) acc += double(W[r * nin + c]) * in[std::size_t(c)];
            o[std::size_t(r)] = acc;
        }
        return o;
    };
    auto ln_mod = [&](const double* xr, const double* shift, const double* scale) {
        double mean = 0, var = 0;
        for (index_t c = 0; c < C; ++c) mean += xr[c];
        mean /= C;
        for (index_t c = 0; c < C; ++c) var += (xr[c] - mean) * (xr[c] - mean);
        var /= C;
        std::vector<double> y(static_cast<std::size_t>(C));
        for (index_t c = 0; c < C; ++c) y[std::size_t(c)] = (xr[c] - mean) / std::sqrt(var + 1e-6) * (1 + scale[c]) + shift[c];
        return y;
    };
    const index_t ts = s ? s->ts : 1, xs = s ? s->xs : 1;
    const index_t gt = F / ts, hh = gh / xs, ww = gw / xs;
    for (index_t v = 0; v < B; ++v) {
        std::vector<double> m(static_cast<std::size_t>(6 * C));
        for (index_t k = 0; k < 6 * C; ++k) m[std::size_t(k)] = double(blk.scale_shift_table.data()[k] + t6[std::size_t(v * 6 * C + k)]);
        double* xv = out.data() + v * M * C;
        std::vector<std::vector<double>> qkv(static_cast<std::size_t>(M)), att(static_cast<std::size_t>(M), std::vector<double>(static_cast<std::size_t>(C)));
        for (index_t t = 0; t < M; ++t) {
            const auto y = ln_mod(xv + t * C, m.data(), m.data() + C);
            qkv[std::size_t(t)] = lin(blk.qkv_w.data(), blk.qkv_b.data(), y, C, 3 * C);
        }
        for (index_t a = 0; a < ts; ++a)
            for (index_t b = 0; b < xs; ++b)
                for (index_t c = 0; c < xs; ++c) {
                    std::vector<index_t> idx;
                    for (index_t f = a * gt; f < (a + 1) * gt; ++f)
                        for (index_t i = b * hh; i < (b + 1) * hh; ++i)
                            for (index_t j = c * ww; j < (c + 1) * ww; ++j) idx.push_back((f * gh + i) * gw + j);
                    for (index_t h = 0; h < H; ++h)
                        for (index_t q : idx) {
                            std::vector<double> sc;
                            double mx = -1e300;
                            for (index_t k : idx) {
                                double d = 0;
                                for (index_t e = 0; e < D; ++e)
                                    d += qkv[std::size_t(q)][std::size_t(h * D + e)] * qkv[std::size_t(k)][std::size_t(C + h * D + e)];
                                sc.push_back(d / std::sqrt(double(D)));
                                mx = std::max(mx, sc.back());
                            }
                            double sum = 0;
                            for (auto& e : sc) sum += (e = std::exp(e - mx));
                            for (index_t e = 0; e < D; ++e) {
                                double o = 0;
                                for (std::size_t u = 0; u < idx.size(); ++u)
                                    o += sc[u] / sum * qkv[std::size_t(idx[u])][std::size_t(2 * C + h * D + e)];
                                att[std::size_t(q)][std::size_t(h * D + e)] = o;
                            }
                        }
                }
        for (index_t t = 0; t < M; ++t) {
            const auto p = lin(blk.proj_w.data(), blk.proj_b.data(), att[std::size_t(t)], C, C);
            for (index_t c = 0; c < C; ++c) xv[t * C + c] += m[std::size_t(2 * C + c)] * p[std::size_t(c)];
        }
        for (index_t t = 0; t < M; ++t) {
            const auto y = ln_mod(xv + t * C, m.data() + 3 * C, m.data() + 4 * C);
            auto f1 = lin(blk.fc1_w.data(), blk.fc1_b.data(), y, C, Cm);
            for (auto& u : f1) u = 0.5 * u * (1 + std::tanh(std::sqrt(2 / M_PI) * (u + 0.044715 * u * u * u)));
            const auto f2 = lin(blk.fc2_w.data(), blk.fc2_b.data(), f1, Cm, C);
            for (index_t c = 0; c < C; ++c) xv[t * C + c] += m[std::size_t(5 * C + c)] * f2[std::size_t(c)];
        }
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(block_matches_naive_double) {
    using V = DitWideTest;
    constexpr index_t C = V::hidden;
    std::mt19937 rng(7);
    DitBlock<V> blk;
    fill_uniform(blk.scale_shift_table, rng, 0.3f);
    fill_uniform(blk.qkv_w, rng, 1.f / std::sqrt(float(C)));
    fill_uniform(blk.qkv_b, rng, 0.05f);
    fill_uniform(blk.proj_w, rng, 1.f / std::sqrt(float(C)));
    fill_uniform(blk.proj_b, rng, 0.05f);
    fill_uniform(blk.fc1_w, rng, 1.f / std::sqrt(float(C)));
    fill_uniform(blk.fc1_b, rng, 0.05f);
    fill_uniform(blk.fc2_w, rng, 1.f / std::sqrt(float(V::mlp_hidden)));
    fill_uniform(blk.fc2_b, rng, 0.05f);
    struct Case { index_t B, F, gh, gw; StridesEntry s; };
    const std::vector<Case> cases = {{2, 4, 4, 4, full3d},          {1, 4, 4, 4, AttnStrides{1, 2}},
                                     {2, 4, 4, 6, AttnStrides{2, 1}}, {1, 4, 4, 8, AttnStrides{2, 2}},
                                     {1, 2, 4, 4, AttnStrides{1, 4}}, {1, 8, 2, 2, AttnStrides{4, 1}}};
    for (const auto& k : cases) {
        const index_t M = k.F * k.gh * k.gw;
        Tensor<float, Extents<dyn, dyn, C>> x(k.B, M);
        Tensor<float, Extents<dyn, 6 * C>> t6(k.B);
        fill_uniform(x, rng, 1.f);
        fill_uniform(t6, rng, 0.5f);
        const std::vector<float> x0(x.data(), x.data() + x.size()), t60(t6.data(), t6.data() + t6.size());
        blk(x.view(), t6, k.s, k.F, k.gh, k.gw);
        const auto want = naive_block(blk, x0, t60, k.B, k.F, k.gh, k.gw, k.s);
        double num = 0, den = 0;
        for (index_t i = 0; i < x.size(); ++i) {
            num += (double(x.data()[i]) - want[std::size_t(i)]) * (double(x.data()[i]) - want[std::size_t(i)]);
            den += want[std::size_t(i)] * want[std::size_t(i)];
        }
        BOOST_TEST_INFO("B " << k.B << " F " << k.F << " grid " << k.gh << "x" << k.gw << " strides "
                             << (k.s ? k.s->ts : 0) << "," << (k.s ? k.s->xs : 0));
        BOOST_TEST(std::sqrt(num / den) < 1e-5);
    }
    Tensor<float, Extents<dyn, dyn, C>> x(1, 4 * 4 * 4);
    Tensor<float, Extents<dyn, 6 * C>> t6(1);
    BOOST_CHECK_THROW(blk(x.view(), t6, AttnStrides{3, 1}, 4, 4, 4), Error);  // 3 does not divide 4 frames
    BOOST_CHECK_THROW(blk(x.view(), t6, full3d, 4, 4, 5), Error);           // tokens != frames·gh·gw
}

BOOST_AUTO_TEST_SUITE_END()
