"""Fixtures every test folder shares (tests/ and baselines/tests/): an isolated data home and a small simulated
reference source built once per session (pytest loads this file for every test below the repository root)."""

from __future__ import annotations

import os

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
