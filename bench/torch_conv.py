#!/usr/bin/env python3
"""PyTorch CPU baseline for cascadev-bench-conv (bench/run_cpu_bench.sh runs both).

    python3 bench/torch_conv.py [--case encoder|decoder] [--frames T] [--size S]
                                [--slice N] [--repeats N] [--warmup N] [--threads N]

Same work as bench/bench_conv.cpp, float32, random weights (throughput does not depend on
the values):
  encoder  torchvision's efficientnet_v2_s().features (randomly initialised, eval mode) and
           the 1280->16 mapper (1x1 conv without bias + non-affine BatchNorm), frame by frame
           as CascadeV's reference encodes, after 0.5*(x+1) and the ImageNet normalisation:
           video [1, 3, T, S, S] -> latent [1, 16, T, S/32, S/32]  (default T = 8, S = 256)
  decoder  SVD's temporal VAE decoder at the released widths: the reference port
           conv_ref.SVDDecoder + conv_ref.svd_decode from the team's golden generator
           ($CASCADEV_CONV_REF_DIR, default ../shared/golden/gen beside the repository),
           latent [1, 4, T, S/8, S/8] -> video [1, 3, T, S, S] in slices of N frames
           (default T = 4, slice 4)
Best of `repeats` timed runs after `warmup` untimed ones, under torch.inference_mode().
Prints one JSON object per case (one line), like cascadev-bench-conv, plus torch's version
and thread count. Needs Debian 12's python3-torch and python3-torchvision (system python3).
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def current_rss_mb():
    with open("/proc/self/statm") as f:
        resident = int(f.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE") / (1024.0 * 1024.0)


def best_seconds(warmup, repeats, fn):
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def conv_ref_module():
    d = os.environ.get("CASCADEV_CONV_REF_DIR",
                       os.path.join(HERE, "..", "..", "shared", "golden", "gen"))
    d = os.path.abspath(d)
    if not os.path.exists(os.path.join(d, "conv_ref.py")):
        raise SystemExit(f"torch_conv.py: no conv_ref.py in {d} (set CASCADEV_CONV_REF_DIR)")
    sys.path.insert(0, d)
    sys.dont_write_bytecode = True
    import conv_ref  # noqa: E402
    return conv_ref


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        from torchvision.models import efficientnet_v2_s
        self.backbone = efficientnet_v2_s(weights=None).features
        self.mapper = nn.Sequential(nn.Conv2d(1280, 16, 1, bias=False),
                                    nn.BatchNorm2d(16, affine=False))

    def forward(self, x):
        return self.mapper(self.backbone(x))


def encode(enc, video):
    b, c, t, h, w = video.shape
    x = video.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    x = (0.5 * (x + 1) - mean) / std
    out = torch.cat([enc(x[i:i + 1]) for i in range(x.shape[0])])  # frame by frame
    n, co, ho, wo = out.shape
    return out.reshape(b, t, co, ho, wo).permute(0, 2, 1, 3, 4).contiguous()


def report(name, what, shape, frames, secs, before, args, sink):
    print(json.dumps({
        "impl": "torch", "torch": torch.__version__, "case": name, "what": what,
        "input": str(list(shape)), "threads": torch.get_num_threads(),
        "warmup": args.warmup, "repeats": args.repeats, "frames": frames,
        "seconds": round(secs, 6), "frames_per_s": round(frames / secs, 4),
        "rss_before_mb": round(before, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
        "checksum": sink}), flush=True)


def run_encoder(args):
    T, S = args.frames or 8, args.size
    torch.manual_seed(7)
    enc = Encoder().eval()
    g = torch.Generator().manual_seed(1)
    video = torch.tanh(torch.randn(1, 3, T, S, S, generator=g))
    before = current_rss_mb()
    sink = [0.0]

    def run():
        with torch.inference_mode():
            sink[0] = float(encode(enc, video).double().sum())
    secs = best_seconds(args.warmup, args.repeats, run)
    report("encoder", "torchvision efficientnet_v2_s features + 1280->16 mapper",
           video.shape, T, secs, before, args, sink[0])


def run_decoder(args):
    conv_ref = conv_ref_module()
    cfg = conv_ref.load_variants()["svd.released"]
    T, h = args.frames or 4, args.size // 8
    dec = conv_ref.random_svd(cfg, 7)
    g = torch.Generator().manual_seed(2)
    latent = torch.randn(1, cfg["latent_channels"], T, h, h, generator=g)
    before = current_rss_mb()
    sink = [0.0]

    def run():
        with torch.inference_mode():
            sink[0] = float(conv_ref.svd_decode(dec, latent, args.slice).double().sum())
    secs = best_seconds(args.warmup, args.repeats, run)
    report("decoder", f"conv_ref SVDDecoder (svd.released), slice {args.slice}",
           latent.shape, T, secs, before, args, sink[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", default="", choices=["", "encoder", "decoder"])
    ap.add_argument("--frames", type=int, default=0)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--slice", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "0") or 0))
    args = ap.parse_args()
    if args.size % 32:
        raise SystemExit("torch_conv.py: --size must be a multiple of 32")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.case in ("", "encoder"):
        run_encoder(args)
    if args.case in ("", "decoder"):
        run_decoder(args)


if __name__ == "__main__":
    main()
