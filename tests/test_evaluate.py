"""``evaluate`` end to end on the small simulated source: determinism, batch independence, cache, errors."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import cosmobench
from cosmobench import registry, summary_cache
from cosmobench.errors import CosmobenchError
from cosmobench.evaluation import chunk_seed, evaluate
from cosmobench.reference_split import split_plan

# The module, not the package-level function of the same name.
evaluate_module = importlib.import_module("cosmobench.evaluation")
N = 32


class Lognormal:
    """Deterministic-in-seed lognormal maps (white Gaussian: fast, δ > −1)."""

    name = "lognormal-test"

    def __init__(self, sigma=0.7):
        self.sigma = sigma
        self.calls = []

    def sample(self, n, *, seed):
        self.calls.append((n, seed))
        g = np.random.default_rng(seed).standard_normal((n, 64, 64))
        return (np.exp(self.sigma * g - self.sigma**2 / 2) - 1).astype(np.float32)


def values(result):
    return {k: (m.value, m.floor, m.ratio, tuple(m.ci)) for k, m in result.metrics.items()}


@pytest.fixture(scope="module")
def first(small_source):
    """One default evaluation shared by the read-only checks (the first one pays numba's compile time)."""
    return evaluate(Lognormal(), n=N, source="sim-small", progress=False)


def test_result_content(first, small_source):
    r = first
    assert r.n == N and r.seed == 0 and r.model["kind"] == "object" and r.model["name"] == "lognormal-test"
    assert r.reference["source"] == "sim-small" and r.reference["content_hash"] == small_source.content_hash
    assert r.reference["floor_split"] == "box" and r.reference["n_compare"] == 32
    assert r.reference["n_floor"] == 64 and r.reference["null"]["pool_boxes"] == [1, 3]  # other test box + train
    assert all(0 < m.p_value <= 1 and m.p_adjusted >= m.p_value for k, m in r.metrics.items() if k != "validity")
    assert r.metrics["validity"].p_value is None and r.metrics["validity"].value == 1.0  # no null: never in Holm
    assert {"power", "pdf", "diversity", "memorisation"} <= set(r.metrics)
    assert np.isfinite(r.composite) and r.composite > 1  # white noise is not the cosmic web
    assert set(r.wall_time) >= {"total", "sampling", "statistics", "comparison"}
    assert r.model_maps.shape == (8, 64, 64) and r.reference_maps.shape == (8, 64, 64)
    c = r.curves["power"]
    assert len(c["coords"]["k"]) == len(c["model_mean"]) == len(c["ref_mean"])


def test_package_level_evaluate_is_callable(first):
    assert callable(cosmobench.evaluate)  # the package-level function, not a module


def test_same_seed_same_numbers_other_seed_other_numbers(first):
    again = evaluate(Lognormal(), n=N, source="sim-small", progress=False)
    assert values(again) == values(first)
    assert again.reference["summaries"] == "cached"
    other = evaluate(Lognormal(), n=N, source="sim-small", seed=1, progress=False)
    assert values(other)["power"] != values(first)["power"]


def test_batch_size_does_not_change_results(small_source, monkeypatch):
    monkeypatch.setattr(evaluate_module, "SEED_CHUNK", 16)  # several seed chunks at small n
    stats = ["power", "pdf", "diversity"]
    gens = [Lognormal(), Lognormal()]
    a = evaluate(gens[0], n=40, source="sim-small", batch_size=7, statistics=stats, progress=False)
    b = evaluate(gens[1], n=40, source="sim-small", batch_size=64, statistics=stats, progress=False)
    assert values(a) == values(b)
    assert gens[0].calls == gens[1].calls == [(16, chunk_seed(0, 0)), (16, chunk_seed(0, 1)), (8, chunk_seed(0, 2))]


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".h5"])
def test_sample_files_score_like_the_maps_they_hold(small_source, tmp_path, suffix):
    maps = Lognormal().sample(N + 5, seed=3)
    path = tmp_path / f"samples{suffix}"
    if suffix == ".npy":
        np.save(path, maps)
    elif suffix == ".npz":
        np.savez(path, samples=maps)
    else:
        import h5py

        with h5py.File(path, "w") as fh:
            fh.create_dataset("samples", data=maps)
    stats = ["power", "pdf", "mean"]
    r = evaluate(str(path), n=N, source="sim-small", statistics=stats, progress=False)
    assert r.model["kind"] == "samples" and r.model["name"] == "samples" and len(r.model["checkpoint_sha256"]) == 64

    class Fixed:
        def sample(self, n, *, seed):
            return maps[:n]

    ref = evaluate(Fixed(), n=N, source="sim-small", statistics=stats, progress=False)
    assert values(r) == values(ref)


