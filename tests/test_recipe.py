"""A simulated reference is its recipe: recipe ids, earlier recipes, and two builds that score alike.

Two builds of one recipe differ in round-off only (FFTW plans, thread counts; the particle mesh
amplifies it), so their content hashes differ but every statistic must see the same reference: scored
against one another, each metric lies far inside its noise floor.
"""

from __future__ import annotations

import json
import types

import numpy as np
import pytest

from cosmobench.data import simulator, store
from cosmobench.data.store import build_simulated, get_source
from cosmobench.errors import CosmobenchError

from test_store import FakeSim


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COSMOBENCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _real_configs_fake_dynamics():
    """The real configs and version with a fast lognormal stand-in for the dynamics."""
    fake = FakeSim()
    return types.SimpleNamespace(SIM_CONFIGS=simulator.SIM_CONFIGS, SIMULATOR_VERSION=simulator.SIMULATOR_VERSION,
                                 config_from_dict=simulator.config_from_dict, simulate=fake.simulate, calls=fake.calls)


def test_recipe_id_is_the_recipe_not_the_files(home, monkeypatch):
    sim = _real_configs_fake_dynamics()
    monkeypatch.setattr(store, "_get_simulator", lambda: sim)
    a = build_simulated(name="sim-small", boxes=2, progress=False)
    meta = dict(a.meta)
    assert meta["simulator"]["version"] == simulator.SIMULATOR_VERSION and meta["recipe_id"] == a.recipe_id
    # Other file contents (another machine's round-off), same recipe: same recipe id, other content hash.
    other = json.loads(json.dumps(meta))
    other["boxes"]["0"]["sha256"] = "0" * 64
    assert store.recipe_id(other) == a.recipe_id and store.content_hash(other) != a.content_hash
    # Anything that changes the maps changes it: a box more, another seed, config, simulator version.
    assert build_simulated(name="sim-small", boxes=3, progress=False).recipe_id != a.recipe_id
    for key, value in (("base_seed", 1), ("simulator", {**meta["simulator"], "version": 1})):
        assert store.recipe_id({**meta, key: value}) != a.recipe_id
    cfg = dict(meta["simulator"]["config"], paint_refine=1)
    assert store.recipe_id({**meta, "simulator": {**meta["simulator"], "config": cfg}}) != a.recipe_id
    # Imported files have no recipe: their identity is their content hash.
    assert store.recipe_id({"kind": "camels", "content_hash": "abc"}) == "abc"


def test_version1_source_keeps_loading_and_extends_with_its_own_recipe(home, monkeypatch, capsys):
    sim = _real_configs_fake_dynamics()
    monkeypatch.setattr(store, "_get_simulator", lambda: sim)
    src = build_simulated(name="sim-small", config="small-v1", boxes=1, progress=False)
    # Rewrite it as the code before version 2 wrote it: no version, no paint_refine/ic_grid, name "small".
    meta = json.loads((src.path / "meta.json").read_text())
    meta["simulator"] = {"config_name": "small",
                         "config": {k: v for k, v in meta["simulator"]["config"].items()
                                    if k not in ("paint_refine", "ic_grid")}}
    del meta["recipe_id"]
    (src.path / "meta.json").write_text(json.dumps(meta))
    old = get_source("sim-small")
    old.verify()
    assert old.recipe_id == store.recipe_id(meta)  # computed for a source written before recipe ids
    capsys.readouterr()
    grown = build_simulated(name="sim-small", boxes=2, progress=False)  # no config: the source's own
    assert "earlier recipe 'small-v1'" in capsys.readouterr().err
    assert grown.boxes() == [0, 1] and "version" not in grown.meta["simulator"]
    with pytest.raises(CosmobenchError, match="--config small-v1"):
        build_simulated(name="sim-small", config="small", boxes=3, progress=False)
    assert simulator.config_from_dict(meta["simulator"]["config"]) == simulator.SIM_CONFIGS["small-v1"]


