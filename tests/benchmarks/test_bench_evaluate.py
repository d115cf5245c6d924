"""Benchmark of ``evaluate`` on a sample file, reference summaries cached (pytest-benchmark).

Default sizes keep CI quick (a 512-map file, n = 256 and 512); ``COSMOBENCH_BENCH_FULL=1`` runs the
issue's size (a 10,000-map ``samples.npy``, n = 5,000 and 10,000). The reference is the small
simulated source of the test suite, warmed first so that the timings are model-side only
(sampling = reading the file + validation, statistics, comparison). ``extra_info`` records the
split and the pipeline's overhead: its time over a peer that summarises the same maps with the same
statistics directly (no sampling, validation, reference or comparison). The linearity check compares the
time at n and 2n.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from _bench import best_time, ours_seconds, record

FULL = os.environ.get("COSMOBENCH_BENCH_FULL") == "1"
N_FILE = 10_000 if FULL else 512
evaluate_module = importlib.import_module("cosmobench.evaluation")


@pytest.fixture(scope="module")
def samples_file(tmp_path_factory, small_source):
    """``samples.npy`` of lognormal maps; the reference cache and numba are warmed on a small run."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("bench") / "samples.npy"
    maps = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(N_FILE, 64, 64))
    for i in range(0, N_FILE, 1000):  # chunks: bounded memory while writing
        g = rng.standard_normal((min(1000, N_FILE - i), 64, 64), dtype=np.float32)
        maps[i : i + g.shape[0]] = np.exp(0.7 * g - 0.245) - 1
    maps.flush()
    del maps
    evaluate_module.evaluate(str(path), n=32, source="sim-small", progress=False)
    # the measured null depends on n: measure it once at the benchmark's sizes, as a second run would find it
    for n in (N_FILE // 2, N_FILE):
        evaluate_module.evaluate(str(path), n=n, source="sim-small", statistics=["power"], progress=False)
        evaluate_module.evaluate(str(path), n=n, source="sim-small", progress=False)
    return path


def _timed(path, n):
    r = evaluate_module.evaluate(str(path), n=n, source="sim-small", progress=False)
    assert r.reference["summaries"] == "cached"
    return r


def test_bench_evaluate_samples_file(benchmark, samples_file, small_source):
    from cosmobench.stats import default_statistics

    r = benchmark.pedantic(lambda: _timed(samples_file, N_FILE), rounds=1, iterations=1)
    wt = r.wall_time
    stats = default_statistics(small_source.track, sigma0=small_source.sigma0)
    maps = np.load(samples_file, mmap_mode="r")

    def peer():
        for i in range(0, N_FILE, 256):
            batch = np.asarray(maps[i : i + 256])
            for s in stats:
                s.summarize(batch)

    t_peer, _ = best_time(peer, repeat=1)
    ours = ours_seconds(benchmark, lambda: _timed(samples_file, N_FILE))
    record(benchmark, ours, {"direct_summaries": t_peer}, n=N_FILE, **{k: round(v, 3) for k, v in wt.items()},
           maps_per_s=round(N_FILE / wt["total"], 1), overhead_over_direct_summaries=ours / t_peer,
           # the comparison (null lookup, p-values, bootstrap, effect sizes) beside the statistics of the
           # same run: robust to a busy machine
           comparison_over_statistics=round(wt["comparison"] / max(wt["statistics"], 1e-9), 3))
    print(f"\nevaluate n={N_FILE}: " + ", ".join(f"{k} {v:.2f}s" for k, v in wt.items()))
    assert np.isfinite(r.composite)


def _model_side(path, n, repeats=3):
    """Fastest of a few runs (sampling + statistics, seconds): the minimum filters out a busy machine's stalls."""
    best = {}
    for _ in range(repeats):
        wt = _timed(path, n).wall_time
        for k in ("sampling", "statistics", "comparison", "total"):
            best[k] = min(best.get(k, np.inf), wt[k])
    return best


def test_cost_grows_linearly_in_n(samples_file):
    half = _model_side(samples_file, N_FILE // 2)
    full = _model_side(samples_file, N_FILE)
    per_map = {k: full[k] / max(half[k], 1e-9) for k in ("sampling", "statistics", "comparison", "total")}
    print(f"\nt(n={N_FILE}) / t(n={N_FILE // 2}): " + ", ".join(f"{k} {v:.2f}" for k, v in per_map.items()))
    # Linear: ratio 2 (less with fixed costs); quadratic would be 4. Generous for shared, noisy CI machines.
    assert (full["sampling"] + full["statistics"]) / (half["sampling"] + half["statistics"]) < 3.2
    assert per_map["total"] < 3.2


def _whole_process(args, env) -> float:
    """Wall seconds of ``python -m cosmobench.cli evaluate ARGS`` in a fresh process (imports included)."""
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cosmobench.cli", "evaluate", *args], env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t
    assert done.returncode == 0, done.stderr[-2000:]
    return wall


def test_bench_evaluate_whole_process_vs_pylians(benchmark, samples_file, tmp_path):
    """``cosmobench evaluate`` of the samples file as a whole process, beside a Pylians ``Pk_plane`` loop.

    The issue's measure: a fresh process (imports, reading the file, the cached reference, every statistic,
    the comparison and memorisation, writing the result) over the per-map P(k) loop of Pylians3 on the same
    maps, in the same test. ``COSMOBENCH_BENCH_HOME`` / ``COSMOBENCH_BENCH_SOURCE`` point it at a built
    reference (e.g. the 40-box ``sim``, whose 57,344 training maps make memorisation the largest cost);
    by default it runs against the test suite's small source.
    """
    from _pylians import HAVE_PYLIANS, pylians_pk_plane_loop
    from test_bench_statistics import pk_plane_loop

    env = dict(os.environ)
    if os.environ.get("COSMOBENCH_BENCH_HOME"):
        env["COSMOBENCH_HOME"] = os.environ["COSMOBENCH_BENCH_HOME"]
    source = os.environ.get("COSMOBENCH_BENCH_SOURCE", "sim-small")
    args = ["--model", str(samples_file), "--n", str(N_FILE), "--seed", "0", "--source", source,
            "--no-progress", "--out", str(tmp_path)]
    _whole_process(args, env)  # reference caches (and numba's on-disk cache) warm, as the "cached"
    ours = benchmark.pedantic(lambda: _whole_process(args, env), rounds=1, iterations=1)  # its own wall time

    maps = np.load(samples_file)
    box = 250.0  # any box size: the loop's cost does not depend on it
    t_standin, p_standin = best_time(lambda: pk_plane_loop(maps, box), repeat=2)
    peers = {"pk_plane_standin": t_standin}
    if HAVE_PYLIANS:
        t_pyl, p_pyl = best_time(lambda: pylians_pk_plane_loop(maps, box), repeat=2)
        # the stand-in is Pylians' estimator: same P(k) on Pylians' bins below k_Nyquist (its first is the
        # stand-in's second)
        below_nyq = maps.shape[-1] // 2 - 1
        np.testing.assert_allclose(p_pyl[:16, :below_nyq], p_standin[:16, 1 : 1 + below_nyq], rtol=1e-4)
        peers["pylians_pk_plane"] = t_pyl
    speedups = record(benchmark, ours, peers, n=N_FILE, source=source, pylians_installed=HAVE_PYLIANS,
                      ratio_to_peer=round(ours / peers.get("pylians_pk_plane", t_standin), 2))
    print(f"\nevaluate as a process, n={N_FILE} ({source}): {ours:.2f} s; "
          + ", ".join(f"{k} {v:.2f} s" for k, v in peers.items()))
    assert all(np.isfinite(v) for v in speedups.values())
