"""Writes the legacy-format (pre-zip) torch.save fixture of tests/io/test_pth_legacy.cpp.

    OMP_NUM_THREADS=1 /usr/bin/python3 tests/io/data/make_legacy_fixture.py [OUT_DIR]

legacy_state.pth is torch.save(obj, f, _use_new_zipfile_serialization=False) of
{'state_dict': <a module-style OrderedDict with _metadata>, 'epoch': 3}: F32, F16, BF16 and
I64 tensors, two tensors sharing one storage (one at an offset), a transposed
(non-contiguous) tensor and an nn.Parameter. legacy_state.safetensors holds the same
tensors (contiguous copies) for a bit-exact comparison. Debian's python3-torch 1.13 wrote
the checked-in files; the storage keys (pointer values) differ from run to run, the
tensors do not.
"""
import collections
import json
import os
import struct
import sys

import torch

_DT = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def save_safetensors(path, tensors):
    """The safetensors layout of ../../../shared/golden/gen/casefmt.py (sorted keys)."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        raw = t.view(torch.int16 if t.element_size() == 2 else torch.uint8).numpy().tobytes() \
            if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": _DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main(out):
    base = torch.arange(24, dtype=torch.float32) * 0.25 - 2.0
    sd = collections.OrderedDict()
    sd["conv.weight"] = base[:12].view(2, 3, 2, 1)  # shares its storage with conv.bias
    sd["conv.bias"] = base[12:14]                    # at offset 12 of that storage
    sd["proj.weight"] = torch.arange(6, dtype=torch.float32).view(2, 3).t()  # strides (1, 3)
    sd["half"] = torch.tensor([1.0, -2.5, 0.0999], dtype=torch.float16)
    sd["bf16"] = torch.tensor([[3.0, 0.15625], [-1.0, 1e-3]], dtype=torch.bfloat16)
    sd["bn.num_batches_tracked"] = torch.tensor(7, dtype=torch.int64)
    sd["param"] = torch.nn.Parameter(torch.linspace(-1, 1, 5))
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("conv", {"version": 1})])
    torch.save({"state_dict": sd, "epoch": 3}, os.path.join(out, "legacy_state.pth"),
               _use_new_zipfile_serialization=False)
    save_safetensors(os.path.join(out, "legacy_state.safetensors"), dict(sd))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
