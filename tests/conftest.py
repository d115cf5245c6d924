"""Shared fixtures: an isolated data home and a small simulated reference source built once per session."""

from __future__ import annotations

import os

import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_home(tmp_path_factory):
    """Point $COSMOBENCH_HOME at a temporary directory so tests never touch a user's cache."""
    home = tmp_path_factory.mktemp("cosmobench_home")
    old = os.environ.get("COSMOBENCH_HOME")
    os.environ["COSMOBENCH_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("COSMOBENCH_HOME", None)
    else:
        os.environ["COSMOBENCH_HOME"] = old


@pytest.fixture(scope="session")
def small_source(_isolated_home):
    """The ``sim-small`` source (64³ particles, 250 Mpc/h, default-track pixels), 4 boxes: test 0,1; val 2; train 3."""
    from cosmobench.data.store import build_simulated

    return build_simulated(name="sim-small", config="small", boxes=4, progress=False)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def require_peer(module: str):
    """Import a peer library that a test compares against.

    A missing peer skips the test with a loud reason on a developer's machine, but fails under CI
    (``$CI`` set), which installs every peer: a skip there would hide a regression of our own code.
    Only ``ImportError`` counts as missing; any other exception from the peer is an error.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        msg = f"PEER LIBRARY MISSING: {module} is not importable ({exc}); install the test extra to run this check"
        if os.environ.get("CI"):
            pytest.fail(msg + " (CI must have every peer)")
        pytest.skip(msg)


@pytest.fixture(scope="session")
def quantimpy_minkowski():
    """``quantimpy.minkowski`` (the test command rebuilds it against the installed numpy)."""
    return require_peer("quantimpy.minkowski")


@pytest.fixture
def summary_cache_dir(tmp_path, monkeypatch):
    """This test's own reference-summary cache directory (nothing shared with other tests)."""
    from cosmobench import summary_cache

    d = tmp_path / "cache"
    monkeypatch.setattr(summary_cache, "cache_dir", lambda: d)
    return d
