#pragma once
// The video layer: preprocessing of decoded frames into the model's input (OpenCV-exact
// box blur and bilinear resize), model video -> uint8 frames, side-by-side views, and the
// PSNR / SSIM reconstruction metrics.
#include "cascadev/video/metrics.hpp"
#include "cascadev/video/preprocess.hpp"
