"""Fixtures of the core suite (the data home and the small source every folder shares are in the root conftest.py)."""

from __future__ import annotations

import os

import numpy as np
import pytest


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
