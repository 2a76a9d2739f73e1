// Noise schedules against naive double-precision formulas and the worked tables of
// docs/reference/samplers.md (sections 2, 5 and 7), and the three samplers run with an
// "oracle" model whose exact answer is known in closed form.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "cascadev/diffusion.hpp"

using namespace cascadev;
using namespace cascadev::diffusion;

namespace {

bool close_rel(double got, double want, double rel) {
    return std::abs(got - want) <= rel * std::max(std::abs(want), 1e-30);
}

template <class F>
void expect_error(F&& f, const std::string& needle) {
    try {
        f();
    } catch (const Error& e) {
        const std::string msg = e.what();
        BOOST_TEST(msg.find(needle) != std::string::npos, "message \"" << msg << "\" lacks \"" << needle << "\"");
        return;
    }
    BOOST_ERROR("no cascadev::Error thrown");
}

/// Deterministic pseudo-normal-ish values in [-1, 1), counting the draws.
struct CountingNoise {
    int draws = 0;
    std::uint32_t state = 12345;
    void fill(float* out, std::span<const index_t> shape) {
        std::size_t n = 1;
        for (index_t d : shape) n *= std::size_t(d);
        for (std::size_t i = 0; i < n; ++i) {
            state = state * 1664525u + 1013904223u;
            out[i] = float(double(state >> 8) / double(1u << 24)) * 2.0f - 1.0f;
        }
        ++draws;
    }
};
static_assert(NoiseSource<CountingNoise>);

Latent make_latent(index_t n, index_t c, index_t h, index_t w, double scale, int seed) {
    Latent t(n, c, h, w);
    for (index_t i = 0; i < t.size(); ++i) t.data()[i] = float(scale * std::sin(0.7 * double(i) + seed));
    return t;
}

/// A model that knows the data: the "clean" latent is x_ref[:, :4], and it returns the
/// exact noise for that clean latent under the schedule `a_of_t` (alpha_bar at the model
/// time t, in the VP form x = sqrt(a) c + sqrt(1 - a) eps).
template <class AOfT>
struct OracleModel {
    AOfT a_of_t;
    std::vector<float>* times = nullptr;
    Latent operator()(const LatentView& x, const LatentView& x_ref, float t) const {
        if (times) times->push_back(t);
        const double a = a_of_t(t);
        const double sa = std::sqrt(a), s1 = std::sqrt(1.0 - a);
        Latent eps(DExtents<4>::from_dims(x.dims()));
        for (index_t n = 0; n < x.extent(0); ++n)
            for (index_t c = 0; c < 4; ++c)
                for (index_t h = 0; h < x.extent(2); ++h)
                    for (index_t w = 0; w < x.extent(3); ++w)
                        eps(n, c, h, w) = float((double(x(n, c, h, w)) - sa * double(x_ref(n, c, h, w))) / s1);
        return eps;
    }
};
template <class AOfT>
OracleModel<AOfT> oracle(AOfT f, std::vector<float>* times = nullptr) { return {f, times}; }

double max_abs_diff_first4(const Latent& x, const Latent& ref) {
    double m = 0;
    for (index_t n = 0; n < x.extent(0); ++n)
        for (index_t c = 0; c < 4; ++c)
            for (index_t h = 0; h < x.extent(2); ++h)
                for (index_t w = 0; w < x.extent(3); ++w)
                    m = std::max(m, std::abs(double(x(n, c, h, w)) - double(ref(n, c, h, w))));
    return m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(schedule)

BOOST_AUTO_TEST_CASE(discrete_tables_match_naive_double) {
    const auto& s = discrete_schedule();
    double prod = 1.0;
    for (int n = 0; n < 1000; ++n) {
        const double beta = 0.0001 + (0.02 - 0.0001) * n / 999.0;
        BOOST_TEST(close_rel(s.betas[std::size_t(n)], beta, 1e-15));
        prod *= 1.0 - beta;
        BOOST_TEST(s.alphas_cumprod[std::size_t(n)] == float(prod));
        const double A = double(float(prod));
        BOOST_TEST(s.sigmas[std::size_t(n)] == float(std::sqrt((1.0 - A) / A)));
    }
    // values quoted in the spec
    BOOST_TEST(s.alphas_cumprod[0] == 0.9999f);
    BOOST_TEST(close_rel(s.alphas_cumprod[999], 4.0358e-5, 1e-4));
    BOOST_TEST(close_rel(s.sigmas[0], 0.0100013, 1e-5));
    BOOST_TEST(close_rel(s.sigmas[999], 157.40729, 1e-7));
}

BOOST_AUTO_TEST_CASE(euler_a_timesteps_and_sigmas) {
    BOOST_TEST(euler_a_timesteps(1) == std::vector<float>({0.0f}));
    BOOST_TEST(euler_a_timesteps(2) == std::vector<float>({999.0f, 0.0f}));
    BOOST_TEST(euler_a_timesteps(3) == std::vector<float>({999.0f, 499.5f, 0.0f}));
    for (int N : {4, 7, 8, 20, 50, 1000}) {
        const auto ts = euler_a_timesteps(N);
        BOOST_TEST_REQUIRE(ts.size() == std::size_t(N));
        for (int i = 0; i < N; ++i) BOOST_TEST(ts[std::size_t(i)] == float(999.0 * (N - 1 - i) / (N - 1)));
        const auto sig = euler_a_sigmas(N);
        BOOST_TEST_REQUIRE(sig.size() == std::size_t(N) + 1);
        BOOST_TEST(sig[std::size_t(N)] == 0.0f);
        const auto& train = discrete_schedule().sigmas;
        for (int i = 0; i < N; ++i) {
            const double t = ts[std::size_t(i)];
            const int k = std::min(int(std::floor(t)), 998);
            const double w = t - k;
            const double want = (1 - w) * train[std::size_t(k)] + w * train[std::size_t(k + 1)];
            BOOST_TEST(close_rel(sig[std::size_t(i)], want, 2e-7));
        }
    }
    // section 7 table (8 steps)
    const std::vector<double> t8 = {999.0, 856.28571, 713.57141, 570.85712, 428.14285, 285.42856, 142.71428, 0.0};
    const std::vector<double> s8 = {157.407, 41.2495, 13.2575, 5.16697, 2.35426, 1.15193, 0.494638, 0.0100013};
    const std::vector<double> inv8 = {0.00635282, 0.0242356, 0.0752153, 0.190011, 0.390956, 0.655552, 0.896342, 0.99995};
    const std::vector<double> up8 = {39.808, 12.554, 4.7584, 2.0957, 1.0046, 0.44671, 0.0099993, 0};
    const std::vector<double> down8 = {10.81, 4.2609, 2.0138, 1.0727, 0.56364, 0.2124, 0.00020225, 0};
    const auto ts = euler_a_timesteps(8);
    const auto sig = euler_a_sigmas(8);
    for (std::size_t i = 0; i < 8; ++i) {
        BOOST_TEST(close_rel(ts[i], t8[i], 1e-7));
        BOOST_TEST(close_rel(sig[i], s8[i], 1e-5));
        const EulerAStep st = euler_a_step(ts, sig, i);
        BOOST_TEST(close_rel(1.0 / st.in_scale, inv8[i], 1e-5));
        if (i < 7) {
            BOOST_TEST(close_rel(st.sigma_up, up8[i], 1e-4));
            BOOST_TEST(close_rel(st.sigma_down, down8[i], i == 6 ? 1e-3 : 1e-4));
        } else {
            BOOST_TEST(st.sigma_up == 0.0f);
            BOOST_TEST(st.sigma_down == 0.0f);
        }
    }
}

BOOST_AUTO_TEST_CASE(ddim_timesteps_and_alphas) {
    BOOST_TEST(ddim_timesteps(1) == std::vector<int>({0}));
    BOOST_TEST(ddim_timesteps(2) == std::vector<int>({500, 0}));
    BOOST_TEST(ddim_timesteps(3) == std::vector<int>({666, 333, 0}));
    BOOST_TEST(ddim_timesteps(8) == std::vector<int>({875, 750, 625, 500, 375, 250, 125, 0}));
    BOOST_TEST(ddim_timesteps(7).front() == 6 * 142);
    const std::vector<double> a8 = {4.23288e-4, 3.30016e-3, 0.0187583, 0.0777967, 0.235602, 0.521423, 0.843988, 0.9999};
    for (int i = 0; i < 8; ++i) {
        const DDIMStep s = ddim_step(8, i);
        BOOST_TEST(close_rel(s.alpha_bar, a8[std::size_t(i)], 1e-5));
        BOOST_TEST(s.alpha_prev == (i == 7 ? 1.0f : discrete_schedule().alphas_cumprod[std::size_t(s.t - 125)]));
    }
    expect_error([] { ddim_timesteps(0); }, "steps");
    expect_error([] { ddim_timesteps(1001); }, "steps");
}

BOOST_AUTO_TEST_CASE(vp_schedule_tables) {
    const VPSchedule& ns = vp_schedule();
    double acc = 0;
    for (int n = 0; n < 1000; ++n) {
        const double beta = 0.0001 + (0.02 - 0.0001) * n / 999.0;
        acc += std::log(1.0 - beta);
        BOOST_TEST(close_rel(ns.log_alpha_table_double()[std::size_t(n)], 0.5 * acc, 1e-12));
        BOOST_TEST(ns.log_alpha_table()[std::size_t(n)] == float(ns.log_alpha_table_double()[std::size_t(n)]));
        BOOST_TEST(ns.t_grid()[std::size_t(n)] == float((n + 1) / 1000.0));
        // at the grid points the interpolation returns the table
        BOOST_TEST(ns.log_alpha(ns.t_grid()[std::size_t(n)]) == ns.log_alpha_table()[std::size_t(n)]);
    }
    // lambda at t = 1 is the quoted -5.05884 (nothing is clipped)
    BOOST_TEST(close_rel(ns.lambda(1.0f), -5.05884, 1e-5));
}

BOOST_AUTO_TEST_CASE(dpms_times_and_scalars) {
    const std::vector<double> T8 = {1.0, 0.875125, 0.75025, 0.625375, 0.5005, 0.375625, 0.25075, 0.125875, 0.001};
    const std::vector<double> tin8 = {999.0, 874.125, 749.25, 624.375, 499.50003, 374.62503, 249.75, 124.87499};
    const std::vector<double> al8 = {0.00635282, 0.0207338, 0.0577744, 0.137503, 0.279626, 0.48608, 0.722556, 0.918837, 0.99995};
    const std::vector<double> sg8 = {0.99998, 0.999785, 0.99833, 0.990501, 0.960109, 0.873914, 0.691312, 0.394637, 0.0100008};
    const std::vector<double> lm8 = {-5.05884, -3.87578, -2.84954, -1.97457, -1.23359, -0.586608, 0.0442035, 0.845144, 4.60504};
    const auto T = dpms_times(8);
    const VPSchedule& ns = vp_schedule();
    BOOST_TEST_REQUIRE(T.size() == 9u);
    for (std::size_t k = 0; k <= 8; ++k) {
        BOOST_TEST(T[k] == float(1.0 + double(k) * (0.001 - 1.0) / 8.0));
        BOOST_TEST(close_rel(T[k], T8[k], 1e-6));
        if (k < 8) BOOST_TEST(close_rel(dpms_model_time(T[k]), tin8[k], 2e-7));
        BOOST_TEST(close_rel(ns.alpha(T[k]), al8[k], 1e-5));
        BOOST_TEST(close_rel(ns.sigma(T[k]), sg8[k], 1e-4));
        BOOST_TEST(close_rel(ns.lambda(T[k]), lm8[k], 1e-4));
        // the float32 scalars against the same formulas in double
        const double la = ns.log_alpha(T[k]);
        BOOST_TEST(close_rel(ns.alpha(T[k]), std::exp(la), 1e-6));
        BOOST_TEST(close_rel(ns.sigma(T[k]), std::sqrt(1 - std::exp(2 * la)), k == 8 ? 5e-4 : 1e-6));
    }
    BOOST_TEST(dpms_times(2) == std::vector<float>({1.0f, 0.5005f, 0.001f}));
    BOOST_TEST(dpms_model_time(0.5005f) == 499.50003f);
    BOOST_TEST(dpms_times(3) == std::vector<float>({1.0f, 0.667f, 0.334f, 0.001f}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(samplers)

// The oracle model knows the clean latent c = x_ref[:, :4] and predicts the exact noise,
// so every sampler's denoised estimate is c at every step: DDIM and Euler ancestral end
// at c exactly (their last step returns the estimate), DPM-Solver++ at
// alpha(T_N) c + sigma(T_N) (z - alpha(T_0) c) / sigma(T_0).

BOOST_AUTO_TEST_CASE(ddim_oracle_returns_clean_latent) {
    const auto x_ref = make_latent(2, 16, 3, 5, 0.9, 1);
    const auto z = make_latent(2, 4, 3, 5, 1.3, 2);
    for (int N : {1, 2, 3, 8, 20}) {
        std::vector<float> times;
        auto m = oracle([](float t) { return double(discrete_schedule().alphas_cumprod[std::size_t(t)]); }, &times);
        std::vector<int> seen;
        CountingNoise noise;
        const auto x = ddim(m, z.view(), x_ref.view(), N, noise, [&](int step, int total) {
            BOOST_TEST(total == N);
            seen.push_back(step);
        });
        BOOST_TEST(noise.draws == 0);
        BOOST_TEST(max_abs_diff_first4(x, x_ref) < 2e-6, "N = " << N);
        BOOST_TEST_REQUIRE(times.size() == std::size_t(N));
        const auto ts = ddim_timesteps(N);
        for (int i = 0; i < N; ++i) BOOST_TEST(times[std::size_t(i)] == float(ts[std::size_t(i)]));
        BOOST_TEST_REQUIRE(seen.size() == std::size_t(N));
        for (int i = 0; i < N; ++i) BOOST_TEST(seen[std::size_t(i)] == i + 1);
    }
}

BOOST_AUTO_TEST_CASE(ddim_clamps_to_unit_interval) {
    const auto x_ref = make_latent(1, 16, 4, 4, 5.0, 3);
    const auto z = make_latent(1, 4, 4, 4, 3.0, 4);
    auto m = [](const LatentView& x, const LatentView& r, float t) {
        Latent e(DExtents<4>::from_dims(x.dims()));
        for (index_t i = 0; i < e.size(); ++i) e.data()[i] = 0.5f * x.data()[i] - r.data()[i] * std::cos(t);
        return e;
    };
    for (int N : {1, 4}) {
        const auto x = ddim(m, z.view(), x_ref.view(), N);
        for (index_t i = 0; i < x.size(); ++i) BOOST_TEST(std::abs(x.data()[i]) <= 1.0f);
    }
}

BOOST_AUTO_TEST_CASE(euler_a_oracle_returns_clean_latent) {
    const auto x_ref = make_latent(2, 16, 3, 5, 0.9, 5);
    const auto z = make_latent(2, 4, 3, 5, 1.0, 6);
    for (int N : {1, 2, 3, 8, 20}) {
        std::vector<float> times;
        // the model input is x / sqrt(sigma^2 + 1): VP form with alpha_bar = 1 / (sigma(t)^2 + 1)
        auto m = oracle([](float t) { const double s = interp_sigma(t); return 1.0 / (s * s + 1.0); }, &times);
        CountingNoise noise;
        int calls = 0;
        const auto x = euler_ancestral(m, z.view(), x_ref.view(), N, noise, [&](int step, int total, const LatentView& st) {
            BOOST_TEST(step == ++calls);
            BOOST_TEST(total == N);
            BOOST_TEST(st.dims() == z.dims());
        });
        BOOST_TEST(noise.draws == N);  // one draw per step, the last one included
        BOOST_TEST(calls == N);
        // x0 = x - sigma * eps cancels with sigma_0 = 157: float32 error ~ 157 * 2^-24 * |x / sigma|
        BOOST_TEST(max_abs_diff_first4(x, x_ref) < 5e-5, "N = " << N);
        BOOST_TEST(times == euler_a_timesteps(N));
    }
}

BOOST_AUTO_TEST_CASE(dpm_solver_oracle_closed_form) {
    const auto x_ref = make_latent(2, 16, 3, 5, 0.9, 7);
    const auto z = make_latent(2, 4, 3, 5, 1.0, 8);
    const VPSchedule& ns = vp_schedule();
    for (int N : {2, 3, 5, 8, 20}) {
        std::vector<float> times;
        // the model time t_in = (T - 0.001) * 1000: alpha_bar = alpha(T)^2 at that T
        auto m = oracle([&](float t) { const double a = ns.alpha(t / 1000.0f + 0.001f); return a * a; }, &times);
        CountingNoise noise;
        int calls = 0;
        const auto x = dpm_solver(m, z.view(), x_ref.view(), N, noise, [&](int step, int) { BOOST_TEST(step == ++calls); });
        BOOST_TEST(noise.draws == 0);
        BOOST_TEST(calls == N);
        const auto T = dpms_times(N);
        BOOST_TEST_REQUIRE(times.size() == std::size_t(N));
        for (int k = 0; k < N; ++k) BOOST_TEST(times[std::size_t(k)] == dpms_model_time(T[std::size_t(k)]));
        const double a0 = ns.alpha(T[0]), s0 = ns.sigma(T[0]);
        const double aN = ns.alpha(T[std::size_t(N)]), sN = ns.sigma(T[std::size_t(N)]);
        double err = 0;
        for (index_t n = 0; n < 2; ++n)
            for (index_t c = 0; c < 4; ++c)
                for (index_t h = 0; h < 3; ++h)
                    for (index_t w = 0; w < 5; ++w) {
                        const double cl = x_ref(n, c, h, w);
                        const double want = aN * cl + sN * (double(z(n, c, h, w)) - a0 * cl) / s0;
                        err = std::max(err, std::abs(double(x(n, c, h, w)) - want));
                    }
        BOOST_TEST(err < 1e-4, "N = " << N << ": max error " << err);
    }
}

BOOST_AUTO_TEST_CASE(dpm_solver_rejects_one_step_and_shape_errors) {
    const auto x_ref = make_latent(1, 16, 2, 2, 1.0, 9);
    const auto z = make_latent(1, 4, 2, 2, 1.0, 10);
    auto m = [](const LatentView& x, const LatentView&, float) { return contiguous_copy(x); };
    expect_error([&] { dpm_solver(m, z.view(), x_ref.view(), 1); }, "at least 2 steps");
    const auto bad_ref = make_latent(2, 16, 2, 2, 1.0, 11);
    expect_error([&] { ddim(m, z.view(), bad_ref.view(), 2); }, "does not match");
    auto wrong = [](const LatentView&, const LatentView&, float) { return Latent(1, 4, 3, 3); };
    CountingNoise noise;
    expect_error([&] { euler_ancestral(wrong, z.view(), x_ref.view(), 2, noise); }, "eps must have the input's shape");
    expect_error([&] { euler_ancestral(m, z.view(), x_ref.view(), 0, noise); }, "steps");
}

BOOST_AUTO_TEST_CASE(sample_dispatch_and_names) {
    BOOST_TEST(int(parse_sampler("EulerA")) == int(Sampler::euler_a));
    BOOST_TEST(int(parse_sampler("ddim")) == int(Sampler::ddim));
    BOOST_TEST(int(parse_sampler("DPMS")) == int(Sampler::dpms));
    expect_error([] { parse_sampler("heun"); }, "unknown sampler");
    const auto x_ref = make_latent(1, 16, 2, 3, 0.5, 12);
    const auto z = make_latent(1, 4, 2, 3, 1.0, 13);
    auto m = oracle([](float t) { return double(discrete_schedule().alphas_cumprod[std::size_t(t)]); });
    CountingNoise noise;
    const auto x = sample(Sampler::ddim, m, z.view(), x_ref.view(), 4, noise);
    BOOST_TEST(max_abs_diff_first4(x, x_ref) < 2e-6);
}

BOOST_AUTO_TEST_SUITE_END()
