#!/usr/bin/env bash
# Benchmarks convert and export (to Hugging Face safetensors) against the
# cost of copying the same bytes (cat) and convert against a Python torch
# re-key of the same checkpoint (what NeMo's converter does), on a generated
# NeMo 1.0 checkpoint of a few GB in each backend.
#
#   bench/run.sh [WORKDIR]       (default /tmp/nemo-migrate-bench; needs ~5x the size free)
#
# Environment: REPEAT=3 (best of N runs each), DIMS=L,H,F,heads,groups,V (default 10,4096,11008,32,8,32000: ~4.1 GB bf16),
# BACKENDS="torch_dist zarr", SKIP_PYTHON=1 to skip the torch baseline.
# Prints, per backend: convert and export seconds, cat seconds, the ratios, their peak RSS,
# and the Python re-key's seconds and peak RSS. Both convert and cat are timed
# including the final fsync of what they wrote, from a warm page cache.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/nemo-migrate-bench}
dims=${DIMS:-10,4096,11008,32,8,32000}
backends=${BACKENDS:-torch_dist zarr}
py=/usr/bin/python3
mkdir -p "$work"
bin="$work/nemo-migrate"
(cd "$repo" && go build -o "$bin" ./cmd/nemo-migrate)
export PYTHONPATH="$repo/internal/oracle/py"

# peak RSS (KiB) and elapsed seconds of a command, via GNU time's format
measure() {
  local out=$1; shift
  /usr/bin/time -f '%e %M' -o "$out" "$@" >/dev/null
}

for backend in $backends; do
  dir="$work/$backend"
  if [ ! -f "$dir/model.nemo" ]; then
    echo "generating a $backend checkpoint (dims $dims) in $dir ..." >&2
    rm -rf "$dir"
    $py "$repo/internal/oracle/py/nemo1fixture.py" "$dir" --arch llama --backend "$backend" \
      --form nemo --dims "$dims" --no-expected
  fi
  nemo="$dir/model.nemo"
  size=$(stat -c %s "$nemo")
  sync; cat "$nemo" > /dev/null  # settle writeback, warm the page cache for every contender alike

  # Best of $repeat runs each, alternating, so noise from other load hurts neither side.
  best_cat=; best_conv=; conv_kb=0; best_exp=; exp_kb=0
  for _ in $(seq "${REPEAT:-3}"); do
    rm -f "$work/cat.out"; sync
    measure "$work/cat.time" sh -c "cat '$nemo' > '$work/cat.out' && sync '$work/cat.out'"
    rm -f "$work/cat.out"
    rm -rf "$work/out"; sync
    measure "$work/convert.time" "$bin" convert --input_path "$nemo" --output_path "$work/out" --model_id auto --no-progress
    rm -rf "$work/hf"; sync
    measure "$work/export.time" "$bin" export --input_path "$nemo" --output_path "$work/hf" --no-progress
    read -r s kb < "$work/export.time"
    best_exp=$(awk -v a="$s" -v b="$best_exp" 'BEGIN { print (b == "" || a < b) ? a : b }')
    exp_kb=$(( kb > exp_kb ? kb : exp_kb ))
    read -r s kb < "$work/cat.time"
    best_cat=$(awk -v a="$s" -v b="$best_cat" 'BEGIN { print (b == "" || a < b) ? a : b }')
    read -r s kb < "$work/convert.time"
    best_conv=$(awk -v a="$s" -v b="$best_conv" 'BEGIN { print (b == "" || a < b) ? a : b }')
    conv_kb=$(( kb > conv_kb ? kb : conv_kb ))
  done
  "$bin" verify "$work/out" --source "$nemo" --no-progress > "$work/verify.log" 2>&1 || true
  "$bin" verify "$work/hf" --source "$nemo" --no-progress > "$work/verify-hf.log" 2>&1 || true
  rm -rf "$work/out" "$work/hf"
  cat_s=$best_cat conv_s=$best_conv

  ratio=$(awk -v a="$conv_s" -v b="$cat_s" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
  printf '%-10s size %6.2f GB  convert %6.2fs  cat %6.2fs  ratio %s  convert peak RSS %d MiB\n' \
    "$backend" "$(awk -v s="$size" 'BEGIN{print s/1e9}')" "$conv_s" "$cat_s" "$ratio" $((conv_kb / 1024))
  printf '%-10s export to HF %6.2fs  ratio %s  export peak RSS %d MiB\n' \
    "" "$best_exp" "$(awk -v a="$best_exp" -v b="$cat_s" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')" $((exp_kb / 1024))

  if [ -z "${SKIP_PYTHON:-}" ] && [ "$backend" = torch_dist ]; then
    ext="$work/py-in"; rm -rf "$ext" "$work/py-out"; mkdir -p "$ext"
    tar -xf "$nemo" -C "$ext"   # NeMo extracts the archive first, too
    measure "$work/py.time" $py "$repo/bench/rekey.py" "$ext/model_weights" "$work/py-out"
    read -r py_s py_kb < "$work/py.time"
    printf '%-10s python torch re-key %6.2fs (without the tar extraction)  peak RSS %d MiB  ->  convert is %.1fx faster\n' \
      "" "$py_s" $((py_kb / 1024)) "$(awk -v a="$py_s" -v b="$conv_s" 'BEGIN{print a/b}')"
    rm -rf "$ext" "$work/py-out"
  fi
done
