// cascadev-refine: the refine stage (docs/reference/samplers.md §6) as a program.
//
//   cascadev-refine IN.safetensors OUT.safetensors --weights DIT.safetensors
//                   [--variant xl2] [--key latent] [--out-key latent]
//                   [--sampler euler_a|ddim|dpms] [--steps 8] [--seed 42]
//                   [--rng torch|philox] [--noise NOISE.safetensors]
//   cascadev-refine --check OUT.safetensors [--out-key latent] [--input IN.safetensors --key latent]
//                   [--reference REF.safetensors --reference-key y --tol 1e-4]
//
// Reads the semantic latent [1, 16, T, h, w] (any float dtype) under --key, loads the DiT,
// refines with noise from PyTorch's CPU generator seeded with --seed (as
// torch.manual_seed(seed) right before the starting noise), or the counter-based Philox
// generator (--rng philox), or recorded tensors noise_0, noise_1, … (--noise FILE), and
// writes the refined latent [1, 4, T, 4h, 4w] (float32) under --out-key, atomically
// (a temporary file renamed into place: no partial output on any error).
// A progress line on stderr: step i/N, seconds per step, ETA.
//
// --check reloads an output file and verifies it: rank 5, [1, 4, …], finite values; with
// --input, the shape expected from that latent; with --reference, the relative L2 error
// against a reference tensor. Exit 0 on success, 1 on a failed check or run error,
// 2 on a usage error.
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "../common/noise_choice.hpp"
#include "../common/progress_bar.hpp"
#include "../common/variants.hpp"
#include "cascadev/diffusion.hpp"
#include "cascadev/io/safetensors.hpp"
#include "cascadev/io/weight_store.hpp"
#include "cascadev/models/dit.hpp"
#include "cascadev/pipeline/refine.hpp"

namespace po = boost::program_options;
using namespace cascadev;