class _Stored:
    """An ``ordered`` generator that is not a sample file: evaluate must walk it with take(), never seed it."""

    ordered = True

    def __init__(self, maps):
        self.maps, self.taken = maps, []

    def __len__(self):
        return len(self.maps)

    def take(self, start, stop):
        self.taken.append((start, stop))
        return self.maps[start:stop]

    def sample(self, n, *, seed):
        raise AssertionError("an ordered generator is read with take(), not sample()")


def test_ordered_generators_are_read_in_order(small_source, monkeypatch):
    """The protocol's ``ordered`` capability, not the sample-file class, is what evaluate reads in order."""
    maps = Lognormal().sample(N + 5, seed=3)
    stats = ["power", "mean"]

    class Fixed:
        def sample(self, n, *, seed):
            return maps[:n]

    one_chunk = evaluate(_Stored(maps), n=N, source="sim-small", statistics=stats, progress=False)
    assert values(one_chunk) == values(evaluate(Fixed(), n=N, source="sim-small", statistics=stats, progress=False))
    monkeypatch.setattr(evaluate_module, "SEED_CHUNK", 16)
    gen = _Stored(maps)
    chunked = evaluate(gen, n=N, source="sim-small", statistics=stats, progress=False)
    assert gen.taken == [(0, 16), (16, 32)] and values(chunked) == values(one_chunk)
    with pytest.raises(CosmobenchError, match=f"holds {N + 5} maps but n={N + 8}"):
        evaluate(_Stored(maps), n=N + 8, source="sim-small", statistics=stats, progress=False)

    class HalfOrdered:
        ordered = True

        def sample(self, n, *, seed):
            return maps[:n]

    with pytest.raises(CosmobenchError, match="ordered = True but has no take"):
        evaluate(HalfOrdered(), n=N, source="sim-small", statistics=stats, progress=False)


def test_too_few_maps_in_file(small_source, tmp_path):
    path = tmp_path / "few.npy"
    np.save(path, Lognormal().sample(5, seed=0))
    with pytest.raises(CosmobenchError, match="holds 5 maps but n=32"):
        evaluate(str(path), n=N, source="sim-small", progress=False)


def test_registered_name(small_source):
    registry.register("lognormal-test", lambda *, checkpoint=None, track=None: Lognormal())
    try:
        r = evaluate("lognormal-test", n=N, source="sim-small", statistics=["mean"], progress=False)
    finally:
        registry.unregister("lognormal-test")
    assert r.model["kind"] == "registered" and r.model["spec"] == "lognormal-test"


def test_corrupt_cache_is_rebuilt(small_source, tmp_path, monkeypatch):
    monkeypatch.setattr(summary_cache, "cache_dir", lambda: tmp_path / "cache")  # this test's files only
    stats = ["power", "mean"]
    a = evaluate(Lognormal(), n=N, source="sim-small", statistics=stats, progress=False)
    assert a.reference["summaries"] == "built"
    files = sorted((tmp_path / "cache").glob("*.npz"))
    assert len(files) == 3  # power, mean, diversity features (compare group and null pool, which holds train)
    for f in files:
        f.write_bytes(b"not an npz at all")
    b = evaluate(Lognormal(), n=N, source="sim-small", statistics=stats, progress=False)
    assert b.reference["summaries"] == "built" and values(a) == values(b)
    c = evaluate(Lognormal(), n=N, source="sim-small", statistics=stats, progress=False)
    assert c.reference["summaries"] == "cached"
    # Stale but well-formed files (a statistic changed width without a version bump) are rebuilt too.
    for f in files:
        with np.load(f) as npz:
            arrays = {k: np.zeros((npz[k].shape[0], npz[k].shape[1] + 1)) for k in npz.files if k != "_checksum"}
        np.savez(f, **arrays)
    with pytest.warns(UserWarning, match="does not match its checksum"):
        d = evaluate(Lognormal(), n=N, source="sim-small", statistics=stats, progress=False)
    assert d.reference["summaries"] == "built" and values(d) == values(a)


class Bad:
    """Broken outputs in the second chunk, to check that errors name the batch."""

    def __init__(self, kind):
        self.kind = kind

    def sample(self, n, *, seed):
        maps = Lognormal().sample(n, seed=seed)
        if seed != chunk_seed(0, 1):
            return maps
        if self.kind == "nan":
            maps[3, 5, 5] = np.nan
        elif self.kind == "count":
            maps = maps[:-1]
        elif self.kind == "shape":
            maps = maps[:, :32, :32]
        elif self.kind == "int":
            maps = maps.astype(np.int32)
        return maps


