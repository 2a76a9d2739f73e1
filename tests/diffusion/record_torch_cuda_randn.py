#!/usr/bin/env python3
"""Record PyTorch's CUDA torch.randn on this machine's GPU as a fixture for cascadev.

Run on a machine with an NVIDIA GPU and PyTorch (any 1.13 to 2.x build with CUDA):

    python3 tests/diffusion/record_torch_cuda_randn.py            # writes tests/diffusion/data/torch_cuda_randn_<gpu>.safetensors
    python3 tests/diffusion/record_torch_cuda_randn.py --full     # all 9 draws of the 1024^2 case (~27 MB instead of ~15 MB)

then build and run test_diffusion: its case torch_cuda_rng/matches_recorded_gpu_fixtures
compares diffusion::TorchCudaGenerator, set to this GPU's launch shape, with every draw
and every recorded generator offset (docs/noise.md). The file may also live elsewhere:
point $CASCADEV_TORCH_CUDA_RANDN at it (or at its folder).

Each sequence is `torch.manual_seed(seed)` followed by one `torch.randn(shape,
device='cuda')` per shape, on the default CUDA generator, as CascadeV's recon.sh draws
its noise (seed 42; z, then one tensor per Euler-ancestral step). Nothing else touches the
CUDA generator in between. The file holds float32 tensors "<sequence>/noise_<i>" and
string metadata: format, gpu_name, sm_count, max_threads_per_sm, torch_version,
cuda_version, and sequences (JSON: name, seed, shapes, offsets_after = the CUDA
generator's Philox offset after each draw, read from torch.cuda.get_rng_state()).

The safetensors file is written by this script itself (the format is a length, a JSON
header and the raw bytes), so only torch is needed.
"""

import argparse
import datetime
import json
import os
import re
import struct
import sys

FORMAT = "cascadev.torch_cuda_randn.v1"

# (name, seed, shapes). Sizes are chosen around the launch arithmetic: the grid is
# clamped above 256 * SMs * blocks-per-SM elements (T4 40960, A100 221184, H100 270336),
# and a thread loops more than once above 4x that (A100 884736, H100 1081344).
def sequences(full):
    tiny = [[8, 4, 8, 8]] * 9  # the tiny variant's refine of an 8 x 64 x 64 clip: z + 8 Euler-a draws
    released = [[8, 4, 128, 128]] * (9 if full else 3)  # recon.sh at 1024^2, 8 frames
    odd = [[1], [3], [16], [1000], [4097], [40961], [221185], [270337], [2, 3, 5, 7, 11, 13], [1200007]]
    return [
        ("tiny", 42, tiny),
        ("released_1024", 42, released),
        ("odd", 1234, odd),
        ("high_seed", 0x123456789ABCDEF0, [[1000], [300001]]),
    ]


def max_threads_per_sm(props):
    """cudaDeviceProp.maxThreadsPerMultiProcessor; from the compute capability for
    torch builds whose device properties do not expose it."""
    v = getattr(props, "max_threads_per_multi_processor", None)
    if v:
        return int(v), "torch.cuda.get_device_properties"
    table = {(7, 0): 2048, (7, 2): 2048, (7, 5): 1024, (8, 0): 2048, (8, 6): 1536, (8, 7): 1536,
             (8, 9): 1536, (9, 0): 2048, (10, 0): 2048, (12, 0): 1536}
    cc = (props.major, props.minor)
    if cc not in table:
        sys.exit(f"unknown max threads per SM for compute capability {cc}; add it to the table")
    return table[cc], f"compute capability {cc[0]}.{cc[1]} (CUDA programming guide table)"


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, dtype string e.g. "F32", shape list, bytes)."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    offset = 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    tmp = str(path) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, _, _, data in tensors:
            f.write(data)
    os.replace(tmp, path)


def tensor_bytes(t):
    t = t.detach().to("cpu").contiguous()
    try:
        return t.numpy().tobytes()
    except Exception:  # torch without numpy
        import torch
        return bytes(t.view(torch.uint8).reshape(-1).tolist())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="output file (default: tests/diffusion/data/torch_cuda_randn_<gpu>.safetensors)")
    ap.add_argument("--device", type=int, default=0, help="CUDA device index (default 0)")
    ap.add_argument("--full", action="store_true", help="all 9 draws of the 1024^2 case, not the first 3")
    args = ap.parse_args()

    import torch
    if not torch.cuda.is_available():
        sys.exit("no CUDA device visible to torch")
    torch.cuda.set_device(args.device)
    dev = torch.device("cuda", args.device)
    props = torch.cuda.get_device_properties(dev)
    name = torch.cuda.get_device_name(dev)
    mtps, mtps_source = max_threads_per_sm(props)

    def offset_now():
        state = torch.cuda.get_rng_state(dev)
        raw = bytes(state[-16:].tolist())  # the last 16 bytes: seed, then offset (uint64 little endian)
        return int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:], "little")

    tensors, seqs = [], []
    for seq_name, seed, shapes in sequences(args.full):
        torch.manual_seed(seed)  # the CPU and every CUDA generator, as recon.sh's set_random_seed
        s0, o0 = offset_now()
        if s0 != seed or o0 != 0:
            sys.exit(f"after manual_seed({seed}) the CUDA generator reports seed {s0}, offset {o0}")
        offsets = []
        for i, shape in enumerate(shapes):
            t = torch.randn(shape, device=dev)
            assert t.dtype == torch.float32 and t.is_contiguous()
            tensors.append((f"{seq_name}/noise_{i}", "F32", list(shape), tensor_bytes(t)))
            offsets.append(offset_now()[1])
        seqs.append({"name": seq_name, "seed": seed, "shapes": [list(s) for s in shapes], "offsets_after": offsets})
        print(f"{seq_name}: seed {seed}, {len(shapes)} draws, offsets {offsets}")

    metadata = {
        "format": FORMAT,
        "gpu_name": name,
        "sm_count": props.multi_processor_count,
        "max_threads_per_sm": mtps,
        "max_threads_per_sm_source": mtps_source,
        "compute_capability": f"{props.major}.{props.minor}",
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "recorded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "sequences": json.dumps(seqs),
    }
    if args.out:
        out = args.out
    else:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", f"torch_cuda_randn_{slug}.safetensors")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    write_safetensors(out, tensors, metadata)
    print(f"{name}: {props.multi_processor_count} SMs x {mtps} threads/SM; torch {torch.__version__}, "
          f"CUDA {torch.version.cuda}; wrote {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