namespace {

struct Args {
    std::string input, output, weights, variant = "xl2", key = "latent", out_key = "latent";
    std::string sampler = "euler_a", rng = "torch", noise;
    int steps = 8;
    std::uint64_t seed = 42;
    index_t sr_scale = 4;
    double scale_factor = 0.13025;
    bool quiet = false;
    // --check
    std::string check, reference, reference_key = "y";
    double tol = 1e-4;
};

int run_refine(const Args& a) {
    pipeline::RefineOptions opt;
    try {
        opt.sampler = diffusion::parse_sampler(a.sampler);
    } catch (const std::exception& e) {
        fail("--sampler: ", e.what());
    }
    opt.steps = a.steps;
    opt.seed = a.seed;
    opt.sr_scale = a.sr_scale;
    opt.scale_factor = float(a.scale_factor);
    try {
        pipeline::check_refine_options(opt);
    } catch (const std::exception& e) {
        fail("options (--sampler ", a.sampler, " --steps ", a.steps, " --sr-scale ", a.sr_scale, " --scale-factor ",
             a.scale_factor, "): ", e.what());
    }

    // Everything that can be checked is checked before the (long) sampling run.
    const io::SafetensorsReader in(a.input);
    if (!in.contains(a.key))
        fail(a.input, ": no tensor \"", a.key, "\" (--key); the file holds ", in.names().size(), " tensor(s)",
             in.names().empty() ? std::string() : ", e.g. \"" + in.names().front() + "\"");
    if (in.info(a.key).shape.size() != 5)
        fail(a.input, ": tensor \"", a.key, "\" has shape ", shape_str(in.info(a.key).shape),
             ", expected a latent [1, 16, T, h, w]");
    const auto lat = in.load<float, 5>(a.key);
    auto noise = examples::make_noise(a.rng, a.seed, a.noise);
    if (auto* rec = noise.target<diffusion::RecordedNoise>()) {
        // z, then one tensor per Euler-ancestral step: all must be there before the run starts.
        const std::size_t need = 1 + (opt.sampler == diffusion::Sampler::euler_a ? std::size_t(opt.steps) : 0);
        if (rec->count() < need)
            fail(a.noise, " (--noise): holds ", rec->count(), " recorded noise tensor(s) noise_0, noise_1, ...; ",
                 diffusion::sampler_name(opt.sampler), " with ", opt.steps, " steps needs ", need);
    }

    return examples::with_dit_variant(a.variant, [&](auto v) -> int {
        using V = decltype(v);
        try {
            pipeline::check_refine_input<V>(lat, opt);
        } catch (const std::exception& e) {
            fail(a.input, " (\"", a.key, "\"): ", e.what());
        }
        const io::WeightStore store(a.weights);
        models::Dit<V> dit;
        try {
            dit.load(store);
        } catch (const std::exception& e) {
            fail(a.weights, " (--weights, variant ", V::name, "): ", e.what());
        }

        examples::ProgressBar bar(!a.quiet);
        bar.start("refine");
        const auto y = pipeline::refine(dit, lat, opt, noise, [&](int s, int n) { bar("refine", s, n); });
        bar.close();
        if (auto* rec = noise.target<diffusion::RecordedNoise>(); rec && rec->remaining() != 0)
            std::fprintf(stderr, "cascadev-refine: note: %s: %zu recorded noise tensor(s) unused (next: %s)\n",
                         a.noise.c_str(), rec->remaining(), rec->next_key().c_str());

        io::SafetensorsWriter w;
        w.add(a.out_key, y);
        w.set_metadata("producer", "cascadev-refine");
        w.set_metadata("variant", V::name);
        w.set_metadata("sampler", diffusion::sampler_name(opt.sampler));
        w.set_metadata("steps", std::to_string(opt.steps));
        w.set_metadata("noise", a.noise.empty() ? a.rng + " seed " + std::to_string(a.seed) : "recorded " + a.noise);
        w.write(a.output);
        if (!a.quiet)
            std::fprintf(stderr, "cascadev-refine: %s %s -> %s %s \"%s\"\n", a.input.c_str(),
                         lat.extents().str().c_str(), a.output.c_str(), y.extents().str().c_str(),
                         a.out_key.c_str());
        return 0;
    });
}

int run_check(const Args& a) {
    const io::SafetensorsReader f(a.check);
    if (!f.contains(a.out_key)) fail(a.check, ": no tensor \"", a.out_key, "\" (--out-key)");
    const auto& info = f.info(a.out_key);
    if (info.shape.size() != 5 || info.shape[0] != 1 || info.shape[1] != 4)
        fail(a.check, ": tensor \"", a.out_key, "\" has shape ", shape_str(info.shape), ", expected [1, 4, T, H, W]");
    const auto y = f.load<float, 5>(a.out_key);
    for (index_t i = 0; i < y.size(); ++i)
        if (!std::isfinite(y.data()[i])) fail(a.check, ": tensor \"", a.out_key, "\" has a non-finite value at ", i);
    if (!a.input.empty()) {
        const io::SafetensorsReader in(a.input);
        const auto& li = in.info(a.key);
        if (li.shape.size() != 5) fail(a.input, ": tensor \"", a.key, "\" is not a rank-5 latent");
        const std::vector<index_t> want{1, 4, li.shape[2], li.shape[3] * a.sr_scale, li.shape[4] * a.sr_scale};
        if (info.shape != want)
            fail(a.check, ": tensor \"", a.out_key, "\" has shape ", shape_str(info.shape), ", but ", a.input,
                 " (\"", a.key, "\") refines to ", shape_str(want));
    }
    std::printf("%s: \"%s\" %s finite", a.check.c_str(), a.out_key.c_str(), shape_str(info.shape).c_str());
    int rc = 0;
    if (!a.reference.empty()) {
        const io::SafetensorsReader r(a.reference);
        const auto ref = r.load<float, 5>(a.reference_key);
        if (ref.dims() != y.dims())
            fail(a.reference, ": \"", a.reference_key, "\" has shape ", ref.extents().str(), ", output has ",
                 y.extents().str());
        double num = 0, den = 0;
        for (index_t i = 0; i < y.size(); ++i) {
            const double d = double(y.data()[i]) - double(ref.data()[i]);
            num += d * d;
            den += double(ref.data()[i]) * double(ref.data()[i]);
        }
        const double rel = std::sqrt(num / (den > 0 ? den : 1.0));
        std::printf("; rel-L2 vs %s \"%s\" = %.3g (tol %.3g) %s", a.reference.c_str(), a.reference_key.c_str(), rel,
                    a.tol, rel <= a.tol ? "PASS" : "FAIL");
        rc = rel <= a.tol ? 0 : 1;
    }
    std::printf("\n");
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    Args a;
    po::options_description opts(
        "cascadev-refine IN.safetensors OUT.safetensors --weights DIT.safetensors [options]\n"
        "cascadev-refine --check OUT.safetensors [options]");
    opts.add_options()("help,h", "show this help")                                                         //
        ("input,i", po::value(&a.input), "semantic latent [1, 16, T, h, w] (safetensors)")                   //
        ("output,o", po::value(&a.output), "refined latent [1, 4, T, 4h, 4w] to write (safetensors, atomic)")  //
        ("key", po::value(&a.key)->default_value(a.key), "tensor name of the input latent")                 //
        ("out-key", po::value(&a.out_key)->default_value(a.out_key), "tensor name of the output latent")     //
        ("weights,w", po::value(&a.weights), "DiT weights (safetensors or .pth, released key names)")        //
        ("variant", po::value(&a.variant)->default_value(a.variant), "DiT variant: xl2, xl2_d4, tiny, tiny8, tiny_s8")  //
        ("sampler", po::value(&a.sampler)->default_value(a.sampler), "euler_a, ddim or dpms")                //
        ("steps", po::value(&a.steps)->default_value(a.steps), "sampler steps (dpms: >= 2)")                 //
        ("seed", po::value(&a.seed)->default_value(a.seed), "noise seed")                                    //
        ("rng", po::value(&a.rng)->default_value(a.rng), examples::rng_help)                   //
        ("noise", po::value(&a.noise), "recorded noise noise_0, noise_1, ... (safetensors) instead of --rng")  //
        ("sr-scale", po::value(&a.sr_scale)->default_value(a.sr_scale), "spatial enlargement of the latent")  //
        ("scale-factor", po::value(&a.scale_factor)->default_value(a.scale_factor), "SVD latent scale")       //
        ("quiet,q", "no progress output")                                                                    //
        ("check", po::value(&a.check), "verify an output file instead of refining")                          //
        ("reference", po::value(&a.reference), "--check: compare with this file's tensor")                   //
        ("reference-key", po::value(&a.reference_key)->default_value(a.reference_key), "--check: its name")  //
        ("tol", po::value(&a.tol)->default_value(a.tol), "--check: relative L2 tolerance");
    po::positional_options_description pos;
    pos.add("input", 1).add("output", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(opts).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::fprintf(stderr, "cascadev-refine: %s (try --help)\n", e.what());
        return 2;
    }
    if (vm.count("help")) {
        std::cout << opts;
        return 0;
    }
    a.quiet = vm.count("quiet") != 0;
    try {
        if (!a.check.empty()) return run_check(a);
        if (a.input.empty() || a.output.empty() || a.weights.empty()) {
            std::fprintf(stderr, "cascadev-refine: need an input latent, an output file and --weights (try --help)\n");
            return 2;
        }
        if (a.steps < 1) {
            std::fprintf(stderr, "cascadev-refine: --steps must be >= 1, got %d\n", a.steps);
            return 2;
        }
        if (!a.noise.empty() && vm["rng"].defaulted() == false) {
            std::fprintf(stderr, "cascadev-refine: --noise and --rng are exclusive\n");
            return 2;
        }
        return run_refine(a);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cascadev-refine: %s\n", e.what());
        return 1;
    }
}
