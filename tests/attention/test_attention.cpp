// Attention layouts (index maps) against a brute-force port of the reference's
// window_index, and the CPU multi-head attention kernel against naive double precision.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cascadev/attention.hpp"

using namespace cascadev;

namespace {

using M2 = Tensor<float, DExtents<2>>;
using V2 = View<float, DExtents<2>>;
using CV2 = View<const float, DExtents<2>>;

/// window_index of golden/gen/dit_ref.py, transcribed loop for loop (a, b, c outer; then
/// the (f, i, j) meshgrid flattened row-major), for one video; token (f, i, j) of video v
/// is v·T·H·W + (f·H + i)·W + j.
std::vector<std::vector<index_t>> python_windows(index_t frames, index_t gh, index_t gw, index_t ts, index_t xs,
                                                 index_t videos = 1) {
    const index_t gt = frames / ts, hh = gh / xs, ww = gw / xs;
    std::vector<std::vector<index_t>> rows;
    for (index_t vid = 0; vid < videos; ++vid)
        for (index_t a = 0; a < ts; ++a)
            for (index_t b = 0; b < xs; ++b)
                for (index_t c = 0; c < xs; ++c) {
                    std::vector<index_t> row;
                    for (index_t f = a * gt; f < (a + 1) * gt; ++f)
                        for (index_t i = b * hh; i < (b + 1) * hh; ++i)
                            for (index_t j = c * ww; j < (c + 1) * ww; ++j)
                                row.push_back(vid * frames * gh * gw + (f * gh + i) * gw + j);
                    rows.push_back(row);
                }
    return rows;
}

/// Full attention in the reference: every token of a video, in order.
std::vector<std::vector<index_t>> python_full(index_t frames, index_t gh, index_t gw, index_t videos = 1) {
    std::vector<std::vector<index_t>> rows;
    const index_t n = frames * gh * gw;
    for (index_t vid = 0; vid < videos; ++vid) {
        std::vector<index_t> row(static_cast<std::size_t>(n));
        for (index_t t = 0; t < n; ++t) row[std::size_t(t)] = vid * n + t;
        rows.push_back(row);
    }
    return rows;
}

void fill_random(float* p, index_t n, std::mt19937& rng, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    for (index_t i = 0; i < n; ++i) p[i] = d(rng);
}

/// Naive double-precision attention of one window and head (scores materialised).
void naive_window(const CV2& q, const CV2& k, const CV2& v, const std::vector<index_t>& win, int h, int D,
                  double scale, std::vector<double>& out /* [win.size() * D] */) {
    const std::size_t n = win.size();
    std::vector<double> s(n);
    out.assign(n * std::size_t(D), 0.0);
    for (std::size_t a = 0; a < n; ++a) {
        double mx = -INFINITY;
        for (std::size_t b = 0; b < n; ++b) {
            double acc = 0;
            for (int c = 0; c < D; ++c) acc += double(q(win[a], h * D + c)) * double(k(win[b], h * D + c));
            s[b] = acc * scale;
            mx = std::max(mx, s[b]);
        }
        double sum = 0;
        for (std::size_t b = 0; b < n; ++b) sum += (s[b] = std::exp(s[b] - mx));
        for (std::size_t b = 0; b < n; ++b)
            for (int c = 0; c < D; ++c) out[a * D + c] += s[b] / sum * double(v(win[b], h * D + c));
    }
}

std::string describe(TokenGrid g, std::optional<AttnStrides> s, index_t videos) {
    std::ostringstream os;
    os << videos << "x[" << g.frames << "," << g.height << "," << g.width << "] ";
    if (s) os << "[" << s->ts << "," << s->xs << "]";
    else os << "full";
    return os.str();
}

/// Runs multi_head_attention<H, D> with q, k, v as column slices of one [N, 3C] buffer (as
/// the DiT's qkv Linear writes them) and checks every output against naive_window over the
/// reference's own windows. Returns the worst absolute error. Values are in [-1, 1]; the
/// float error of an output is about (largest logit) · 2^-24 · a few, so the default
/// tolerance suits logits of order 10 and the large-logit cases pass their own.
template <int H, int D>
double check_attention(TokenGrid g, std::optional<AttnStrides> s, index_t videos, AttentionKernel kernel,
                       float qk_range = 2.f, unsigned seed = 1, double tol = 2e-5) {
    const index_t C = index_t(H) * D;
    const auto layout = AttentionLayout::from_strides(g, s, videos);
    const index_t N = layout.tokens();
    M2 qkv(N, 3 * C);
    std::mt19937 rng(seed);
    fill_random(qkv.data(), qkv.size(), rng, -qk_range, qk_range);
    // values in [-1, 1]
    for (index_t t = 0; t < N; ++t)
        for (index_t c = 0; c < C; ++c) qkv(t, 2 * C + c) /= qk_range;
    const V2 all = qkv.view();
    const CV2 q = all.slice<1>(0, C), k = all.slice<1>(C, 2 * C), v = all.slice<1>(2 * C, 3 * C);
    M2 out(N, C);
    AttentionOptions opt;
    opt.kernel = kernel;
    multi_head_attention<H, D>(q, k, v, out, layout, opt);

    const auto wins = s ? python_windows(g.frames, g.height, g.width, s->ts, s->xs, videos)
                        : python_full(g.frames, g.height, g.width, videos);
    const double scale = 1.0 / std::sqrt(double(D));
    double worst = 0;
    std::vector<double> ref;
    for (const auto& win : wins)
        for (int h = 0; h < H; ++h) {
            naive_window(q, k, v, win, h, D, scale, ref);
            for (std::size_t a = 0; a < win.size(); ++a)
                for (int c = 0; c < D; ++c)
                    worst = std::max(worst, std::abs(double(out(win[a], h * D + c)) - ref[a * D + c]));
        }
    std::ostringstream msg;
    msg << describe(g, s, videos) << " heads " << H << "x" << D << " kernel "
        << (kernel == AttentionKernel::avx2 ? "avx2" : "portable") << ": worst abs error " << worst;
    BOOST_TEST_MESSAGE(msg.str());
    BOOST_CHECK_MESSAGE(worst < tol, msg.str());
    return worst;
}

std::vector<AttentionKernel> kernels() {
    std::vector<AttentionKernel> ks{AttentionKernel::portable};
    if (attention_avx2_available()) ks.push_back(AttentionKernel::avx2);
    return ks;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attention_layout)

BOOST_AUTO_TEST_CASE(token_order_matches_reference) {
    // dit_ref.py pos_embed_3d / window_index: token (f, i, j) has index f*g^2 + i*g + j.
    const TokenGrid g{3, 5, 7};
    BOOST_TEST(g.tokens() == 105);
    BOOST_TEST(g.index(0, 0, 1) == 1);
    BOOST_TEST(g.index(0, 1, 0) == 7);
    BOOST_TEST(g.index(1, 0, 0) == 35);
    BOOST_TEST(g.index(2, 4, 6) == 104);
}

BOOST_AUTO_TEST_CASE(explicit_windows_2x2) {
    // T=4, H=W=4, strides [2, 2]: gt = gh = gw = 2. Window 3 = (a 0, b 1, c 1): frames 0-1,
    // rows 2-3, cols 2-3, ordered (f, i, j).
    const auto l = AttentionLayout::windows({4, 4, 4}, {2, 2});
    BOOST_TEST(l.window_count() == 8);
    BOOST_TEST(l.window_size() == 8);
    const std::vector<index_t> w3{10, 11, 14, 15, 26, 27, 30, 31};
    BOOST_TEST(l.members(3) == w3, boost::test_tools::per_element());
    // Window 4 = (a 1, b 0, c 0): frames 2-3, rows 0-1, cols 0-1.
    const std::vector<index_t> w4{32, 33, 36, 37, 48, 49, 52, 53};
    BOOST_TEST(l.members(4) == w4, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(released_layouts_sizes) {
    // dit.md §6: at g = 64, L = 8: [1,4] -> 16 windows of 2048; [4,1] -> 4 windows of 8192.
    const auto a = AttentionLayout::windows({8, 64, 64}, {1, 4});
    BOOST_TEST(a.window_count() == 16);
    BOOST_TEST(a.window_size() == 2048);
    const auto b = AttentionLayout::windows({8, 64, 64}, {4, 1});
    BOOST_TEST(b.window_count() == 4);
    BOOST_TEST(b.window_size() == 8192);
    // [4,1] window 1 = frames 2-3 of the whole frame: tokens 2*4096 .. 4*4096-1 in order.
    const auto m = b.members(1);
    for (std::size_t r = 0; r < m.size(); ++r) BOOST_REQUIRE_EQUAL(m[r], index_t(2 * 4096 + r));
    const auto f = AttentionLayout::full({8, 64, 64});
    BOOST_TEST(f.window_count() == 1);
    BOOST_TEST(f.window_size() == 32768);
}

BOOST_AUTO_TEST_CASE(matches_python_window_index) {
    struct Case { TokenGrid g; AttnStrides s; index_t videos; };
    const std::vector<Case> cases{
        {{4, 4, 4}, {1, 2}, 1}, {{4, 4, 4}, {2, 1}, 1}, {{4, 4, 4}, {2, 2}, 1}, {{8, 8, 8}, {1, 4}, 1},
        {{8, 8, 8}, {4, 1}, 1}, {{8, 8, 8}, {2, 2}, 2}, {{3, 5, 7}, {1, 1}, 1}, {{3, 5, 7}, {3, 1}, 2},
        {{6, 6, 9}, {2, 3}, 1}, {{4, 6, 6}, {4, 3}, 3}, {{1, 1, 1}, {1, 1}, 1}, {{8, 12, 4}, {8, 2}, 1},
    };
    for (const auto& cs : cases) {
        BOOST_TEST_CONTEXT(describe(cs.g, cs.s, cs.videos)) {
            const auto l = AttentionLayout::windows(cs.g, cs.s, cs.videos);
            const auto ref = python_windows(cs.g.frames, cs.g.height, cs.g.width, cs.s.ts, cs.s.xs, cs.videos);
            BOOST_REQUIRE_EQUAL(l.window_count(), index_t(ref.size()));
            for (index_t w = 0; w < l.window_count(); ++w) {
                const auto m = l.members(w);
                BOOST_REQUIRE_EQUAL(index_t(m.size()), l.window_size());
                BOOST_TEST(m == ref[std::size_t(w)], boost::test_tools::per_element());
                for (index_t r = 0; r < l.window_size(); ++r)
                    BOOST_REQUIRE_EQUAL(l.token(w, r), ref[std::size_t(w)][std::size_t(r)]);
            }
        }
    }
    // Full attention: one window per video, identity order; the same map as [1, 1].
    const auto f = AttentionLayout::full({3, 5, 7}, 2);
    const auto one = AttentionLayout::windows({3, 5, 7}, {1, 1}, 2);
    const auto ref = python_full(3, 5, 7, 2);
    BOOST_REQUIRE_EQUAL(f.window_count(), 2);
    for (index_t w = 0; w < 2; ++w) {
        BOOST_TEST(f.members(w) == ref[std::size_t(w)], boost::test_tools::per_element());
        BOOST_TEST(one.members(w) == ref[std::size_t(w)], boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_CASE(windows_partition_tokens_exactly_once) {
    for (index_t videos : {1, 2})
        for (index_t T : {1, 2, 3, 4, 6, 8})
            for (index_t H : {1, 2, 4, 5, 6, 8})
                for (index_t W : {1, 2, 4, 6, 7, 8})
                    for (index_t ts = 1; ts <= T; ++ts)
                        for (index_t xs = 1; xs <= 4; ++xs) {
                            if (T % ts || H % xs || W % xs) continue;
                            const auto l = AttentionLayout::windows({T, H, W}, {ts, xs}, videos);
                            std::vector<int> seen(std::size_t(l.tokens()), 0);
                            for (index_t w = 0; w < l.window_count(); ++w)
                                for (index_t t : l.members(w)) {
                                    BOOST_REQUIRE(t >= 0 && t < l.tokens());
                                    ++seen[std::size_t(t)];
                                }
                            BOOST_REQUIRE_EQUAL(l.window_count() * l.window_size(), l.tokens());
                            BOOST_REQUIRE(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
                        }
}

BOOST_AUTO_TEST_CASE(indivisible_strides_throw) {
    // The reference raises ValueError when ts, xs do not divide frames and the grid.
    BOOST_CHECK_THROW(AttentionLayout::windows({3, 5, 7}, {2, 1}), Error);
    BOOST_CHECK_THROW(AttentionLayout::windows({3, 5, 7}, {1, 2}), Error);
    BOOST_CHECK_THROW(AttentionLayout::windows({4, 4, 6}, {1, 4}), Error);
    BOOST_CHECK_THROW(AttentionLayout::windows({2, 4, 4}, {4, 1}), Error);
    BOOST_CHECK_THROW(AttentionLayout::windows({4, 4, 4}, {0, 1}), Error);
    BOOST_CHECK_THROW(AttentionLayout::full({0, 4, 4}), Error);
    BOOST_CHECK_THROW(AttentionLayout::full({4, 4, 4}, 0), Error);
    try {
        AttentionLayout::windows({3, 5, 7}, {1, 2});
    } catch (const Error& e) {
        const std::string msg = e.what();
        BOOST_TEST(msg.find("[1, 2]") != std::string::npos);
        BOOST_TEST(msg.find("5x7") != std::string::npos);
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(attention_kernel)

BOOST_AUTO_TEST_CASE(tiny_heads_all_layouts) {
    // dit.tiny: 2 heads of 12 (not a power of two), strides [1,2], [2,1], null, [2,2].
    for (auto kern : kernels()) {
        check_attention<2, 12>({4, 4, 4}, AttnStrides{1, 2}, 1, kern);
        check_attention<2, 12>({4, 4, 4}, AttnStrides{2, 1}, 1, kern);
        check_attention<2, 12>({4, 4, 4}, std::nullopt, 1, kern);
        check_attention<2, 12>({4, 4, 4}, AttnStrides{2, 2}, 2, kern);
        check_attention<2, 12>({8, 8, 8}, AttnStrides{1, 4}, 1, kern);
        check_attention<2, 12>({8, 8, 8}, AttnStrides{4, 1}, 1, kern);
        check_attention<2, 12>({8, 8, 8}, std::nullopt, 1, kern);  // 512 tokens: 8 key blocks
    }
}

BOOST_AUTO_TEST_CASE(odd_sizes) {
    // Only strides dividing the sizes exist (the reference requires it); full works for all.
    for (auto kern : kernels()) {
        check_attention<2, 12>({3, 5, 7}, std::nullopt, 1, kern);  // 105 tokens: partial blocks
        check_attention<2, 12>({3, 5, 7}, AttnStrides{3, 1}, 2, kern);
        check_attention<2, 12>({3, 5, 7}, AttnStrides{1, 1}, 1, kern);
        check_attention<3, 5>({6, 6, 9}, AttnStrides{2, 3}, 1, kern);  // head dim 5 (< one vector)
        check_attention<1, 20>({1, 1, 1}, std::nullopt, 1, kern);      // one token
        check_attention<2, 12>({5, 3, 1}, std::nullopt, 1, kern);
    }
}

BOOST_AUTO_TEST_CASE(released_heads_16x72) {
    for (auto kern : kernels()) {
        check_attention<16, 72>({8, 8, 8}, AttnStrides{1, 4}, 1, kern);
        check_attention<16, 72>({8, 8, 8}, AttnStrides{4, 1}, 1, kern);
        check_attention<16, 72>({4, 8, 8}, std::nullopt, 1, kern);
        check_attention<16, 72>({3, 5, 7}, std::nullopt, 1, kern);
        check_attention<16, 72>({4, 4, 4}, AttnStrides{2, 2}, 2, kern);
    }
}

BOOST_AUTO_TEST_CASE(large_logits_are_stable) {
    // q, k in [-12, 12]: logits up to ~hundreds; the online softmax must not overflow and
    // must rescale correctly when a later key block holds the maximum.
    for (auto kern : kernels()) {
        // Logits reach a few hundred here: float rounding of a logit alone is ~1e-5.
        check_attention<2, 12>({4, 8, 8}, std::nullopt, 1, kern, 12.f, 7, 1e-4);
        check_attention<16, 72>({2, 8, 8}, AttnStrides{2, 2}, 1, kern, 6.f, 9, 1e-4);
    }
}

BOOST_AUTO_TEST_CASE(kernels_agree_and_thread_count_does_not_matter) {
    const auto layout = AttentionLayout::windows({4, 8, 8}, {1, 2});
    const index_t N = layout.tokens(), C = 2 * 12;
    M2 q(N, C), k(N, C), v(N, C), a(N, C), b(N, C);
    std::mt19937 rng(3);
    fill_random(q.data(), q.size(), rng, -2, 2);
    fill_random(k.data(), k.size(), rng, -2, 2);
    fill_random(v.data(), v.size(), rng, -1, 1);
    for (auto kern : kernels()) {
        AttentionOptions opt;
        opt.kernel = kern;
        multi_head_attention<2, 12>(q, k, v, a, layout, opt);
#ifdef _OPENMP
        const int saved = omp_get_max_threads();
        omp_set_num_threads(1);
        multi_head_attention<2, 12>(q, k, v, b, layout, opt);
        omp_set_num_threads(saved);
        BOOST_TEST(std::equal(a.data(), a.data() + a.size(), b.data()));
#endif
    }
}

BOOST_AUTO_TEST_CASE(in_place_over_q) {
    const auto layout = AttentionLayout::windows({2, 4, 4}, {2, 2});
    const index_t N = layout.tokens(), C = 2 * 12;
    M2 q(N, C), k(N, C), v(N, C), expect(N, C);
    std::mt19937 rng(5);
    fill_random(q.data(), q.size(), rng, -2, 2);
    fill_random(k.data(), k.size(), rng, -2, 2);
    fill_random(v.data(), v.size(), rng, -1, 1);
    multi_head_attention<2, 12>(q, k, v, expect, layout);
    multi_head_attention<2, 12>(q.view(), k, v, q.view(), layout);
    BOOST_TEST(std::equal(q.data(), q.data() + q.size(), expect.data()));
}

BOOST_AUTO_TEST_CASE(custom_scale) {
    // scale option: scale s on q·k equals the default scale with q multiplied by s·√D.
    const auto layout = AttentionLayout::full({1, 4, 4});
    const index_t N = layout.tokens(), C = 12;
    M2 q(N, C), q2(N, C), k(N, C), v(N, C), a(N, C), b(N, C);
    std::mt19937 rng(11);
    fill_random(q.data(), q.size(), rng, -1, 1);
    fill_random(k.data(), k.size(), rng, -1, 1);
    fill_random(v.data(), v.size(), rng, -1, 1);
    for (index_t i = 0; i < q.size(); ++i) q2.data()[i] = q.data()[i] * 0.5f * std::sqrt(12.f);
    AttentionOptions opt;
    opt.scale = 0.5;
    multi_head_attention<1, 12>(q, k, v, a, layout, opt);
    multi_head_attention<1, 12>(q2, k, v, b, layout);
    for (index_t i = 0; i < a.size(); ++i) BOOST_CHECK_SMALL(a.data()[i] - b.data()[i], 1e-5f);
}

BOOST_AUTO_TEST_CASE(shape_mismatch_throws) {
    const auto layout = AttentionLayout::full({2, 4, 4});  // 32 tokens
    M2 q(32, 24), k(32, 24), v(31, 24), out(32, 24), wide(32, 48);
    BOOST_CHECK_THROW((multi_head_attention<2, 12>(q, k, v, out, layout)), Error);
    BOOST_CHECK_THROW((multi_head_attention<2, 12>(q, k, wide, out, layout)), Error);
    M2 v_ok(32, 24);
    BOOST_CHECK_NO_THROW((multi_head_attention<2, 12>(q, k, v_ok, out, layout)));
    try {
        multi_head_attention<2, 12>(q, k, v, out, layout);
    } catch (const Error& e) {
        const std::string msg = e.what();
        BOOST_TEST(msg.find("[31, 24]") != std::string::npos);
        BOOST_TEST(msg.find("[32, 24]") != std::string::npos);
    }
    // Static channel extents: [dyn, 24] converts; a wrong static width would not compile.
    View<const float, Extents<dyn, 24>> qs(q.data(), Extents<dyn, 24>(32));
    BOOST_CHECK_NO_THROW((multi_head_attention<2, 12>(qs, k, v_ok, out, layout)));
}

// Timing: full attention over 4096 tokens, 16 heads of 72 (disabled by default; run with
// --run_test=attention_kernel/timing_full_4096_16x72).
BOOST_AUTO_TEST_CASE(timing_full_4096_16x72, *boost::unit_test::disabled()) {
    const auto layout = AttentionLayout::full({1, 64, 64});
    const index_t N = layout.tokens(), C = 16 * 72;
    M2 qkv(N, 3 * C), out(N, C);
    std::mt19937 rng(1);
    fill_random(qkv.data(), qkv.size(), rng, -1, 1);
    const V2 all = qkv.view();
    const CV2 q = all.slice<1>(0, C), k = all.slice<1>(C, 2 * C), v = all.slice<1>(2 * C, 3 * C);
    for (auto kern : kernels()) {
        AttentionOptions opt;
        opt.kernel = kern;
        multi_head_attention<16, 72>(q, k, v, out, layout, opt);  // warm-up
        double best = 1e30;
        for (int rep = 0; rep < 3; ++rep) {
            const auto t0 = std::chrono::steady_clock::now();
            multi_head_attention<16, 72>(q, k, v, out, layout, opt);
            best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        const double flops = 4.0 * double(N) * double(N) * double(C);
        std::printf("full attention N=%lld 16x72 kernel=%s threads=%d: %.3f s (%.1f GFLOP/s)\n", (long long)N,
                    kern == AttentionKernel::avx2 ? "avx2" : "portable", max_threads(), best, flops / best * 1e-9);
        BOOST_TEST(std::isfinite(out(0, 0)));
    }
}

BOOST_AUTO_TEST_SUITE_END()
