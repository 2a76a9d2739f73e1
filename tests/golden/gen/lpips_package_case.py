"""The `lpips` golden case computed by the real `lpips` package, and its vendored lin weights.

    pip download lpips==0.1.4 --no-deps -d /tmp/lpips_pkg
    pip install --no-deps --target /tmp/lpips_site /tmp/lpips_pkg/lpips-0.1.4-py3-none-any.whl
    OMP_NUM_THREADS=1 PYTHONPATH=/tmp/lpips_site /usr/bin/python3 tests/golden/gen/lpips_package_case.py \
        [--cases tests/golden/components] [--fixtures tests/models/data/lpips_real]

Runs `lpips.LPIPS(net='alex', version='0.1', pretrained=True, pnet_rand=True)` of the PyPI
package lpips 0.1.4 (Debian's python3-torch 1.13 and python3-torchvision 0.14): the real
lin weights the package ships (`lpips/weights/v0.1/alex.pth`, sha256 checked below) on a
random AlexNet trunk (torchvision's ImageNet weights cannot be downloaded here). The trunk
is the one of the `alex_64x64` case (lpips_case.make_model("alex", 11, f16_trunk=True):
torchvision's init, rounded to float16), so the stored trunk is bit for bit that case's,
and the reference ran on the rounded values.

Case (tests/golden/components/lpips/real_lin_64x64): 2 frames 64 x 64 in [-1, 1] (a noisy
copy and an unrelated frame), outputs `d` and `layers` as lpips' forward(retPerLayer=True)
returns them. The script also runs the port of lpips_case.py on the same weights and inputs
and requires it to agree bit for bit with the package (it does: same operations, same order).

Fixtures (tests/models/data/lpips_real): the package's alex.pth as shipped (PyTorch's legacy
serialisation, written by Python 2) and the package's LICENSE (BSD-2-Clause).

The package's trainer module imports scipy and tqdm at import time (used only for training
visualisation); when they are not installed, empty stand-ins are registered for them.
"""
import argparse
import collections
import hashlib
import json
import os
import shutil
import struct
import sys
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, HERE)
import lpips_case as port  # noqa: E402

ALEX_PTH_SHA256 = "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0"  # lpips 0.1.4


def import_lpips():
    for name, attr in (("scipy", None), ("scipy.ndimage", "zoom"), ("tqdm", "tqdm")):
        try:
            __import__(name)
        except ImportError:
            m = types.ModuleType(name)
            if attr:
                setattr(m, attr, None)
            sys.modules[name] = m
    import lpips
    return lpips


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def read_safetensors(path):
    """name -> numpy array (F16/F32 only), for checking the shared trunk."""
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    dt = {"F16": np.float16, "F32": np.float32}
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        out[k] = np.frombuffer(b[8 + n + s:8 + n + e], dt[v["dtype"]]).reshape(v["shape"])
    return out


# The package's trunk modules (lpips.pretrained_networks.alexnet keeps torchvision's indices).
SLICE_OF = {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}


def make_case(root, fixtures):
    lpips = import_lpips()
    alex_pth = os.path.join(os.path.dirname(lpips.__file__), "weights", "v0.1", "alex.pth")
    got = sha256(alex_pth)
    if got != ALEX_PTH_SHA256:
        sys.exit(f"{alex_pth}: sha256 {got}, expected {ALEX_PTH_SHA256} (lpips 0.1.4)")

    torch.manual_seed(0)
    real = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    assert not real.training and real.lpips and not real.spatial and real.version == "0.1"

    # The alex_64x64 trunk (F16-rounded torchvision init), loaded into the package's net.
    donor, ch = port.make_model("alex", 11, f16_trunk=True)
    trunk = port.trunk_state(donor)
    vendored = os.path.join(root, "lpips", port.SHARED_TRUNK)
    if os.path.exists(vendored):
        old = read_safetensors(vendored)
        for k, v in trunk.items():
            assert np.array_equal(old["alexnet." + k], v.half().numpy()), k
    sd = real.state_dict()
    with torch.no_grad():
        for k, v in trunk.items():
            _, i, p = k.split(".")
            dst = sd[f"net.slice{SLICE_OF[int(i)]}.{i}.{p}"]
            assert dst.shape == v.shape, k
            dst.copy_(v)
    lin = torch.load(alex_pth, map_location="cpu")
    for k in range(5):  # the package loaded alex.pth into its lin layers
        assert torch.equal(real.lins[k].model[1].weight, lin[f"lin{k}.model.1.weight"])

    # Inputs: a noisy copy and an unrelated frame.
    rng = np.random.default_rng(2025)
    x0 = port.smooth_image(rng, 2, 64, 64)
    x1 = x0.copy()
    x1[0] = np.clip(x0[0] + 0.15 * rng.standard_normal(x0[0].shape), -1, 1)
    x1[1] = port.smooth_image(rng, 1, 64, 64)[0]
    x0t, x1t = torch.from_numpy(x0), torch.from_numpy(x1)
    with torch.no_grad():
        d, res = real(x0t, x1t, retPerLayer=True)
    d = d.reshape(-1)
    layers = torch.stack([r.reshape(-1) for r in res], dim=1)

    # The port of lpips_case.py on the same weights: bit for bit the package's numbers.
    donor.lins.load_state_dict({k[len("lin"):]: v for k, v in lin.items()})
    dp, lp = port.run(donor, x0t, x1t)
    assert torch.equal(dp, d) and torch.equal(lp, layers), (dp - d, lp - layers)

    weights = {"alexnet." + k: v.half() for k, v in trunk.items()}
    weights.update({"lin." + k: v for k, v in lin.items()})
    port.write_case(root, "real_lin_64x64", inputs={"x0": x0t, "x1": x1t}, outputs={"d": d, "layers": layers},
                    params={"channels": ch, "input": "f32"}, weights=weights, tol=port.TOL, shared_trunk=True,
                    note="computed by the lpips package 0.1.4 (LPIPS(net='alex', pnet_rand=True)): the real "
                         "v0.1 lin weights (alex.pth), the alex_64x64 trunk (random, F16); 2 frames 64x64; "
                         f"d = {[round(float(v), 5) for v in d]}")
    print("real_lin_64x64: d =", d.tolist())

    if fixtures:
        os.makedirs(fixtures, exist_ok=True)
        shutil.copyfile(alex_pth, os.path.join(fixtures, "alex.pth"))
        dist = os.path.dirname(os.path.dirname(lpips.__file__))
        lic = [os.path.join(dist, e, "LICENSE") for e in os.listdir(dist) if e.startswith("lpips-") and e.endswith(".dist-info")]
        if not lic:
            sys.exit("the lpips package's LICENSE (lpips-*.dist-info/LICENSE) was not found")
        shutil.copyfile(lic[0], os.path.join(fixtures, "LICENSE"))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=os.path.join(REPO, "tests", "golden", "components"))
    ap.add_argument("--fixtures", default=os.path.join(REPO, "tests", "models", "data", "lpips_real"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    make_case(args.cases, args.fixtures)
