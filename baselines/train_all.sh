#!/usr/bin/env bash
# Train the four neural baselines one after the other on the CPU-sized configs, each within a wall-clock
# budget, and install the resulting checkpoints (plus provenance JSON and loss curves) as the package's
# defaults in cosmobench_baselines/checkpoints/.
#
#   baselines/train_all.sh                      # on source "sim" (needs `cosmobench data build`), <= 10 min each
#   MINUTES=8 SOURCE=sim-small baselines/train_all.sh
#   CONFIGS="gan ddpm" baselines/train_all.sh   # a subset
#   SUFFIX=-gpu DEVICE=cuda MINUTES=60 baselines/train_all.sh   # the GPU variants
#
# Each run stops at its config's step cap (about 9 min on 2 idle cores) or after MINUTES (default 10),
# whichever comes first, and saves every ckpt_every steps; RESUME=1 continues interrupted runs from
# their last save (the step cap is a total, so a finished run is not extended).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
MINUTES="${MINUTES:-10}"
SOURCE="${SOURCE:-sim}"
DEVICE="${DEVICE:-auto}"
SEED="${SEED:-0}"
SUFFIX="${SUFFIX:-}"
OUT="${OUT:-$here/runs}"
CONFIGS="${CONFIGS:-ddpm-seed ddpm gan-seed gan}"
dest="$here/cosmobench_baselines/checkpoints"
mkdir -p "$dest" "$OUT"
resume=()
[ "${RESUME:-0}" = 1 ] && resume=(--resume)

for gen in $CONFIGS; do
    cfg="$gen$SUFFIX"
    echo "=== $cfg: up to $MINUTES min on source $SOURCE ($(date -u +%H:%M:%S) UTC)"
    python -m cosmobench_baselines.train "$cfg" --minutes "$MINUTES" --source "$SOURCE" --device "$DEVICE" \
        --seed "$SEED" --out "$OUT/$cfg" "${resume[@]}"
    for ext in ckpt json loss.csv loss.png; do
        cp "$OUT/$cfg/$gen.$ext" "$dest/.$gen.$ext.tmp" && mv "$dest/.$gen.$ext.tmp" "$dest/$gen.$ext"
    done
    size=$(stat -c %s "$dest/$gen.ckpt")
    if [ "$size" -gt 20000000 ]; then
        echo "error: $dest/$gen.ckpt is $size bytes (> 20 MB)" >&2
        exit 1
    fi
    echo "=== $cfg -> $dest/$gen.ckpt ($size bytes)"
done
echo "done; check with: pytest baselines/tests/test_packaging.py -k packaged"
