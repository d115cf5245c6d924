"""The reference-summary cache: what keys it, so that stale summaries are never served.

``reference_summaries`` keys its files on the source's content hash, the statistic's key, the code of
the file defining the statistic and the cosmobench version. Each test changes one of them and checks
that the summaries are rebuilt (and equal the freshly computed ones), and that nothing else does.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import textwrap

import numpy as np
import pytest

from cosmobench.evaluation import reference_summaries
from cosmobench.stats import MeanStatistic, PowerStatistic



class _Source:
    """A reference source of two test boxes of lognormal 64² maps written to ``path``, under a content hash of
    our choosing (the evaluation re-hashes the box files against the recorded sha256 before summarising)."""

    name = "fake"
    kind = "imported"

    def __init__(self, path, content_hash="a" * 64, n_maps=6, seed=0):
        from cosmobench._io import sha256_file
        from cosmobench.data.track import get_track

        rng = np.random.default_rng(seed)
        self.track = get_track(None)
        self.content_hash = content_hash
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.meta = {"boxes": {}}
        for b in (0, 1):
            f = path / f"box_{b}.npy"
            np.save(f, (np.exp(0.5 * rng.standard_normal((n_maps, 64, 64))) - 1.1).astype(np.float32))
            self.meta["boxes"][str(b)] = {"n_maps": n_maps, "split": "test", "files": {"0": {"file": f.name, "sha256": sha256_file(f)}}}

    def boxes(self, split=None):
        # as ``Source.boxes``: None or "all" lists every box; both boxes are test boxes
        return [0, 1] if split in (None, "all", "test") else []

    def box_maps(self, b):
        return np.load(self.path / f"box_{b}.npy")


@pytest.fixture
def source(tmp_path):
    return _Source(tmp_path / "src")


def test_same_inputs_are_served_from_the_cache(source, summary_cache_dir):
    stats = [MeanStatistic(source.track)]
    assert reference_summaries(source, stats).status == "built"
    again = reference_summaries(source, stats)
    assert again.status == "cached" and len(list(summary_cache_dir.glob("*.npz"))) == 1


def test_a_changed_source_hash_rebuilds(source, summary_cache_dir, tmp_path):
    stats = [MeanStatistic(source.track)]
    first = reference_summaries(source, stats)
    other = _Source(tmp_path / "src2", content_hash="0" * 64)  # the same maps under another hash
    rebuilt = reference_summaries(other, stats)
    assert rebuilt.status == "built" and len(list(summary_cache_dir.glob("*.npz"))) == 2
    np.testing.assert_array_equal(rebuilt.compare[0], first.compare[0])  # same maps, summarised again
    assert reference_summaries(other, stats).status == "cached"
    assert reference_summaries(source, stats).status == "cached"  # the first file is still valid


def test_changed_statistic_settings_or_version_rebuild(source, summary_cache_dir):
    t = source.track
    reference_summaries(source, [PowerStatistic(t)])
    assert reference_summaries(source, [PowerStatistic(t, threads=1)]).status == "cached"  # speed only

    class Bumped(PowerStatistic):
        version = "999"

    assert reference_summaries(source, [Bumped(t)]).status == "built"


_STAT_CODE = '''
import numpy as np
from cosmobench.stats.base import Statistic


class Scaled(Statistic):
    name = "scaled-mean"
    version = "1"
    distance = "abs_mean"

    def summarize(self, maps):
        return {scale} * np.asarray(maps, dtype=np.float64).mean(axis=(1, 2))[:, None]
'''


def _load(path, scale):
    """Write the statistic's module with ``scale`` and import it afresh (a new class object)."""
    path.write_text(textwrap.dedent(_STAT_CODE.format(scale=scale)))
    name = f"_cache_stat_{path.stem}"
    sys.modules.pop(name, None)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # as an import would: the fingerprint finds the file through the module
    spec.loader.exec_module(mod)
    return mod.Scaled


def test_a_changed_statistic_code_rebuilds_without_a_version_bump(source, summary_cache_dir, tmp_path):
    path = tmp_path / "scaled_stat.py"
    old = _load(path, 1.0)(source.track)
    first = reference_summaries(source, [old])
    assert first.status == "built"
    assert reference_summaries(source, [_load(path, 1.0)(source.track)]).status == "cached"
    new = _load(path, 2.0)(source.track)  # same name, version and settings; different code
    assert new.key() == old.key()
    second = reference_summaries(source, [new])
    assert second.status == "built"
    np.testing.assert_allclose(second.compare[0], 2.0 * first.compare[0], rtol=1e-12)


