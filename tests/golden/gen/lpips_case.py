"""Golden cases of the `lpips` component and the legacy-format LPIPS fixtures.

    OMP_NUM_THREADS=1 /usr/bin/python3 tests/golden/gen/lpips_case.py \
        [--cases tests/golden/components] [--fixtures tests/models/data/lpips_tiny]

A PyTorch port of LPIPS v0.1 with the AlexNet trunk (the `lpips` package's
`lpips.LPIPS(net='alex')(in0, in1)`, normalize=False, spatial=False), written from the
architecture (docs/lpips.md), with seeded random weights (the published ones cannot be
downloaded here). Debian's python3-torch 1.13 and python3-torchvision 0.14 wrote the
vendored files; the format is ../shared/golden/FORMAT.md (the writer below produces the same
layout as gen/casefmt.py there).

The port has since been run against the real package (lpips 0.1.4 with its real lin weights,
lpips_package_case.py, which imports this module): on the same weights and inputs it gives
the package's outputs bit for bit.

Cases (tests/golden/components/lpips/<case>):
  alex_64x64       the published shapes (channels 64, 192, 384, 256, 256; trunk from
                   torchvision.models.alexnet(), random init), 2 frames of 64 x 64 in [-1, 1];
                   trunk weights rounded to float16 and stored as F16 (the float32 trunk is
                   9.9 MB, too big to vendor); the reference ran on the rounded values.
  tiny_u8_70x90    the alex_tiny test variant (channels 4, 8, 12, 8, 8), 2 uint8 frames of
                   70 x 90 x 3 converted as lpips.im2tensor does (x / 127.5 - 1 in float64,
                   then float32): the clip entry point.
  tiny_identical   alex_tiny, 3 frames of 48 x 40, both inputs identical: distance 0.

Weights keys: `alexnet.features.{0,3,6,8,10}.{weight,bias}` (torchvision's names behind the
prefix `alexnet.`) and `lin.lin{k}.model.1.weight` (lpips' names behind the prefix `lin.`).

Fixtures (tests/models/data/lpips_tiny): the tiny_u8_70x90 weights as the published files are
laid out and serialised: alexnet-owt-7be5be79.pth (a torchvision-style state dict: features.*
and tiny classifier.* tensors, which a loader must ignore) and alex.pth (lin{k}.model.1.weight),
both written with torch.save(..., _use_new_zipfile_serialization=False), the legacy format.
"""
import argparse
import collections
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))

CHANNELS = {"alex": [64, 192, 384, 256, 256], "alex_tiny": [4, 8, 12, 8, 8]}


# --------------------------------------------------------------------------------------
# The model (lpips/lpips.py, lpips/pretrained_networks.py, lpips/__init__.py)
# --------------------------------------------------------------------------------------

class ScalingLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("shift", torch.Tensor([-.030, -.088, -.188])[None, :, None, None])
        self.register_buffer("scale", torch.Tensor([.458, .448, .450])[None, :, None, None])

    def forward(self, inp):
        return (inp - self.shift) / self.scale


