"""Fixtures of the baselines' tests: the core suite's isolated data home and small source, and a fake source."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from _baseline_fakes import FakeSource, fake_reference


def _core_conftest():
    """``tests/conftest.py`` of the repository, loaded by path (the test folders are not packages)."""
    path = Path(__file__).resolve().parents[2] / "tests" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_cosmobench_core_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# the same fixtures as the core suite's, not copies: an isolated $COSMOBENCH_HOME and the sim-small source
_CORE = _core_conftest()
_isolated_home = _CORE._isolated_home
small_source = _CORE.small_source


@pytest.fixture
def fake_source(monkeypatch):
    """Opening a reference source (``ensure_source``, and ``get_source``) answers with a fake source of smooth
    lognormal-ish maps, so no test here simulates the default boxes."""
    import cosmobench.data
    import cosmobench.data.store

    src = FakeSource({"train": fake_reference(96, 1), "val": fake_reference(40, 2), "test": fake_reference(40, 3)})
    monkeypatch.setattr(cosmobench.data, "get_source", lambda name="sim": src, raising=False)
    monkeypatch.setattr(cosmobench.data.store, "ensure_source", lambda source="sim", **kw: src)
    return src
