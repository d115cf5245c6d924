"""A result is a pure function of (model, reference, n, seed): across processes, thread counts, row orders, batches.

The cross-process test runs ``evaluate`` in fresh interpreters with different ``PYTHONHASHSEED`` and
``COSMOBENCH_THREADS``: FFTW plans chosen by timing, Python-hash-based seeds, or rows ordered by raw bytes
(which FFT round-off reorders) all make it fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from cosmobench.evaluation import evaluate
from cosmobench.stats._order import canonical_order

N = 96


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory, small_source):
    """Lognormal maps with a red spectrum (so every statistic has work to do), as a .npy file."""
    rng = np.random.default_rng(7)
    k = np.fft.fftfreq(64)
    kk = np.sqrt(k[:, None] ** 2 + k[None, :] ** 2)
    amp = np.where(kk > 0, kk, 1.0) ** -1.2
    amp[0, 0] = 0.0
    g = np.fft.ifft2(np.fft.fft2(rng.standard_normal((N, 64, 64))) * amp).real
    g /= g.std(axis=(1, 2), keepdims=True)
    maps = (np.exp(0.9 * g - 0.405) - 1).astype(np.float32)
    path = tmp_path_factory.mktemp("det") / "maps.npy"
    np.save(path, maps)
    return path


_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from cosmobench.evaluation import evaluate
    out = {}
    for threads in sys.argv[2].split(","):
        os.environ["COSMOBENCH_THREADS"] = threads
        r = evaluate(sys.argv[1], n=int(sys.argv[3]), source="sim-small", progress=False)
        out[threads] = json.dumps(r.to_dict()["metrics"], sort_keys=True)
    print(json.dumps(out))
    """
)


def _run(path, threads: str, hashseed: str) -> dict:
    env = dict(os.environ, PYTHONHASHSEED=hashseed)
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(path), threads, str(N)], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _numbers(obj, path=""):
    """Every number of a metrics dict, keyed by its path."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _numbers(v, f"{path}/{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _numbers(v, f"{path}[{i}]")
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield path, float(obj)


def test_two_processes_give_byte_identical_metrics_and_threads_agree(sample_file):
    evaluate(str(sample_file), n=N, source="sim-small", progress=False)  # reference summaries and null cached once
    a = _run(sample_file, "1", "1")
    b = _run(sample_file, "2,1", "2")
    assert a["1"] == b["1"], "two fresh processes (different PYTHONHASHSEED) gave different metrics"
    one, two = json.loads(a["1"]), json.loads(b["2"])
    n1, n2 = dict(_numbers(one)), dict(_numbers(two))
    assert n1.keys() == n2.keys()
    bad = {k: (n1[k], n2[k]) for k in n1 if abs(n1[k] - n2[k]) > 1e-9 * max(abs(n1[k]), abs(n2[k]), 1e-300)}
    assert not bad, f"1 vs 2 threads differ beyond 1e-9: {sorted(bad.items())[:5]}"


def _metric_numbers(result) -> dict:
    return dict(_numbers(result.to_dict()["metrics"]))


def test_permuted_and_rebatched_model_give_identical_numbers(sample_file, tmp_path):
    maps = np.load(sample_file)
    perm = tmp_path / "perm.npy"
    np.save(perm, maps[np.random.default_rng(3).permutation(N)])
    base = _metric_numbers(evaluate(str(sample_file), n=N, source="sim-small", progress=False))
    assert _metric_numbers(evaluate(str(perm), n=N, source="sim-small", progress=False)) == base
    assert _metric_numbers(evaluate(str(sample_file), n=N, source="sim-small", batch_size=13, progress=False)) == base


def test_canonical_order_ignores_input_order_and_round_off():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((500, 6)) * np.array([1e-20, 1.0, 1e3, -2.0, 1e20, 5.0])
    a[::5, 0] = 0.0
    a[::9, 0] = -0.0
    a[10] = a[11]
    idx = canonical_order(a)
    p = rng.permutation(a.shape[0])
    assert np.array_equal(a[idx], a[p][canonical_order(a[p])])
    # a few-ulp perturbation (what different FFT plans do) keeps the order (rows 10 and 11 are equal in a)
    assert np.array_equal(a[idx], a[canonical_order(a * (1 + 4e-16 * rng.standard_normal(a.shape)))])
    # the order is numeric on the float32-rounded values, column by column
    f = a[idx].astype(np.float32)
    assert np.array_equal(f, a[np.lexsort(a.astype(np.float32).T[::-1])].astype(np.float32))
