"""Fixtures of the baselines' tests: a fake source (the isolated data home and the small source come from the
repository's root conftest.py, shared with the core suite)."""

from __future__ import annotations

import pytest

from _baseline_fakes import FakeSource, fake_reference


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
