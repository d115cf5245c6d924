"""Verdicts: the seed's failure modes are flagged, one rule everywhere, p-values calibrated by construction."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage

from cosmobench.compare.null import null_set_size, p_value
from cosmobench.compare.score import copy_p_value
from cosmobench.compare.verdict import ALPHA, holm, verdict
from cosmobench.evaluation import evaluate

N = 2048
FIXTURES = Path(__file__).parent / "fixtures" / "results"


def _augment(maps: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n maps from a few periodic slabs: random flips, transposes and cyclic shifts (all valid δ maps)."""
    rng = np.random.default_rng(seed)
    out = maps[rng.integers(0, maps.shape[0], n)].copy()
    flip = rng.integers(0, 2, (n, 3)).astype(bool)
    out[flip[:, 0]] = out[flip[:, 0], ::-1]
    out[flip[:, 1]] = out[flip[:, 1], :, ::-1]
    out[flip[:, 2]] = out[flip[:, 2]].transpose(0, 2, 1)
    shifts = rng.integers(0, 64, (n, 2))
    rows = (np.arange(64)[None, :] + shifts[:, :1]) % 64
    cols = (np.arange(64)[None, :] + shifts[:, 1:]) % 64
    return out[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]].astype(np.float32)


@pytest.fixture(scope="module")
def corrupted(small_source, tmp_path_factory):
    """Sample files of n = 2048 maps built from unseen (validation) reference maps, clean and corrupted."""
    val = np.concatenate([np.asarray(small_source.box_maps(b)) for b in small_source.boxes("val")])
    train = np.concatenate([np.asarray(small_source.box_maps(b)) for b in small_source.boxes("train")])
    clean = _augment(val, N, 0)
    rng = np.random.default_rng(1)
    template = clean[0]
    files = {
        "clean": clean,
        # the seed DDPM's unexplained bias: δ shifted by +0.1 (still ≥ −1)
        "mean_shift": clean + np.float32(0.1),
        # the seed GAN: one template at different brightnesses
        "collapse": (rng.uniform(0.8, 1.25, (N, 1, 1)) * (1 + template[None]) - 1).astype(np.float32),
        # a quarter of the maps copied from the training boxes
        "partial_copy": np.concatenate([train[rng.integers(0, train.shape[0], N // 4)], clean[N // 4:]]),
        # too little small-scale power: a 1-pixel Gaussian blur
        "wrong_power": scipy.ndimage.gaussian_filter(clean, sigma=(0, 1.0, 1.0), mode="wrap").astype(np.float32),
    }
    out = tmp_path_factory.mktemp("corrupt")
    paths = {}
    for name, maps in files.items():
        paths[name] = out / f"{name}.npy"
        np.save(paths[name], maps)
    return paths


_STATS = ["power", "mean", "diversity", "collapse"]


@pytest.fixture(scope="module")
def scored(corrupted):
    return {name: evaluate(str(p), n=N, source="sim-small", statistics=_STATS, progress=False).to_dict()
            for name, p in corrupted.items()}


@pytest.mark.slow
@pytest.mark.parametrize("mode, metric", [
    ("mean_shift", "mean"), ("collapse", "collapse"), ("partial_copy", "memorisation"), ("wrong_power", "power"),
])
def test_failure_modes_are_flagged_at_n_2048(scored, mode, metric):
    m = scored[mode]["metrics"][metric]
    assert m["p_value"] < 0.01, (mode, metric, m["p_value"])
    assert verdict(m, metric).flagged, (mode, metric, m["p_adjusted"])


@pytest.mark.slow
def test_unseen_real_maps_are_not_flagged_on_those_metrics(scored):
    # (collapse is left out: 2,048 maps made from 32 slabs repeat each slab 64 times, shifted, which it rightly sees)
    m = scored["clean"]["metrics"]
    for name in ("mean", "memorisation"):
        assert verdict(m[name], name).label == "≈ reference", (name, m[name]["p_value"])
    assert scored["partial_copy"]["metrics"]["memorisation"]["extra"]["copy_share"] == pytest.approx(0.25, abs=0.02)
    # with 32 unseen maps setting the threshold, 1/33 of fresh maps fall below it by chance: not a copy signal
    assert m["memorisation"]["extra"]["p_copy"] > 0.05
    assert m["memorisation"]["extra"]["copy_share"] < 2 / 33


def test_p_value_counts_draws_at_least_as_far():
    null = np.arange(1.0, 100.0)  # 99 draws
    assert p_value(1000.0, null) == 1 / 100  # beyond every draw: (0 + 1) / (99 + 1)
    assert p_value(0.0, null) == 1.0
    assert p_value(50.0, null) == (50 + 1) / 100  # 50..99 are >= 50
    assert p_value(50.0, null, "lower") == (50 + 1) / 100
    assert p_value(float("inf"), null) == 1 / 100


def test_p_values_of_fresh_draws_are_uniform():
    """Exchangeable draws: P(p <= alpha) <= alpha, the property the verdict's 5 % level rests on."""
    rng = np.random.default_rng(0)
    ps = np.array([p_value(float(x[0]), x[1:]) for x in rng.chisquare(5, size=(4000, 200))])
    for a in (0.01, 0.05, 0.2):
        assert np.mean(ps <= a) <= a + 3 * np.sqrt(a / 4000)
        assert np.mean(ps <= a) >= a - 3 * np.sqrt(a / 4000) - 1 / 200


def test_holm_is_step_down_and_monotone():
    adj = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": None, "e": 0.5})
    assert adj["d"] is None
    assert adj["a"] == pytest.approx(0.04) and adj["c"] == pytest.approx(0.09) and adj["b"] == pytest.approx(0.09)
    assert adj["e"] == pytest.approx(0.5)
    # family-wise control: 10 null metrics, at most 5 % of families get any flag
    rng = np.random.default_rng(1)
    fams = rng.uniform(size=(4000, 10))
    any_flag = [min(holm(dict(enumerate(f))).values()) <= ALPHA for f in fams]
    assert np.mean(any_flag) <= 0.05 + 3 * np.sqrt(0.05 / 4000)


def test_copy_p_value_matches_a_simulation():
    rng = np.random.default_rng(2)
    n, N, j = 30, 60, 2
    hits = 0
    for _ in range(20000):
        x = rng.standard_normal(n + N)
        hits += np.count_nonzero(x[:n] < x[n:].min()) >= j
    assert copy_p_value(j, n, N) == pytest.approx(hits / 20000, abs=0.006)
    assert copy_p_value(0, n, N) == 1.0


def test_null_set_size_matches_independent_maps():
    # s (1 - s/N) / s... : Var of a without-replacement mean of s rows equals that of `rows` independent maps
    for rows, pool in ((2048, 18432), (100, 1000), (10, 40)):
        s = null_set_size(rows, pool)
        assert abs((1 - s / pool) / s - 1 / rows) / (1 / rows) < 0.02 or s == pool // 2
    assert null_set_size(10_000, 64) == 32  # never more than half the pool


def _outputs_agree(result_path: Path, tmp_path: Path) -> None:
    from cosmobench import results
    from cosmobench.leaderboard import build_leaderboards
    from cosmobench.report import make_report

    d = results.read_result_dict(result_path)
    want = {name: verdict(m, name).label for name, m in d["metrics"].items()}
    card = results.scorecard(d)
    for name, label in want.items():
        line = next(ln for ln in card.splitlines() if ln.startswith(name + " "))
        assert line.rstrip().endswith(label), (name, line)
    html = make_report(result_path, tmp_path / "report").read_text(encoding="utf-8")
    for name, label in want.items():
        row = html[html.index(f"<td class=l>{name} "):]
        row = row[: row.index("</tr>")]
        assert f">{label}</span>" in row, (name, label)
    res = tmp_path / "res"
    res.mkdir()
    shutil.copy(result_path, res / result_path.name)
    maps = results.maps_path(result_path)
    if maps.exists():
        shutil.copy(maps, res / maps.name)
    build_leaderboards(res, tmp_path / "lb")
    import pandas as pd

    csv = pd.read_csv(next((tmp_path / "lb").glob("*.csv")))
    for name, label in want.items():
        assert csv[f"{name}_verdict"].iloc[0] == label, name
    md = next((tmp_path / "lb").glob("*.md")).read_text(encoding="utf-8")
    flagged = [n for n, lab in want.items() if lab != "≈ reference"]
    assert ("worse on: " + ", ".join(flagged)) in md if flagged else "| ≈ reference |" in md


@pytest.mark.slow
def test_score_card_report_and_leaderboard_say_the_same(tmp_path):
    _outputs_agree(FIXTURES / "schema_v2.json", tmp_path)


@pytest.mark.slow
def test_outputs_agree_on_an_upgraded_v1_result(tmp_path):
    _outputs_agree(FIXTURES / "schema_v1.json", tmp_path)


def test_card_never_calls_a_ratio_outside_the_null_band_reference():
    """The n = 64 case: ×2.2 with a bootstrap interval [1.36, 3.26] that excludes 1.

    v1 called it "≈ reference" (its interval reached ×1.5). Now the p-value decides, and the card prints
    the null's own 95 % band beside the ratio: "≈ reference" only when the ratio lies inside that band."""
    from cosmobench.results import scorecard

    d = json.loads((FIXTURES / "schema_v2.json").read_text(encoding="utf-8"))
    m = d["metrics"]["power"]
    for p, band_hi, label in ((0.2, 3.5, "≈ reference"), (0.01, 1.9, "worse than reference")):
        m.update({"ratio": 2.2, "value": 2.2 * m["floor"], "p_value": p, "p_adjusted": p,
                  "extra": {**m["extra"], "ratio_ci": [1.36, 3.26]},
                  "null": {**m["null"], "lo": 0.4 * m["floor"], "hi": band_hi * m["floor"]}})
        line = next(ln for ln in scorecard(d).splitlines() if ln.startswith("power "))
        assert line.rstrip().endswith(label) and f"–×{band_hi:.2g}" in line
    # a v1 metric (no p-value) with that interval is flagged: it excludes 1
    assert verdict({"ratio": 2.2, "ci": [1, 2], "value": 1.5, "extra": {"ratio_ci": [1.36, 3.26]}}).flagged


@pytest.mark.slow
def test_calibration_on_the_small_config(small_source):
    """Held-out sets of real maps are scored as models against a null they never saw (the calibration command).

    Eight small boxes (a null pool of six): with the fixture's four, each half of the pool is one 32-map box and
    power is over-flagged (60 % raw) — a pool that small cannot be calibrated, which the command shows. A wrong
    tail, a p-value of k/K, or a null drawn from the compare set would flag most sets."""
    from cosmobench.calibration import calibrate, format_calibration
    from cosmobench.data.store import build_simulated

    src = build_simulated(name="sim-small-8", config="small", boxes=8, progress=False)
    rep = calibrate(src, n=16, sets=20, statistics=["power", "pdf", "mean", "peaks"], null_draws=99)
    assert set(rep["metrics"]) == {"power", "pdf", "mean", "peaks"} and rep["sets"] == 20
    for name, m in rep["metrics"].items():
        assert m["flagged_verdict"] <= 0.15 and m["flagged_raw"] <= 0.3, (name, m)
        assert 0.5 < m["median_ratio"] < 2, (name, m)
    assert "| power |" in format_calibration(rep)
