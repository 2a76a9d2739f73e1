#pragma once
// The diffusion layer: noise sources, the noise schedules and the three samplers
// (Euler ancestral, DDIM, DPM-Solver++ 2M) as templates over a model eps = model(x, x_ref, t).
#include "cascadev/diffusion/ddim.hpp"
#include "cascadev/diffusion/dpm_solver.hpp"
#include "cascadev/diffusion/euler_ancestral.hpp"
#include "cascadev/diffusion/model.hpp"
#include "cascadev/diffusion/noise.hpp"
#include "cascadev/diffusion/sampler.hpp"
#include "cascadev/diffusion/schedule.hpp"
#include "cascadev/diffusion/torch_cuda_rng.hpp"
