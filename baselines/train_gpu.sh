#!/usr/bin/env bash
# The one prepared GPU run: train the four neural baselines' -gpu configs side by side on one GPU within
# MINUTES, draw the seed DDPM's samples there (its 1000 ancestral steps take hours on a CPU), and pack
# everything into 15 MiB pieces (the device tool brings back files of at most 16 MiB).
#
#   baselines/train_gpu.sh TRAIN_MAPS.npy OUT_DIR     (MINUTES=6 by default; N_SAMPLES=2048)
#
# Reassemble with: cat OUT_DIR/pack.tar.part-* | tar xf -
set -uo pipefail
maps="$1"; out="$2"
MINUTES="${MINUTES:-6}"; N_SAMPLES="${N_SAMPLES:-2048}"
here="$(cd "$(dirname "$0")" && pwd)"; root="$(cd "$here/.." && pwd)"
export PYTHONPATH="$root:$here:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
runs="$(mktemp -d)"; mkdir -p "$out"
nvidia-smi -L || true
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
for gen in ddpm-seed ddpm gan-seed gan; do
    python3 -m cosmobench_baselines.train "$gen-gpu" --minutes "$MINUTES" --maps "$maps" --device "${DEVICE:-cuda}" --seed 0 \
        --out "$runs/$gen" --no-progress > "$runs/$gen.log" 2>&1 &
done
wait
tail -n 4 "$runs"/*.log
# Samples of the seed DDPM exactly as `cosmobench evaluate --seed 0` draws them: chunks of 256 maps, chunk i
# with seed SeedSequence([0, i]) (cosmobench.evaluation.chunk_seed), stored as float16 δ.
python3 - "$runs" "$N_SAMPLES" "${DEVICE:-cuda}" <<'PY'
import sys, time, numpy as np, torch
from cosmobench_baselines.ddpm import ddpm_seed_factory
runs, n = sys.argv[1], int(sys.argv[2])
ck = torch.load(f"{runs}/ddpm-seed/ddpm-seed.ckpt", weights_only=True, map_location="cpu")
gen = ddpm_seed_factory(checkpoint=ck, device=sys.argv[3], batch_size=256)
t = time.time()
seeds = [int(np.random.SeedSequence([0, i]).generate_state(1, dtype=np.uint32)[0]) for i in range((n + 255) // 256)]
maps = np.concatenate([gen.sample(min(256, n - 256 * i), seed=s) for i, s in enumerate(seeds)])
big = np.abs(maps) > 6e4  # float16's range; a trained model stays far below (training maps reach δ ≈ 235)
print(f"ddpm-seed: {int(big.sum())} pixels beyond float16 range clipped")
np.save(f"{runs}/ddpm-seed.samples_n{n}_s0.npy", np.clip(maps, -1.0, 6e4).astype(np.float16))
print(f"ddpm-seed: {n} samples in {time.time() - t:.1f} s, mean δ {maps.mean():.4f}, min {maps.min():.3f}")
PY
(cd "$runs" && tar cf - */*.ckpt */*.json */*.loss.csv */*.loss.png *.log *.npy 2>/dev/null) | split -b 15m - "$out/pack.tar.part-"
ls -la "$out"
