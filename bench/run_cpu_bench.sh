#!/usr/bin/env bash
# Encoder/decoder benchmark on the CPU: cascadev-bench-conv against the PyTorch baseline
# (bench/torch_conv.py), same cases, same sizes, same thread count, same machine, same run.
# Builds nothing.
#
#   bench/run_cpu_bench.sh [--bin PATH] [--threads N] [--runs N] [--repeats N] [--warmup N]
#                          [--enc-frames T] [--dec-frames T] [--size S] [--slice N]
#                          [--python PY] [--cases "encoder decoder"] [--json FILE]
#                          [--torch-openblas DIR|system]
#
# Every case runs in its own process (so peak RSS is that case's), `runs` times per side
# (default 3, alternating cascadev and torch); each process times `repeats` runs (default 1)
# after `warmup` untimed ones (default 1). The table takes the best time over all of them and
# the largest peak RSS (VmHWM). ratio = torch s / cascadev s (> 1: cascadev faster);
# mem = cascadev peak RSS / torch peak RSS.
#
# torch reaches OpenBLAS through libblas.so.3 -> libopenblas.so.0, which .ci/install-deps
# points at OpenBLAS's OpenMP build. Called from inside torch's own OpenMP regions
# (slow_conv2d's per-sample loop) that build's threaded GEMMs spin in a one-thread nested
# region and crawl (a batch-4 float64 3x3 conv: > 40 s instead of 0.25 s). So torch runs
# with LD_LIBRARY_PATH=--torch-openblas (default: the pthread build's folder when it
# exists; "system" = leave the process alone). cascadev keeps the OpenMP build.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=${CASCADEV_BENCH_CONV:-}
threads=2
runs=3
repeats=1
warmup=1
enc_frames=8
dec_frames=4
size=256
slice=4
# The baseline's Python: the newest PyTorch set up by bench/setup_newest_torch.sh when it is
# there, else Debian's (python3-torch 1.13). The table names the version either way.
py=/usr/bin/python3
[[ -x $here/../build/torch-venv/bin/python ]] && py=$here/../build/torch-venv/bin/python
cases="encoder decoder"
json_out=""
torch_openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --enc-frames) enc_frames=$2; shift 2 ;;
    --dec-frames) dec_frames=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --slice) slice=$2; shift 2 ;;
    --python) py=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --json) json_out=$2; shift 2 ;;
    --torch-openblas) torch_openblas=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "run_cpu_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [[ -z $bin ]]; then
  for b in "$here/../build/bench/cascadev-bench-conv" /work/build-bench/bench/cascadev-bench-conv; do
    [[ -x $b ]] && { bin=$b; break; }
  done
fi
[[ -n $bin && -x $bin ]] || { echo "run_cpu_bench.sh: cascadev-bench-conv not found (build it with -DCASCADEV_BUILD_BENCH=ON, or pass --bin)" >&2; exit 1; }
"$py" -c "import torch, torchvision" 2>/dev/null || { echo "run_cpu_bench.sh: $py cannot import torch/torchvision (bench/setup_newest_torch.sh, or apt-get install python3-torch python3-torchvision)" >&2; exit 1; }

export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
torch_env=()
if [[ $torch_openblas != system && -d $torch_openblas ]]; then
  torch_env=(env "LD_LIBRARY_PATH=$torch_openblas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

for c in $cases; do
  frames=$enc_frames
  [[ $c == decoder ]] && frames=$dec_frames
  common=(--case "$c" --frames "$frames" --size "$size" --slice "$slice" --repeats "$repeats" --warmup "$warmup")
  for ((r = 0; r < runs; ++r)); do
    "$bin" "${common[@]}" >>"$tmp"
    "${torch_env[@]}" "$py" "$here/torch_conv.py" "${common[@]}" --threads "$threads" >>"$tmp"
  done
done

"$py" - "$tmp" "$json_out" "$threads" "$runs" "$repeats" "$warmup" <<'EOF'
import json, platform, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out, threads, runs, repeats, warmup = sys.argv[2:7]
best = {}
for r in rows:
    k = (r["case"], r["impl"])
    b = best.get(k)
    if b is None:
        best[k] = dict(r)
    else:
        peak = max(b["peak_rss_mb"], r["peak_rss_mb"])
        if r["seconds"] < b["seconds"]:
            best[k] = dict(r)
        best[k]["peak_rss_mb"] = peak
torch_ver = next((r["torch"] for r in rows if r["impl"] == "torch"), "?")
tthreads = next((r["threads"] for r in rows if r["impl"] == "torch"), "?")
cthreads = next((r["threads"] for r in rows if r["impl"] == "cascadev"), "?")
print(f"threads: cascadev {cthreads}, torch {tthreads} (torch {torch_ver}); "
      f"{runs} runs per side x best of {repeats} (after {warmup} warm-up); {platform.processor() or platform.machine()}")
print("| case | input | cascadev s | cascadev frames/s | cascadev peak MB | torch s | torch frames/s | torch peak MB | ratio (torch s / cascadev s) | mem (cascadev / torch) |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
table = []
for c in dict.fromkeys(r["case"] for r in rows):
    a, t = best.get((c, "cascadev")), best.get((c, "torch"))
    if not a or not t:
        continue
    ratio = t["seconds"] / a["seconds"]
    mem = a["peak_rss_mb"] / t["peak_rss_mb"]
    print(f'| {c} | {a["input"]} | {a["seconds"]:.3f} | {a["frames_per_s"]:.3f} | {a["peak_rss_mb"]:.0f} | '
          f'{t["seconds"]:.3f} | {t["frames_per_s"]:.3f} | {t["peak_rss_mb"]:.0f} | {ratio:.2f} | {mem:.2f} |')
    table.append({"case": c, "cascadev": a, "torch": t, "ratio": ratio, "mem_ratio": mem})
if out:
    json.dump(table, open(out, "w"), indent=1)
EOF