def alexnet_features(ch):
    """torchvision's AlexNet.features with the given conv widths (indices as torchvision)."""
    c0, c1, c2, c3, c4 = ch
    return nn.Sequential(
        nn.Conv2d(3, c0, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c0, c1, kernel_size=5, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c1, c2, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(c2, c3, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(c3, c4, kernel_size=3, padding=1), nn.ReLU(inplace=True),
    )


class AlexTaps(nn.Module):
    """lpips.pretrained_networks.alexnet: the five ReLU outputs of features."""

    def __init__(self, features):
        super().__init__()
        self.slice1 = features[0:2]
        self.slice2 = features[2:5]
        self.slice3 = features[5:8]
        self.slice4 = features[8:10]
        self.slice5 = features[10:12]

    def forward(self, x):
        h1 = self.slice1(x)
        h2 = self.slice2(h1)
        h3 = self.slice3(h2)
        h4 = self.slice4(h3)
        h5 = self.slice5(h4)
        return [h1, h2, h3, h4, h5]


class NetLinLayer(nn.Module):
    def __init__(self, chn_in, chn_out=1):
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(chn_in, chn_out, 1, stride=1, padding=0, bias=False))

    def forward(self, x):
        return self.model(x)


def normalize_tensor(in_feat, eps=1e-10):
    norm_factor = torch.sqrt(torch.sum(in_feat ** 2, dim=1, keepdim=True))
    return in_feat / (norm_factor + eps)


def spatial_average(in_tens, keepdim=True):
    return in_tens.mean([2, 3], keepdim=keepdim)


class LPIPS(nn.Module):
    """lpips.LPIPS(net='alex', version='0.1', lpips=True, spatial=False), eval mode."""

    def __init__(self, features, ch):
        super().__init__()
        self.scaling_layer = ScalingLayer()
        self.net = AlexTaps(features)
        self.lins = nn.ModuleList([NetLinLayer(c) for c in ch])

    def forward(self, in0, in1, layers=False):
        in0_input, in1_input = self.scaling_layer(in0), self.scaling_layer(in1)
        outs0, outs1 = self.net(in0_input), self.net(in1_input)
        res = []
        for kk in range(len(self.lins)):
            f0, f1 = normalize_tensor(outs0[kk]), normalize_tensor(outs1[kk])
            diff = (f0 - f1) ** 2
            res.append(spatial_average(self.lins[kk](diff), keepdim=True))
        val = res[0]
        for r in res[1:]:
            val = val + r
        return (val, res) if layers else val


def im2tensor(image, factor=255. / 2., cent=1.):
    """lpips.im2tensor on a [T, H, W, 3] uint8 clip."""
    return torch.Tensor((image / factor - cent).transpose((0, 3, 1, 2)))


# --------------------------------------------------------------------------------------
# Writing (FORMAT.md)
# --------------------------------------------------------------------------------------

_DT = {np.dtype("float32"): "F32", np.dtype("float16"): "F16", np.dtype("uint8"): "U8"}


def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = tensors[name]
        if hasattr(a, "detach"):
            a = a.detach().cpu().contiguous().numpy()
        a = np.ascontiguousarray(a)
        raw = a.tobytes()
        header[name] = {"dtype": _DT[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


SHARED_TRUNK = "alexnet_trunk_f16.safetensors"  # beside the case folders, used by several cases


def write_case(root, name, *, inputs, outputs, params, weights, tol, note, shared_trunk=False):
    """Writes one case folder. With shared_trunk the "alexnet." weights go to the one file
    lpips/SHARED_TRUNK (the same random F16 trunk serves several cases: vendored once) and
    case.json lists both files."""
    d = os.path.join(root, "lpips", name)
    os.makedirs(d, exist_ok=True)
    io = dict(inputs)
    io.update(outputs)
    save_safetensors(os.path.join(d, "io.safetensors"), io)
    files = "weights.safetensors"
    if shared_trunk:
        trunk = {k: v for k, v in weights.items() if k.startswith("alexnet.")}
        weights = {k: v for k, v in weights.items() if not k.startswith("alexnet.")}
        save_safetensors(os.path.join(root, "lpips", SHARED_TRUNK), trunk)
        files = ["weights.safetensors", "../" + SHARED_TRUNK]
    save_safetensors(os.path.join(d, "weights.safetensors"), weights)
    case = {"component": "lpips", "variant": None, "params": params, "inputs": sorted(inputs),
            "outputs": {k: {"tol": tol} for k in sorted(outputs)}, "io": "io.safetensors",
            "weights": files, "note": note}
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(case, f, indent=2, sort_keys=True)
        f.write("\n")
    return d


# --------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------

TOL = 1e-5  # rel-L2 for a float32 implementation (see docs/lpips.md for the measured error)


def make_model(variant, seed, f16_trunk):
    torch.manual_seed(seed)
    ch = CHANNELS[variant]
    if variant == "alex":
        features = torchvision.models.alexnet(weights=None).features
        # The port's layer table is torchvision's (whose features end with one more max pool).
        assert str(features[:12]) == str(alexnet_features(ch))
    else:
        features = alexnet_features(ch)
    model = LPIPS(features, ch).eval()
    with torch.no_grad():
        if f16_trunk:
            for p in model.net.parameters():
                p.copy_(p.half().float())
        for lin in model.lins:  # published lin weights are non-negative
            w = lin.model[1].weight
            w.copy_(torch.rand(w.shape) * 0.5)
    return model, ch


def trunk_state(model):
    """features.* keys as torchvision names them (the slices share the modules)."""
    f = model.net
    mods = {0: f.slice1[0], 3: f.slice2[1], 6: f.slice3[1], 8: f.slice4[0], 10: f.slice5[0]}
    out = collections.OrderedDict()
    for i, m in mods.items():
        out[f"features.{i}.weight"] = m.weight.detach().clone()
        out[f"features.{i}.bias"] = m.bias.detach().clone()
    return out


def lin_state(model):
    return collections.OrderedDict(
        (f"lin{k}.model.1.weight", l.model[1].weight.detach().clone()) for k, l in enumerate(model.lins))


def case_weights(model, f16_trunk):
    w = {}
    for k, v in trunk_state(model).items():
        w["alexnet." + k] = v.half() if f16_trunk else v
    for k, v in lin_state(model).items():
        w["lin." + k] = v
    return w


def run(model, x0, x1):
    with torch.no_grad():
        d, layers = model(x0, x1, layers=True)
    d = d.reshape(-1)
    layers = torch.stack([r.reshape(-1) for r in layers], dim=1)
    return d, layers


def smooth_image(rng, n, h, w):
    """Frames in [-1, 1] with structure: low-frequency colour fields plus noise."""
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    out = np.empty((n, 3, h, w), np.float64)
    for i in range(n):
        for c in range(3):
            a, b, p = rng.uniform(1, 6, 3)
            out[i, c] = 0.6 * np.sin(a * xx * np.pi + p) * np.cos(b * yy * np.pi) + 0.25 * rng.standard_normal((h, w))
    return np.clip(out, -1, 1).astype(np.float32)


def make_cases(root, fixtures):
    rng = np.random.default_rng(2024)

    # alex_64x64: published shapes, F16 trunk.
    model, ch = make_model("alex", 11, f16_trunk=True)
    x0 = smooth_image(rng, 2, 64, 64)
    x1 = x0.copy()
    x1[0] = np.clip(x0[0] + 0.15 * rng.standard_normal(x0[0].shape), -1, 1)  # noisy copy
    x1[1] = smooth_image(rng, 1, 64, 64)[0]                                      # unrelated
    x0t, x1t = torch.from_numpy(x0), torch.from_numpy(x1)
    d, layers = run(model, x0t, x1t)
    d10, _ = run(model, x1t, x0t)
    assert torch.equal(d, d10)  # symmetric: (f0 - f1)^2 == (f1 - f0)^2 exactly
    write_case(root, "alex_64x64", inputs={"x0": x0t, "x1": x1t}, outputs={"d": d, "layers": layers},
               params={"channels": ch, "input": "f32"}, weights=case_weights(model, True), tol=TOL, shared_trunk=True,
               note=f"published AlexNet shapes, random trunk rounded to F16; 2 frames 64x64; "
                    f"d = {[round(float(v), 5) for v in d]}")

    # tiny_u8_70x90: the clip entry point; also the legacy fixtures.
    model, ch = make_model("alex_tiny", 12, f16_trunk=False)
    a = rng.integers(0, 256, (2, 70, 90, 3), dtype=np.uint8)
    a = (0.5 * a + 0.5 * np.linspace(0, 255, 90)[None, None, :, None]).astype(np.uint8)
    b = np.clip(a.astype(np.int32) + rng.integers(-40, 41, a.shape), 0, 255).astype(np.uint8)
    b[1] = b[1, ::-1]  # second frame flipped upside down
    d, layers = run(model, im2tensor(a), im2tensor(b))
    write_case(root, "tiny_u8_70x90", inputs={"a": a, "b": b}, outputs={"d": d, "layers": layers},
               params={"channels": ch, "input": "u8"}, weights=case_weights(model, False), tol=TOL,
               note=f"alex_tiny variant; uint8 clips 2x70x90x3 as lpips.im2tensor converts them; "
                    f"d = {[round(float(v), 5) for v in d]}")
    if fixtures:
        os.makedirs(fixtures, exist_ok=True)
        trunk = trunk_state(model)
        g = torch.Generator().manual_seed(5)
        # A tiny stand-in for torchvision's classifier: present in the published file, ignored.
        for k, shape in [("classifier.1.weight", (6, 8)), ("classifier.1.bias", (6,)),
                         ("classifier.4.weight", (6, 6)), ("classifier.4.bias", (6,)),
                         ("classifier.6.weight", (3, 6)), ("classifier.6.bias", (3,))]:
            trunk[k] = torch.randn(shape, generator=g)
        torch.save(trunk, os.path.join(fixtures, "alexnet-owt-7be5be79.pth"), _use_new_zipfile_serialization=False)
        torch.save(lin_state(model), os.path.join(fixtures, "alex.pth"), _use_new_zipfile_serialization=False)

    # tiny_identical: distance 0.
    model, ch = make_model("alex_tiny", 13, f16_trunk=False)
    x0 = smooth_image(rng, 3, 48, 40)
    x0t = torch.from_numpy(x0)
    d, layers = run(model, x0t, x0t.clone())
    assert float(d.abs().max()) == 0.0
    write_case(root, "tiny_identical", inputs={"x0": x0t, "x1": x0t.clone()}, outputs={"d": d, "layers": layers},
               params={"channels": ch, "input": "f32"}, weights=case_weights(model, False), tol=TOL,
               note="alex_tiny variant; identical inputs, 3 frames 48x40: every distance is exactly 0")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=os.path.join(REPO, "tests", "golden", "components"))
    ap.add_argument("--fixtures", default=os.path.join(REPO, "tests", "models", "data", "lpips_tiny"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    make_cases(args.cases, args.fixtures)