def test_reference_summaries_are_a_typed_result(small_source, summary_cache_dir):
    """Attributes name what the former 13-key dict held; indexing still works, with a DeprecationWarning."""
    import dataclasses

    src = small_source  # test boxes 0, 1 / val 2 / train 3, 32 maps each
    mean, power = MeanStatistic(src.track), PowerStatistic(src.track)
    ref = reference_summaries(src, [mean, power], feature_stat=mean)
    # box 0 is compared with; the null pool is the other test box and the training box, never val
    assert (ref.compare_boxes, ref.pool_boxes, ref.floor_split, ref.n_compare, ref.n_pool) == ([0], [1, 3], "box", 32, 64)
    box = {b: mean.summarize(src.box_maps(b)) for b in (0, 1, 3)}
    np.testing.assert_allclose(ref.compare[0], box[0], rtol=1e-12)
    np.testing.assert_allclose(ref.pool[0], np.concatenate([box[1], box[3]]), rtol=1e-12)
    np.testing.assert_allclose(ref.pool[1], power.summarize(np.concatenate([src.box_maps(1), src.box_maps(3)])), rtol=1e-12)
    # memorisation features: training rows are the training box's, test rows the compare box's then box 1's
    np.testing.assert_allclose(ref.train, box[3], rtol=1e-12)
    np.testing.assert_allclose(ref.test_features, np.concatenate([box[0], box[1]]), rtol=1e-12)
    assert ref.maps.shape == (8, 64, 64) and ref.maps.dtype == np.float32
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.status = "cached"
    old = ref.as_dict()
    assert set(old) == {"compare", "pool", "floor", "train", "test_features", "floor_split", "n_compare", "n_floor",
                        "compare_boxes", "pool_boxes", "groups", "status", "maps"}
    assert old["n_floor"] == 64 and old["groups"] == {"compare": ref.compare_group, "pool": ref.pool_group}
    with pytest.warns(DeprecationWarning, match=r"ReferenceSummaries\['n_floor'\] is deprecated"):
        assert ref["n_floor"] == 64
    with pytest.warns(DeprecationWarning):
        assert ref["floor"][1] is ref.pool[1]
    with pytest.raises(KeyError):
        ref["nope"]


def test_memorisation_reference_half_is_cached_and_a_damaged_file_rebuilt(small_source, summary_cache_dir, monkeypatch):
    """The unseen maps' closeness and its null are measured once per reference (and n), then read back equal."""
    from cosmobench.compare import memorisation
    from cosmobench.stats.diversity import DiversityStatistic
    from cosmobench.summary_cache import cached_closeness_null, cached_unseen

    src = small_source
    feat = DiversityStatistic(src.track)
    ref = reference_summaries(src, [], feature_stat=feat)
    fresh = memorisation.unseen_closeness(ref.test_features, ref.train, test_split=ref.n_compare)
    first = cached_unseen(src, feat, ref.groups, ref.test_features, ref.train, ref.n_compare)
    null = cached_closeness_null(src, feat, ref.groups, first.closeness, 40)
    np.testing.assert_array_equal(null, memorisation.closeness_null(fresh.closeness, 40))

    def refuse(*a, **k):
        raise AssertionError("measured again: the cache was not used")

    measure = {k: getattr(memorisation, k) for k in ("unseen_closeness", "closeness_null")}
    monkeypatch.setattr(memorisation, "unseen_closeness", refuse)
    monkeypatch.setattr(memorisation, "closeness_null", refuse)
    again = cached_unseen(src, feat, ref.groups, ref.test_features, ref.train, ref.n_compare)
    for a, b in ((again.nn_test, fresh.nn_test), (again.closeness, fresh.closeness), (again.u2, fresh.u2)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(cached_closeness_null(src, feat, ref.groups, again.closeness, 40), null)
    with pytest.raises(AssertionError, match="measured again"):  # another n is another null
        cached_closeness_null(src, feat, ref.groups, again.closeness, 7)
    nulls = sorted((summary_cache_dir.parent / "nulls").glob("*.npz"))
    assert len(nulls) == 2
    for f in nulls:
        f.write_bytes(f.read_bytes()[:100])  # truncated on disk
    for k, f in measure.items():
        monkeypatch.setattr(memorisation, k, f)
    rebuilt = cached_unseen(src, feat, ref.groups, ref.test_features, ref.train, ref.n_compare)
    np.testing.assert_array_equal(rebuilt.closeness, fresh.closeness)
    np.testing.assert_array_equal(cached_closeness_null(src, feat, ref.groups, rebuilt.closeness, 40), null)


def test_prefetched_reference_is_the_read_one_and_falls_back_when_stale_or_damaged(small_source, summary_cache_dir):
    """``prefetch_reference`` reads a cached reference in a thread: the same arrays as a direct read; nothing to
    prefetch before the build; a width the model side disagrees with, or a damaged file, falls back to the
    caller's read/build, with the damage warned about in the caller's thread."""
    import warnings as _warnings

    from cosmobench.reference_summaries import prefetch_reference

    src = small_source
    stats = [MeanStatistic(src.track), PowerStatistic(src.track)]
    assert prefetch_reference(src, stats) is None  # nothing cached: the caller builds
    built = reference_summaries(src, stats)
    fut = prefetch_reference(src, stats)
    assert fut is not None
    got = reference_summaries(src, stats, prefetched=fut, widths={"mean": 1, "power": built.compare[1].shape[1]})
    assert got is fut.result().value and got.status == "cached"
    for a, b in zip(got.compare + got.pool, built.compare + built.pool):
        np.testing.assert_array_equal(a, b)
    # the model side's power summaries are wider than the cached ones: stale, rebuilt by the caller
    stale = reference_summaries(src, stats, prefetched=prefetch_reference(src, stats), widths={"power": 99})
    assert stale is not None and stale.status == "built"
    reference_summaries(src, stats)  # back to the right width
    power_file = sorted(summary_cache_dir.glob("*.npz"), key=lambda f: f.stat().st_mtime)[-1]
    with np.load(power_file) as z:
        arrays = {k: z[k] * (2.0 if k != "_checksum" else 1) for k in z.files}
    np.savez(power_file, **arrays)
    with _warnings.catch_warnings():
        _warnings.simplefilter("error")  # the reading thread reports, it does not warn
        fut = prefetch_reference(src, stats)
        fut.result()
    with pytest.warns(UserWarning, match="does not match its checksum"):
        again = reference_summaries(src, stats, prefetched=fut)
    assert again.status == "built"
    for a, b in zip(again.compare + again.pool, built.compare + built.pool):
        np.testing.assert_array_equal(a, b)
