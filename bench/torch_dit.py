#!/usr/bin/env python3
"""PyTorch CPU baseline for bench/bench_dit.cpp (cascadev-bench-dit): the same cases, shapes
and thread count, one JSON line per case, same fields.

    torch_dit.py [--case NAME] [--repeats N] [--threads N] [--attn sdpa|matmul]

The model is the reference port /work/shared/golden/gen/dit_ref.py (written from
docs/reference/dit.md; its folder is put on sys.path, or set CASCADEV_DIT_REF_DIR), with
random weights (dit_ref.random_dit, seed 7; same shapes as cascadev's, not the same values).
Cases:
  tiny_4x16   dit.tiny forward, 4 frames of 16x16 latent pixels
  tiny_8x32   dit.tiny forward_with_dpmsolver, 8 frames of 32x32 (3 windows x 9 tiles)
  tiny_8x64   dit.tiny forward_with_dpmsolver, 8 frames of 64x64 (3 windows x 25 tiles)
  xl2_full    one dit.xl2 block, full 3-D attention, 8x16x16 tokens
  xl2_grid14  one dit.xl2 block, grid [1,4] attention (the reference's gather/scatter)
--attn sdpa runs the attention core through F.scaled_dot_product_attention (PyTorch >= 2.0's
fused CPU kernel, what a PyTorch deployment would use); --attn matmul keeps the reference
port's explicit softmax(q k^T / sqrt(d)) v, which materialises the score matrix; --attn auto
(default) picks sdpa where the torch has it, else matmul (Debian bookworm's torch 1.13).
Best of `repeats` timed runs after one warm-up, under torch.inference_mode().
"""
import argparse
import json
import math
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REF_DIR = os.environ.get("CASCADEV_DIT_REF_DIR", "/work/shared/golden/gen")
sys.path.insert(0, REF_DIR)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import dit_ref  # noqa: E402

WEIGHT_SEED = 7


def sdpa_attention_forward(self, x):
    B, N, C = x.shape
    hd = C // self.heads
    qkv = self.qkv(x).view(B, N, 3, self.heads, hd).permute(2, 0, 3, 1, 4)  # [3, B, heads, N, hd]
    o = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
    return self.proj(o.transpose(1, 2).reshape(B, N, C))


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def current_rss_mb():
    with open("/proc/self/statm") as f:
        resident = int(f.read().split()[1])
    return resident * os.sysconf("SC_PAGESIZE") / (1024.0 * 1024.0)


def best_seconds(repeats, run):
    run()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def report(args, name, what, tokens, model_tokens, secs, before):
    print(json.dumps({
        "impl": "torch", "case": name, "what": what, "threads": torch.get_num_threads(),
        "repeats": args.repeats, "tokens": tokens, "model_tokens": model_tokens,
        "seconds": round(secs, 6), "tokens_per_s": round(tokens / secs, 1),
        "model_tokens_per_s": round(model_tokens / secs, 1), "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1), "torch": torch.__version__, "attn": args.attn,
    }), flush=True)


def run_tiny(args, name, n, s):
    cfg = dit_ref.load_variants()["dit.tiny"]
    m = dit_ref.random_dit(cfg, WEIGHT_SEED)
    S, L, p = cfg["input_size"], cfg["lats_per_vid"], cfg["patch"]
    g = torch.Generator().manual_seed(1234)
    x = torch.randn(n, cfg["in_channels"], s, s, generator=g)
    tau = 500.0 + torch.arange(n, dtype=torch.float32)
    plain = s == S and n == L
    tiles = len(m.tile_starts(s))
    windows = len(m.window_starts(n))
    model_tokens = n * (S // p) ** 2 if plain else windows * tiles * tiles * L * (S // p) ** 2
    tokens = n * (s // p) ** 2
    before = current_rss_mb()
    if plain:
        secs = best_seconds(args.repeats, lambda: m.forward(x, tau))
    else:
        secs = best_seconds(args.repeats, lambda: m.forward_with_dpmsolver(x, tau))
    report(args, name, "dit.tiny forward" if plain else "dit.tiny forward_with_dpmsolver",
           tokens, model_tokens, secs, before)


def run_xl2_block(args, name, strides):
    cfg = dit_ref.load_variants()["dit.xl2"]
    C = cfg["hidden"]
    torch.manual_seed(WEIGHT_SEED)
    blk = dit_ref.Block(C, cfg["heads"], cfg["mlp_ratio"])
    with torch.no_grad():
        for pname, prm in blk.named_parameters():
            std = 0.3 if pname.endswith("scale_shift_table") else (
                0.05 if pname.endswith(".bias") else 1.0 / math.sqrt(prm.shape[-1]))
            prm.copy_(torch.randn(prm.shape) * std)
    blk.eval()
    # block_forward of the reference port, on a one-block model (same gather/scatter).
    holder = dit_ref.DiT.__new__(dit_ref.DiT)
    torch.nn.Module.__init__(holder)
    holder.blocks = torch.nn.ModuleList([blk])
    frames, gsz = 8, 16
    M = frames * gsz * gsz
    gen = torch.Generator().manual_seed(1234)
    x = torch.randn(1, M, C, generator=gen)
    t6 = 0.1 * torch.randn(1, 6 * C, generator=gen)
    before = current_rss_mb()
    secs = best_seconds(args.repeats,
                        lambda: dit_ref.DiT.block_forward(holder, 0, x, t6, strides, frames, gsz, gsz))
    what = "dit.xl2 block, full 3-D" if strides is None else f"dit.xl2 block, grid [{strides[0]},{strides[1]}]"
    report(args, name, what, M, M, secs, before)


CASES = {
    "tiny_4x16": lambda a: run_tiny(a, "tiny_4x16", 4, 16),
    "tiny_8x32": lambda a: run_tiny(a, "tiny_8x32", 8, 32),
    "tiny_8x64": lambda a: run_tiny(a, "tiny_8x64", 8, 64),
    "xl2_full": lambda a: run_xl2_block(a, "xl2_full", None),
    "xl2_grid14": lambda a: run_xl2_block(a, "xl2_grid14", (1, 4)),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", choices=sorted(CASES))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "0") or 0))
    ap.add_argument("--attn", choices=["auto", "sdpa", "matmul"], default="auto")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.attn == "auto":
        args.attn = "sdpa" if hasattr(F, "scaled_dot_product_attention") else "matmul"
    if args.attn == "sdpa":
        dit_ref.Attention.forward = sdpa_attention_forward
    with torch.inference_mode():
        for name, run in CASES.items():
            if args.case is None or args.case == name:
                run(args)


if __name__ == "__main__":
    main()
