// sampler.euler_a, sampler.ddim, sampler.dpms (golden/components/sampler.*/README.md):
// run a sampler on recorded noise with the analytic model or the tiny DiT and return
// the result `x`, the state after each update `traj`, the model times `t_model` and,
// for Euler ancestral, the schedule's `sigmas`.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../registry.hpp"
#include "dit_variants.hpp"
#include "cascadev/diffusion.hpp"
#include "cascadev/models/dit.hpp"
#include "cascadev/pipeline/dit_eps_model.hpp"

namespace cascadev::golden {

/// The README's analytic model: eps = a * x + b * cos(t / 1000) * x_ref[:, 0:4]; the cosine
/// in double rounded to float32, the rest float32 in the reference's order.
struct AnalyticEpsModel {
    float a = 0.9f, b = 0.6f;

    diffusion::Latent operator()(const diffusion::LatentView& x, const diffusion::LatentView& x_ref, float t) const {
        const float c = float(std::cos(double(t) / 1000.0));
        const float bc = b * c;
        diffusion::Latent eps(DExtents<4>::from_dims(x.dims()));
        const index_t N = x.extent(0), C = x.extent(1), H = x.extent(2), W = x.extent(3);
        if (x_ref.extent(1) < C) fail("analytic model: x_ref has ", x_ref.extent(1), " channels, needs at least ", C);
        for (index_t n = 0; n < N; ++n)
            for (index_t ch = 0; ch < C; ++ch)
                for (index_t h = 0; h < H; ++h)
                    for (index_t w = 0; w < W; ++w) {
                        const float ax = a * x(n, ch, h, w);
                        const float br = bc * x_ref(n, ch, h, w);
                        eps(n, ch, h, w) = ax + br;
                    }
        return eps;
    }
};

/// The DiT as an eps model: the library's adapter (cascadev/pipeline/dit_eps_model.hpp).
using pipeline::DitEpsModel;

/// Wraps a model and records the time value of every call.
template <class M>
struct TimeRecorder {
    M& inner;
    std::vector<float>& times;
    auto operator()(const diffusion::LatentView& x, const diffusion::LatentView& x_ref, float t) {
        times.push_back(t);
        return inner(x, x_ref, t);
    }
};

namespace samplers_detail {

inline Tensor<float, DExtents<1>> vector_tensor(const std::vector<float>& v) {
    Tensor<float, DExtents<1>> t(index_t(v.size()));
    std::copy(v.begin(), v.end(), t.data());
    return t;
}

template <class M>
Outputs run_sampler_with(diffusion::Sampler kind, M& model, const GoldenCase& c, int steps) {
    const auto x_ref = c.io().load<float, 4>("x_ref");
    diffusion::RecordedNoise noise(c.io().path());
    const index_t N = x_ref.extent(0), H = x_ref.extent(2), W = x_ref.extent(3);
    const auto z = noise.next(DExtents<4>(N, 4, H, W));

    std::vector<float> times;
    TimeRecorder<M> rec{model, times};
    Tensor<float, DExtents<5>> traj(index_t(steps), N, 4, H, W);
    const index_t per = N * 4 * H * W;
    int recorded = 0;
    auto on_step = [&](int step, int total, const diffusion::LatentView& x) {
        if (total != steps || step != recorded + 1) fail("sampler reported step ", step, " of ", total, " out of order");
        std::memcpy(traj.data() + index_t(step - 1) * per, x.data(), std::size_t(per) * sizeof(float));
        recorded = step;
    };
    const auto x = diffusion::sample(kind, rec, z.view(), x_ref.view(), steps, noise, on_step);
    if (recorded != steps) fail("sampler reported ", recorded, " steps, expected ", steps);

    Outputs out;
    out["x"] = NamedArray::from(x);
    out["traj"] = NamedArray::from(traj);
    out["t_model"] = NamedArray::from(vector_tensor(times));
    if (kind == diffusion::Sampler::euler_a) out["sigmas"] = NamedArray::from(vector_tensor(diffusion::euler_a_sigmas(steps)));
    if (noise.remaining() != 0)
        fail(c.io().path().string(), ": the sampler left ", noise.remaining(), " recorded noise tensor(s) unused (next: ",
             noise.next_key(), ")");
    return out;
}

inline static Outputs run_sampler(diffusion::Sampler kind, const GoldenCase& c, const std::string& device) {
    require_cpu(device, c.component());
    const int steps = c.param<int>("steps");
    const auto model = c.param<std::string>("model");
    if (model == "analytic") {
        AnalyticEpsModel m{float(c.param<double>("a")), float(c.param<double>("b"))};
        return run_sampler_with(kind, m, c, steps);
    }
    if (model == "dit") {
        return dit_detail::with_variant(c, [&](auto v) {
            using V = decltype(v);
            models::Dit<V> dit;
            dit.load(c.weights());
            DitEpsModel<V> m{dit};
            return run_sampler_with(kind, m, c, steps);
        });
    }
    fail((c.dir() / "case.json").string(), ": unknown model \"", model, "\" (expected analytic or dit)");
}

}  // namespace samplers_detail

Outputs run_sampler_euler_a(const GoldenCase& c, const std::string& device) {
    return samplers_detail::run_sampler(diffusion::Sampler::euler_a, c, device);
}
Outputs run_sampler_ddim(const GoldenCase& c, const std::string& device) {
    return samplers_detail::run_sampler(diffusion::Sampler::ddim, c, device);
}
Outputs run_sampler_dpms(const GoldenCase& c, const std::string& device) {
    return samplers_detail::run_sampler(diffusion::Sampler::dpms, c, device);
}

}  // namespace cascadev::golden
