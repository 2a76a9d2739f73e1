#pragma once
// The reconstruction options shared by cascadev-reconstruct and cascadev-eval (defaults =
// recon.sh: --size 1024 --frames 8 --fps 8 --sampler euler_a --steps 8 --seed 42).
#include <boost/program_options.hpp>
#include <cstdint>
#include <string>

#include "cascadev/pipeline/reconstruct.hpp"
#include "clip_input.hpp"
#include "cli.hpp"
#include "noise_choice.hpp"

namespace cascadev::examples {

struct ReconArgs {
    std::string weights, variant = "released", sampler = "euler_a", rng = "torch", device = "cpu";
    index_t size = 1024, frames = 8, stride = 1, slice_size = 4;
    double fps = 8;
    int steps = 8;
    std::uint64_t seed = 42;

    void add_to(boost::program_options::options_description& od) {
        namespace po = boost::program_options;
        add_weight_options(od, weights, variant);
        od.add_options()(
            "size", po::value(&size)->default_value(size), "short edge after preprocessing (multiple of 32)")(
            "frames", po::value(&frames)->default_value(frames), "frames taken from each input (0 = all)")(
            "stride", po::value(&stride)->default_value(stride), "take every stride-th frame (2: 60 fps -> 30 fps)")(
            "fps", po::value(&fps)->default_value(fps), "frame rate of the written videos")(
            "sampler", po::value(&sampler)->default_value(sampler), "euler_a | ddim | dpms")(
            "steps", po::value(&steps)->default_value(steps), "sampler steps")(
            "seed", po::value(&seed)->default_value(seed), "noise seed (each clip starts from it, as recon.sh)")(
            "rng", po::value(&rng)->default_value(rng), rng_help)(
            "slice-size", po::value(&slice_size)->default_value(slice_size), "frames per SVD decoder slice")(
            "device", po::value(&device)->default_value(device), "cpu (the GPU model paths are not implemented yet)");
    }

    /// The pipeline options; throws UsageError / a clear error for bad values.
    pipeline::ReconstructOptions options() const {
        if (device != "cpu")
            throw UsageError("--device: only cpu is implemented (the CUDA model paths are not written yet), got \"" +
                             device + "\"");
        pipeline::ReconstructOptions opt;
        opt.encode.frames = frames;  // the clip is read with --frames / --stride applied
        opt.encode.preprocess.short_edge = size;
        try {
            opt.refine.sampler = diffusion::parse_sampler(sampler);
        } catch (const std::exception& e) {
            throw UsageError(std::string("--sampler: ") + e.what());
        }
        opt.refine.steps = steps;
        opt.refine.seed = seed;
        opt.decode.slice_size = slice_size;
        pipeline::check_refine_options(opt.refine);
        check_size_option(size);
        if (stride < 1) throw UsageError("--stride must be >= 1, got " + std::to_string(stride));
        make_noise(rng, seed);  // validates --rng
        return opt;
    }

    /// One line describing everything that changes the results (for resume checks).
    std::string settings_key() const {
        return "variant=" + variant + " size=" + std::to_string(size) + " frames=" + std::to_string(frames) +
               " stride=" + std::to_string(stride) +
               " sampler=" + sampler + " steps=" + std::to_string(steps) + " seed=" + std::to_string(seed) +
               " rng=" + rng + " slice_size=" + std::to_string(slice_size);
    }
};

}  // namespace cascadev::examples