def _summaries_of(src, stats, group):
    maps = group.load(src)
    return [np.asarray(s.summarize(maps), dtype=np.float64) for s in stats]


def test_two_builds_of_one_recipe_score_alike(small_source, tmp_path, monkeypatch):
    """Threads 1 vs 2 and estimated vs measured FFTW plans: every metric within 1% of its noise floor."""
    from cosmobench.compare.score import score_statistic
    from cosmobench.reference_split import split_plan
    from cosmobench.stats import default_statistics

    a = small_source  # built with all CPUs (2 here) and measured plans
    monkeypatch.setenv("COSMOBENCH_HOME", str(tmp_path / "other-machine"))
    monkeypatch.setenv("COSMOBENCH_THREADS", "1")
    monkeypatch.setenv("COSMOBENCH_FFTW_PLANNER", "estimate")
    b = build_simulated(name="sim-small", boxes=a.n_boxes, progress=False)
    assert b.recipe_id == a.recipe_id
    compare, floor, _ = split_plan(a)
    stats = default_statistics(a.track, sigma0=a.sigma0)
    a_cmp, a_floor = _summaries_of(a, stats, compare), _summaries_of(a, stats, floor)
    b_cmp = _summaries_of(b, stats, compare)
    ratios = {}
    for stat, bc, ac, af in zip(stats, b_cmp, a_cmp, a_floor):
        m = score_statistic(stat, bc, ac, af, seed=0, n_boot=2, n_floor_draws=1)
        ratios[stat.name] = m.value / m.floor
    print("two-build |score| / floor:", {k: f"{v:.2e}" for k, v in ratios.items()})
    assert max(ratios.values()) < 0.01, ratios
    # Not vacuous: a different recipe (another base seed) is a fresh draw, about one floor away.
    c = build_simulated(name="sim-small-seed1", config="small", boxes=2, seed=1, progress=False)
    c_cmp = _summaries_of(c, stats, compare)
    far = [score_statistic(s, cc, ac, af, seed=0, n_boot=2, n_floor_draws=1) for s, cc, ac, af in
           zip(stats, c_cmp, a_cmp, a_floor)]
    assert np.median([m.value / m.floor for m in far]) > 0.2


def test_results_and_leaderboard_key_on_the_recipe(tmp_path):
    """Two machines' results for one recipe share a file name and a leaderboard section; old files keep theirs."""
    from pathlib import Path

    from cosmobench.leaderboard import build_leaderboards
    from cosmobench.results import result_filename

    demo = Path(__file__).parent / "fixtures" / "results_demo"
    base = json.loads(next(p for p in sorted(demo.glob("*.json"))
                           if json.loads(p.read_text())["track"]["name"] == "quijote-z0").read_text())
    out = tmp_path / "results"
    out.mkdir()
    names = []
    for k, (chash, model) in enumerate((("1" * 64, "m-one"), ("2" * 64, "m-two"))):
        r = json.loads(json.dumps(base))
        r["model"]["name"] = model
        r["reference"].update(source="sim", content_hash=chash, recipe_id="f" * 64)
        names.append(result_filename(r))
        (out / f"{k}.json").write_text(json.dumps(r))
    assert [n.split("__")[1] for n in names] == ["sim-ffffffff"] * 2
    old = json.loads(json.dumps(base))
    old["reference"].update(source="sim", content_hash="3" * 64)
    old["reference"].pop("recipe_id", None)
    assert result_filename(old).split("__")[1] == "sim-33333333"
    (out / "old.json").write_text(json.dumps(old))
    build_leaderboards(out, tmp_path / "lb")
    md = (tmp_path / "lb" / "quijote-z0.md").read_text()
    assert md.count("## Reference source") == 2 and "reference id `ffffffff`" in md and "`33333333`" in md
    section = md.split("reference id `ffffffff`")[1].split("## ")[0]
    assert "m-one" in section and "m-two" in section
