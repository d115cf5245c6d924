"""One validation and one computation of the shared fields per batch (stats.batch), and the fused
structure summary against the catalogue it replaces."""

from __future__ import annotations

import numpy as np
import pytest

from cosmobench.errors import CosmobenchError
from cosmobench import _fft
from cosmobench.stats import _field_kernels, batch, default_statistics
from cosmobench.stats.batch import BatchContext, summarize_batch
from cosmobench.stats.diversity import DENSITY_CLIP
from cosmobench.stats.structures import StructureStatistic, structures


def _maps(n=40, seed=0):
    rng = np.random.default_rng(seed)
    m = (np.exp(1.2 * rng.standard_normal((n, 64, 64))) * np.exp(-0.72) - 1).astype(np.float32)
    m[:, :3, :3] = -1.0  # empty pixels
    return m


def _catalogue_summary(cat, n):
    """The statistic's columns reduced with numpy from the catalogue (the pre-fusion implementation)."""
    out = np.zeros((n, 5))
    idx, cnt = cat.map_index, cat.counts.astype(float)
    has = cnt > 0
    out[:, 0] = cnt
    if len(cat) == 0:
        return out
    tot = np.bincount(idx, weights=cat.area, minlength=n)
    largest = np.zeros(n)
    np.maximum.at(largest, idx, cat.area)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, 1] = np.where(has, np.bincount(idx, weights=np.log10(cat.area), minlength=n) / np.where(has, cnt, 1), 0)
        out[:, 2] = np.where(has, largest / np.where(has, tot, 1), 0)
        out[:, 3] = np.where(has, np.bincount(idx, weights=cat.area * cat.filamentarity, minlength=n) / np.where(has, tot, 1), 0)
        out[:, 4] = np.bincount(idx, weights=cat.mass, minlength=n) / cat.total_mass
    return out


@pytest.mark.parametrize("connectivity,min_area", [(8, 1), (4, 3)])
def test_fused_structure_summary_equals_catalogue_reduction(connectivity, min_area):
    maps = _maps(30, seed=1)
    ts = (0.5, 3.0, 40.0)
    stat = StructureStatistic(thresholds=ts, connectivity=connectivity, min_area=min_area)
    got = stat.summarize(maps)
    want = np.concatenate(
        [_catalogue_summary(structures(maps, t, connectivity, min_area), maps.shape[0]) for t in ts], axis=1
    )
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    assert got[:, 0].max() > 3 and (got[:, 10] == 0).any()  # many structures at 0.5, none at 40 in some maps


def test_shared_fields_are_computed_once_per_batch(monkeypatch):
    maps = _maps(20)
    stats = default_statistics()
    separate = [s.summarize(maps) for s in stats]
    calls = {"log": 0, "fft": 0, "check": 0}

    def counting(name, fn):
        def wrapped(*a, **k):
            calls[name] += 1
            return fn(*a, **k)
        return wrapped

    monkeypatch.setattr(_field_kernels, "log_density", counting("log", _field_kernels.log_density))
    monkeypatch.setattr(_fft, "rfft2", counting("fft", _fft.rfft2))
    monkeypatch.setattr(batch, "check_maps", counting("check", batch.check_maps))
    together = summarize_batch(stats, maps)
    assert calls == {"log": 1, "fft": 1, "check": 1}
    for a, b in zip(separate, together):
        np.testing.assert_array_equal(a, b)
    summarize_batch(stats, maps, validated=True)
    assert calls["check"] == 1  # evaluate's already-validated batches are not checked again


def test_context_fields_match_numpy():
    maps = _maps(5)
    ctx = BatchContext.validate(maps)
    logd = np.log10(np.maximum(1.0 + maps.astype(np.float64), DENSITY_CLIP))
    np.testing.assert_allclose(ctx.log_density(), logd.reshape(5, -1), rtol=1e-15)
    want = logd.reshape(5, 16, 4, 16, 4).mean(axis=(2, 4)).reshape(5, 256)
    np.testing.assert_allclose(ctx.block_features(16), want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ctx.rfft2(), np.fft.rfft2(maps.astype(np.float64)), rtol=1e-10, atol=1e-9)
    with pytest.raises(CosmobenchError, match="multiple of 7"):
        ctx.block_features(7)


def test_every_statistic_checks_the_track_shape():
    small = _maps(3)[:, :32, :32]
    for stat in default_statistics():
        with pytest.raises(CosmobenchError, match="this track needs 64x64"):
            stat.summarize(small)


def test_large_batches_are_summarised_in_bounded_contexts(monkeypatch):
    maps = _maps(25)
    stats = default_statistics()
    whole = [s.summarize(maps) for s in stats]
    monkeypatch.setattr(batch, "MAX_CONTEXT_MAPS", 7)
    from cosmobench.stats import base

    monkeypatch.setattr(base, "MAX_CONTEXT_MAPS", 7)
    for s, w in zip(stats, whole):
        np.testing.assert_array_equal(s.summarize(maps), w)
    for a, w in zip(summarize_batch(stats, maps), whole):
        np.testing.assert_array_equal(a, w)
