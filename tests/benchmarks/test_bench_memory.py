"""Peak memory of ``evaluate`` against n, with a cheap generator (tracemalloc: every numpy buffer counts).

Default sizes keep CI quick (n = 2,048 and 4,096); ``COSMOBENCH_BENCH_FULL=1`` runs the issue's
n = 100,000 (and 50,000). The reference summaries are cached first, so the peak is the model side:
sampling, summaries of every statistic, comparison. The bound checked is the one ``evaluate``
plans with before it starts (:func:`cosmobench.evaluation.estimate_cost`: n × summary width × 8 bytes
× its copy factor): memory grows with the summaries, never with the maps (a 64² float32 map is 16 KB).
"""

from __future__ import annotations

import importlib
import os
import tracemalloc

import numpy as np
import pytest

FULL = os.environ.get("COSMOBENCH_BENCH_FULL") == "1"
N_BIG = 100_000 if FULL else 4096
evaluate_module = importlib.import_module("cosmobench.evaluation")


class Cheap:
    """Lognormal maps, drawn per call: costs almost nothing next to the statistics."""

    name = "cheap"

    def sample(self, n, *, seed):
        g = np.random.default_rng(seed).standard_normal((n, 64, 64), dtype=np.float32)
        return np.exp(0.7 * g - 0.245) - 1


def _peak(n: int) -> tuple[int, object]:
    tracemalloc.start()
    try:
        r = evaluate_module.evaluate(Cheap(), n=n, source="sim-small", progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.reference["summaries"] == "cached"
    return peak, r


@pytest.fixture(scope="module")
def warmed(small_source):
    evaluate_module.evaluate(Cheap(), n=32, source="sim-small", progress=False)  # cache, numba, FFTW plans
    return small_source


def test_bench_peak_memory_of_evaluate(benchmark, warmed):
    from cosmobench.stats import default_statistics

    small, _ = _peak(N_BIG // 2)
    big, r = benchmark.pedantic(lambda: _peak(N_BIG), rounds=1, iterations=1)
    stats = default_statistics(warmed.track, sigma0=warmed.sigma0)
    probe = np.asarray(warmed.box_maps(warmed.boxes("test")[0])[:8])
    planned = evaluate_module.estimate_cost(stats, probe, N_BIG)
    per_map = (big - small) / (N_BIG - N_BIG // 2)
    benchmark.extra_info.update({
        "n": N_BIG, "peak_MB": round(big / 2**20, 1), "peak_MB_half_n": round(small / 2**20, 1),
        "bytes_per_extra_map": round(per_map), "summary_width": planned["width"],
        "planned_MB": round(planned["bytes"] / 2**20, 1), "statistics_s": round(r.wall_time["statistics"], 1),
    })
    print(f"\nevaluate n={N_BIG}: peak {big / 2**20:.1f} MB (n/2: {small / 2**20:.1f} MB), "
          f"{per_map:.0f} B per extra map, summary width {planned['width']}, planned {planned['bytes'] / 2**20:.1f} MB")
    # Growth per map stays within evaluate's own plan (summaries, not maps: 16 KB each would exceed it).
    assert per_map <= planned["bytes"] / N_BIG
    assert per_map < 64 * 64 * 4
    assert np.isfinite(r.composite)
