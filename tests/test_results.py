"""Result objects and files: schema v1, old files keep loading, malformed files are explained."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from cosmobench import results
from cosmobench.compare import MetricScore
from cosmobench.data.track import DEFAULT_TRACK
from cosmobench.errors import CosmobenchError
from cosmobench.results import Result, load_result, result_filename

FIXTURES = Path(__file__).parent / "fixtures" / "results"


def _result(name="toy model/v2:best", value=2.0, **kw) -> Result:
    metrics = {
        "power": MetricScore("power", "1", "chi2", value, 1.0, value, (value * 0.9, value * 1.1), extra={"k": np.float64(1)}),
        "pdf": MetricScore("pdf", "1", "hist_w1", 0.011, 0.01, 1.1, (0.009, 0.014)),
        "memorisation": MetricScore("memorisation", "1", "nn_median_ratio", 0.95, 1.0, 0.95, (0.9, 1.0), True),
    }
    defaults = dict(
        metrics=metrics,
        composite=math.sqrt(value * 1.1),
        model={"spec": "x.npy", "name": name, "kind": "samples", "checkpoint_sha256": "ab" * 32, "info": {"n": np.int64(3)}},
        reference={"source": "sim-small", "content_hash": "cd" * 32, "split": "test", "n_compare": 32, "n_floor": 32,
                   "floor_split": "box", "summaries": "built"},
        track=DEFAULT_TRACK,
        n=32,
        seed=3,
        wall_time={"total": 1.0, "sampling": 0.1, "statistics": 0.5, "comparison": 0.2},
        curves={"power": {"coords": {"k": np.arange(3.0)}, "model_mean": [1, 2, 3], "model_std": [0, 0, 0],
                          "ref_mean": [1, 2, 3], "ref_std": [0, 0, 0]}},
        model_maps=np.zeros((8, 64, 64), np.float32),
        reference_maps=np.ones((8, 64, 64), np.float32),
    )
    defaults.update(kw)
    return Result(**defaults)


def test_schema_v1_fixture_loads():
    d = results.read_result_dict(FIXTURES / "schema_v1.json")
    assert d["schema_version"] == results.SCHEMA_VERSION == 2
    assert d["model"]["kind"] == "samples" and d["reference"]["floor_split"] == "box"
    assert {"power", "pdf", "memorisation"} <= set(d["metrics"])
    assert d["metrics"]["memorisation"]["higher_is_better"] is True
    r = load_result(FIXTURES / "schema_v1.json")  # the typed object of the same file
    assert isinstance(r, Result) and isinstance(r.metrics["memorisation"], MetricScore)
    assert r.metrics["memorisation"].higher_is_better is True and r.track.name == d["track"]["name"]
    assert r.metrics["power"].ratio == d["metrics"]["power"]["ratio"] and r.composite == d["composite"]["value"]
    # upgraded: never measured against a null, so the verdict comes from the interval
    power = d["metrics"]["power"]
    assert power["p_value"] is None and power["null"] == {} and power["effects"] == {}
    from cosmobench.compare.verdict import verdict

    assert verdict(power, "power").basis == "interval" and r.metrics["power"].p_value is None


def test_schema_v2_fixture_loads():
    d = results.read_result_dict(FIXTURES / "schema_v2.json")
    assert d["schema_version"] == 2
    for name, m in d["metrics"].items():
        assert 0 < m["p_value"] <= 1 and m["null"]["draws"] == 999, name
    assert d["metrics"]["power"]["effects"]["pk_dev_linear"]["unit"] == "fraction"
    assert d["reference"]["null"]["pool_maps"] == d["reference"]["n_floor"]
    r = load_result(FIXTURES / "schema_v2.json")
    assert r.metrics["power"].p_value == d["metrics"]["power"]["p_value"]


def test_typed_result_round_trips_and_indexing_is_deprecated():
    # a current-schema file (an upgraded v1 file is written back with today's composite definition)
    d = results.read_result_dict(FIXTURES / "schema_v2.json")
    r = Result.from_dict(d)
    assert r.to_dict() == d
    with pytest.warns(DeprecationWarning, match="attributes"):
        assert r["model"] == d["model"]


def test_every_schema_version_has_a_fixture():
    for v in range(1, results.SCHEMA_VERSION + 1):
        assert (FIXTURES / f"schema_v{v}.json").exists(), f"keep a fixture of result schema v{v}"


def test_save_and_load_round_trip(tmp_path):
    r = _result()
    path = r.save(tmp_path)
    assert path.name == f"toy-model-v2-best__sim-small-{r.reference['content_hash'][:8]}__n32__s3.json"
    d = results.read_result_dict(path)
    assert d == json.loads(json.dumps(r.to_dict()))
    assert load_result(path).to_dict() == d
    assert d["git_commit"] is None or len(d["git_commit"]) == 40
    assert d["date"].endswith("Z") and d["model"]["info"] == {"n": 3}
    with np.load(results.maps_path(path)) as npz:
        assert npz["model"].shape == (8, 64, 64) and npz["reference"].shape == (8, 64, 64)


def test_non_finite_numbers_become_null_strict_json(tmp_path):
    path = _result(value=float("nan")).save(tmp_path)

    def refuse(c):
        raise ValueError(c)

    d = json.loads(path.read_text(), parse_constant=refuse)  # no NaN/Infinity tokens
    assert d["metrics"]["power"]["value"] is None
    load_result(path)


def test_result_filename_is_safe():
    d = _result(name="../../etc/passwd").to_dict()
    short = d["reference"]["content_hash"][:8]
    assert result_filename(d) == f"etc-passwd__sim-small-{short}__n32__s3.json"
    d["model"]["name"] = "   "
    assert result_filename(d).startswith("unnamed__")


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda d: "{not json", "not valid JSON"),
        (lambda d: [1, 2], "not an object"),
        (lambda d: {k: v for k, v in d.items() if k != "metrics"}, "missing field 'metrics'"),
        (lambda d: {**d, "n": "32"}, "field 'n' is str"),
        (lambda d: {**d, "schema_version": None}, "schema_version"),
        (lambda d: {**d, "metrics": {"power": {"value": 1.0}}}, "metric 'power' lacks"),
        (lambda d: {**d, "schema_version": 99}, "upgrade cosmobench"),
        # the checks the leaderboard had on its own, now in the one validator
        (lambda d: {**d, "metrics": {}}, "no metrics"),
        (lambda d: {**d, "date": "yesterday"}, "not an ISO date"),
        (lambda d: {**d, "composite": {"value": "low"}}, "composite.value"),
        (lambda d: {**d, "track": {**d["track"], "pixel_size": None}}, "track.pixel_size"),
    ],
)
def test_malformed_files_are_explained(tmp_path, mutate, match):
    d = json.loads((FIXTURES / "schema_v1.json").read_text())
    out = mutate(d)
    path = tmp_path / "bad.json"
    path.write_text(out if isinstance(out, str) else json.dumps(out))
    with pytest.raises(CosmobenchError, match=match):
        load_result(path)


def test_missing_result_file(tmp_path):
    with pytest.raises(CosmobenchError, match="no such result file"):
        load_result(tmp_path / "nope.json")


def test_older_versions_are_upgraded(monkeypatch, tmp_path):
    """The upgrade chain runs step by step (exercised with a pretend v3 after the real v1 -> v2)."""

    def v2_to_v3(d):
        d = dict(d)
        d["reference"] = {**d["reference"], "upgraded": True}
        return d

    monkeypatch.setattr(results, "SCHEMA_VERSION", 3)
    monkeypatch.setitem(results._UPGRADES, 2, v2_to_v3)
    d = results.read_result_dict(FIXTURES / "schema_v1.json")
    assert d["schema_version"] == 3 and d["reference"]["upgraded"] is True
    assert d["metrics"]["power"]["p_value"] is None  # the real v1 -> v2 step ran first


def test_scorecard_and_frame():
    r = _result(value=20.0)
    card = r.scorecard()
    # schema-v1-like metrics without p-values: judged by their interval (power's [18, 22] excludes 1)
    assert "power" in card and "worse than reference" in card and "≈ reference" in card
    frame = r.to_frame()
    assert list(frame["metric"]) == ["power", "pdf", "memorisation"]
    assert frame.loc[frame.metric == "power", "verdict"].item() == "worse than reference"
    assert frame.loc[0, "ratio_lo"] == pytest.approx(18.0)


def test_memorisation_verdict_flags_copying():
    m = {"value": 0.2, "floor": 1.0, "ratio": 0.2, "ci": [0.15, 0.25], "higher_is_better": True, "extra": {}}
    assert results.verdict(m, "memorisation").startswith("copies training maps")
