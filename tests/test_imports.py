"""What ``cosmobench evaluate`` imports: the heavy libraries it never needs stay out of its start-up.

A fresh process pays for every import before it scores a map (issue 11: the whole-process ``evaluate`` is
measured against a Pylians loop of ~0.8 s). pyFFTW's ``interfaces`` pull in dask.array and scipy.fftpack
(0.5 s), ``scipy.signal`` (0.6 s, with scipy.stats) serves only the seed report's Welch estimator; the
training stack and the leaderboard's tools serve other commands. These tests fail when a top-level import
brings one of them back.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("dask", "distributed", "scipy.signal", "scipy.fftpack", "scipy.stats", "torch", "pandas", "matplotlib", "camb", "h5py")


def _modules_after(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json\n"
                          f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_evaluate_path_imports_none_of_the_heavy_libraries():
    assert _modules_after("import cosmobench.cli, cosmobench.commands, cosmobench.evaluation, cosmobench.stats, "
                          "cosmobench.compare, cosmobench.data.store") == []


def test_pyfftw_wrappers_hidden_at_import_still_import_when_asked_for():
    code = ("import cosmobench._fft, pyfftw, numpy as np\n"
            "import pyfftw.interfaces.scipy_fftpack as sf, scipy.fftpack, dask.array.fft\n"
            "x = np.arange(8.0)\n"
            "assert np.allclose(sf.fft(x), np.fft.fft(x))\n")
    assert set(_modules_after(code)) >= {"scipy.fftpack", "dask"}

