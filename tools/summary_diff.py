"""Every default statistic's summaries on fixed maps, before and after a change.

    PYTHONPATH=<checkout A> python tools/summary_diff.py save a.npz
    PYTHONPATH=<checkout B> python tools/summary_diff.py save b.npz
    python tools/summary_diff.py compare a.npz b.npz

The maps: 2,000 float32 log-normal maps with 1 % empty pixels (δ = −1) and 300 of them as float64,
so both kernels' dtypes and the clipped tails are exercised. ``compare`` prints the largest relative
and absolute difference per statistic and dtype.
"""

from __future__ import annotations

import sys

import numpy as np


def save(path: str) -> None:
    from cosmobench.stats import default_statistics

    rng = np.random.default_rng(123)
    m32 = (np.exp(0.9 * rng.standard_normal((2000, 64, 64), dtype=np.float32) - 0.4) - 1).astype(np.float32)
    m32[rng.random(m32.shape) < 0.01] = -1.0
    m64 = (1.0 + m32[:300].astype(np.float64)) * 1.0001 - 1.0
    out = {}
    for stat in default_statistics(sigma0=0.0137):
        out[stat.name + "_f32"] = stat.summarize(m32)
        out[stat.name + "_f64"] = stat.summarize(m64)
    np.savez(path, **out)


def compare(a_path: str, b_path: str) -> float:
    a, b = np.load(a_path), np.load(b_path)
    if set(a.files) != set(b.files):
        raise SystemExit(f"different statistics: {sorted(set(a.files) ^ set(b.files))}")
    worst = 0.0
    for k in sorted(a.files):
        x, y = a[k], b[k]
        if x.shape != y.shape:
            raise SystemExit(f"{k}: shapes {x.shape} and {y.shape}")
        rel = np.where(x == y, 0.0, np.abs(x - y) / np.maximum(np.abs(x), 1e-300))
        print(f"{k:18s} max rel {rel.max():.3e}  max abs {np.abs(x - y).max():.3e}  identical {np.array_equal(x, y)}")
        worst = max(worst, float(rel.max()))
    print(f"largest relative difference {worst:.3e}")
    return worst


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "save":
        save(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
