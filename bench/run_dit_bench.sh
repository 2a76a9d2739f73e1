#!/usr/bin/env bash
# DiT benchmark: cascadev-bench-dit against the PyTorch CPU baseline (bench/torch_dit.py),
# same cases, same thread count. Builds nothing.
#
#   bench/run_dit_bench.sh [--bin PATH] [--threads N] [--runs N] [--repeats N]
#                          [--python PY] [--attn auto|sdpa|matmul] [--cases "a b ..."] [--json FILE]
#
# Every case runs in its own process (so peak RSS is that case's), `runs` times per side
# (default 3); each process times `repeats` runs after a warm-up (default 3). The table takes
# the best time over all of them and the largest peak RSS. ratio = torch s / cascadev s
# (> 1: cascadev faster); mem = cascadev peak RSS / torch peak RSS.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=${CASCADEV_BENCH_DIT:-}
threads=2
runs=3
repeats=3
# The baseline's Python: the newest PyTorch set up by bench/setup_newest_torch.sh when it is
# there, else Debian's (python3-torch 1.13). The table names the version either way.
py=/usr/bin/python3
[[ -x $here/../build/torch-venv/bin/python ]] && py=$here/../build/torch-venv/bin/python
attn=auto
cases="tiny_4x16 tiny_8x32 tiny_8x64 xl2_full xl2_grid14"
json_out=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --python) py=$2; shift 2 ;;
    --attn) attn=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --json) json_out=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "run_dit_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [[ -z $bin ]]; then
  for b in "$here/../build/bench/cascadev-bench-dit" /work/build-dbench/bench/cascadev-bench-dit; do
    [[ -x $b ]] && { bin=$b; break; }
  done
fi
[[ -n $bin && -x $bin ]] || { echo "run_dit_bench.sh: cascadev-bench-dit not found (build it, or pass --bin)" >&2; exit 1; }
"$py" -c "import torch" 2>/dev/null || { echo "run_dit_bench.sh: $py cannot import torch (bench/setup_newest_torch.sh, or apt-get install python3-torch)" >&2; exit 1; }

export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

for c in $cases; do
  for ((r = 0; r < runs; ++r)); do
    "$bin" --case "$c" --repeats "$repeats" >>"$tmp"
    "$py" "$here/torch_dit.py" --case "$c" --repeats "$repeats" --threads "$threads" --attn "$attn" >>"$tmp"
  done
done

"$py" - "$tmp" "$json_out" "$threads" "$runs" "$repeats" <<'EOF'
import json, platform, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out, threads, runs, repeats = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
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
attn = next((r["attn"] for r in rows if r["impl"] == "torch"), "?")
tthreads = next((r["threads"] for r in rows if r["impl"] == "torch"), "?")
cthreads = next((r["threads"] for r in rows if r["impl"] == "cascadev"), "?")
print(f"threads: cascadev {cthreads}, torch {tthreads} (torch {torch_ver}, attention {attn}); "
      f"{runs} runs x best of {repeats}; {platform.processor() or platform.machine()}")
print("| case | work | tokens | cascadev s | cascadev tok/s | cascadev peak MB | torch s | torch tok/s | torch peak MB | ratio (torch s / cascadev s) | mem (cascadev / torch) |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
cases = list(dict.fromkeys(r["case"] for r in rows))
table = []
for c in cases:
    a, t = best.get((c, "cascadev")), best.get((c, "torch"))
    if not a or not t:
        continue
    ratio = t["seconds"] / a["seconds"]
    mem = a["peak_rss_mb"] / t["peak_rss_mb"]
    tok = f'{a["tokens"]}' + (f' ({a["model_tokens"]} in tiles)' if a["model_tokens"] != a["tokens"] else "")
    print(f'| {c} | {a["what"]} | {tok} | {a["seconds"]:.4f} | {a["tokens_per_s"]:.0f} | {a["peak_rss_mb"]:.0f} | '
          f'{t["seconds"]:.4f} | {t["tokens_per_s"]:.0f} | {t["peak_rss_mb"]:.0f} | {ratio:.2f} | {mem:.2f} |')
    table.append({"case": c, "cascadev": a, "torch": t, "ratio": ratio, "mem_ratio": mem})
if out:
    json.dump(table, open(out, "w"), indent=1)
EOF