@pytest.mark.parametrize("kind, match", [("nan", "NaN"), ("count", "instead of 16"),
                                         ("shape", "32x32"), ("int", "not floating point")])
def test_bad_generator_output_names_the_batch(small_source, monkeypatch, kind, match):
    monkeypatch.setattr(evaluate_module, "SEED_CHUNK", 16)
    with pytest.raises(CosmobenchError, match=match) as info:
        evaluate(Bad(kind), n=N, source="sim-small", statistics=["mean"], progress=False)
    assert "batch 1 (maps 16..31)" in str(info.value)


def test_argument_checks(small_source):
    for kw, match in [({"n": 1}, "n must be"), ({"batch_size": 0}, "batch_size"), ({"seed": -1}, "seed"),
                      ({"statistics": ["nope"]}, "unknown statistic"), ({"source": "no-such-source"}, "no reference source"),
                      ({"track": "camels-mtot-z0"}, "holds track")]:
        with pytest.raises(CosmobenchError, match=match):
            evaluate(Lognormal(), **{"n": N, "source": "sim-small", "progress": False, **kw})


class _FakeSource:
    name = "fake"

    def __init__(self, test, n_maps=10, train=()):
        self._test, self._train = list(test), list(train)
        self.meta = {"boxes": {str(b): {"n_maps": n_maps} for b in [*test, *train]}}

    def boxes(self, split=None):
        return {"test": self._test, "train": self._train}.get(split, sorted(self._test + self._train) if split is None else [])


def test_floor_split_by_box_and_by_tile():
    compare, floor, how = split_plan(_FakeSource([0, 1, 10, 11]))
    assert how == "box" and [p[0] for p in compare.pieces] == [0, 10] and [p[0] for p in floor.pieces] == [1, 11]
    compare, floor, how = split_plan(_FakeSource([4], n_maps=9))
    assert how == "tile" and compare.pieces == ((4, 0, 4),) and floor.pieces == ((4, 4, 9),)
    # the null pool also takes the training boxes (never the validation ones)
    compare, pool, how = split_plan(_FakeSource([0, 1], train=[3, 4]))
    assert [p[0] for p in compare.pieces] == [0] and [p[0] for p in pool.pieces] == [1, 3, 4]
    with pytest.raises(CosmobenchError, match="no test boxes"):
        split_plan(_FakeSource([]))


def test_group_load_rows_is_load_then_index_across_pieces():
    """The report's kept maps are read row by row (``load_rows``): the same maps as loading the group and indexing it."""
    from cosmobench.reference_split import Group

    class Maps:
        def box_maps(self, b):
            return np.arange(10 * 2 * 2, dtype=np.float32).reshape(10, 2, 2) + 1000 * b

    group = Group(((0, 2, 6), (3, 0, 5), (7, 4, 9)))  # 4 + 5 + 5 rows, pieces not starting at 0
    rows = np.array([0, 3, 4, 8, 9, 13])  # first and last row of each piece
    np.testing.assert_array_equal(group.load_rows(Maps(), rows), group.load(Maps())[rows])


class _Bar:
    """A stand-in progress bar recording its updates."""

    disable = False

    def __init__(self, *a, **k):
        self.n, self.updates = 0, []

    def update(self, k):
        self.n += k
        self.updates.append(k)

    def close(self):
        pass


def test_progress_moves_per_sampler_step(small_source, monkeypatch):
    """A generator that reports its steps moves the bar inside a chunk; the bar ends at n maps exactly."""
    bars = []
    monkeypatch.setattr(evaluate_module, "map_bar", lambda *a, **k: bars.append(_Bar()) or bars[-1])
    monkeypatch.setattr(evaluate_module, "SEED_CHUNK", 16)

    class Stepper(Lognormal):
        def sample(self, n, *, seed, progress=None):
            for _ in range(4):  # four "sampler steps", each a quarter of the chunk's maps
                progress(n / 4)
            return super().sample(n, seed=seed)

    evaluate(Stepper(), n=N, source="sim-small", statistics=["mean"], progress=True)
    bar = bars[0]
    assert bar.n == N and bar.updates.count(4.0) == 8  # 2 chunks × 4 steps of 16/4 maps
    bars.clear()
    evaluate(Lognormal(), n=N, source="sim-small", statistics=["mean"], progress=True)
    assert bars[0].n == N and bars[0].updates == [16, 16]  # one update per chunk for plain generators
