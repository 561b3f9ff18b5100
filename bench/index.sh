#!/usr/bin/env bash
# Peak RSS and time of `inspect` on a large distributed-checkpoint index:
# real torch pickles a .metadata of TENSORS x CHUNKS chunks (default
# 5000 x 40 = 200,000, 28 MB, the size class of Nemotron-4 340B at TP=8 with
# optimizer state); the promise is a peak RSS under 256 MiB.
#
#   bench/index.sh [WORKDIR]     (default /tmp/nemo-migrate-index)
#
# Environment: TENSORS, CHUNKS; PYTHON (default /usr/bin/python3, torch 1.13
# or later).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/nemo-migrate-index}
tensors=${TENSORS:-5000} chunks=${CHUNKS:-40}
mkdir -p "$work"
(cd "$repo" && go build -o "$work/nemo-migrate" ./cmd/nemo-migrate)
dir="$work/index-${tensors}x${chunks}"
if [ ! -f "$dir/.metadata" ]; then
  PYTHONPATH="$repo/internal/oracle/py" "${PYTHON:-/usr/bin/python3}" "$repo/bench/largeindex.py" "$dir" "$tensors" "$chunks"
fi
/usr/bin/time -f '%e %M' -o "$work/inspect.time" "$work/nemo-migrate" inspect "$dir" >/dev/null
read -r s kb < "$work/inspect.time"
printf '%d chunks, .metadata %s bytes: inspect %s s, peak RSS %d MiB\n' \
  $((tensors * chunks)) "$(stat -c %s "$dir/.metadata")" "$s" $((kb / 1024))
