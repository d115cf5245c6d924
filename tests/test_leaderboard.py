"""Leaderboards from (synthetic) result files: rows, columns, order, sections, CSV round trip, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cosmobench.errors import CosmobenchError
from cosmobench.leaderboard import build_leaderboards

from _demo import DEMO, gen


SIM, QUI, CAM = "a" * 8 + "1" * 56, "b" * 8 + "2" * 56, "c" * 8 + "3" * 56


def write(dirpath: Path, name: str, result: dict) -> Path:
    p = dirpath / f"{name}.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(result))
    return p


@pytest.fixture
def demo_results(tmp_path):
    """The committed synthetic results: 2 tracks, 3 sources, one model with 2 seeds."""
    d = tmp_path / "results"
    shutil.copytree(DEMO, d, ignore=shutil.ignore_patterns("*.py", "*.npz", "__pycache__"))
    return d


def test_writes_md_and_csv_per_track(demo_results, tmp_path):
    out = tmp_path / "lb"
    paths = build_leaderboards(demo_results, out)
    assert [p.name for p in paths] == ["camels-mtot-z0.md", "camels-mtot-z0.csv", "quijote-z0.md", "quijote-z0.csv"]
    assert all(p.is_file() for p in paths)


def test_markdown_header_legend_and_sections(demo_results, tmp_path):
    build_leaderboards(demo_results, tmp_path / "lb")
    md = (tmp_path / "lb" / "quijote-z0.md").read_text()
    assert "Generated from result files by `cosmobench leaderboard`" in md
    assert "do not edit by hand" in md
    assert "sets of real reference maps" in md  # the ×floor legend
    # one section per source, never mixed
    assert md.count("## Reference source") == 2
    qsec, ssec = md.split("## Reference source `demo-quijote`")[1].split("## Reference source `demo-sim`")
    assert "demo-sim (aaaaaaaa)" not in qsec and "demo-quijote (bbbbbbbb)" in qsec
    assert "demo-quijote" not in ssec and ssec.count("demo-sim (aaaaaaaa)") == 3
    header = next(line for line in ssec.splitlines() if line.startswith("| #"))
    for col in ("model", "composite (×floor)", "power", "pdf", "diversity", "source", "n", "seed(s)", "date", "commit"):
        assert f" {col} |" in header
    # order: composite ascending
    rows = [line for line in ssec.splitlines() if line.startswith("| ") and not line.startswith("| #")]
    assert [r.split("|")[2].strip() for r in rows] == ["demo-diffusion", "demo-gan", "demo-lognormal"]
    # "value (×ratio)" formatting
    assert "(×" in rows[0].split("|")[4]
    camels = (tmp_path / "lb" / "camels-mtot-z0.md").read_text()
    assert "demo-sim" not in camels and camels.count("## Reference source") == 1


def test_csv_round_trips_and_aggregates_seeds(demo_results, tmp_path):
    build_leaderboards(demo_results, tmp_path / "lb")
    df = pd.read_csv(tmp_path / "lb" / "quijote-z0.csv", dtype={"seeds": str, "commit": str})
    assert len(df) == 4
    for col in ("track", "rank", "model", "composite", "power", "power_xfloor", "pdf_xfloor", "source",
                "source_hash", "n", "n_seeds", "seeds", "date", "commit"):
        assert col in df.columns
    assert set(df["track"]) == {"quijote-z0"}
    sim = df[df["source_hash"] == SIM].reset_index(drop=True)
    assert list(sim["model"]) == ["demo-diffusion", "demo-gan", "demo-lognormal"]
    assert list(sim["rank"]) == [1, 2, 3]
    assert np.all(np.diff(sim["composite"]) > 0)
    gan = sim[sim["model"] == "demo-gan"].iloc[0]
    assert gan["n_seeds"] == 2 and gan["seeds"] == "0,1" and np.isfinite(gan["composite_sd"])
    # aggregate over seeds: values by their mean, ×floor and composite by their geometric mean
    files = [json.loads(p.read_text()) for p in sorted(demo_results.glob("demo-gan_quijote-z0_demo-sim_*.json"))]
    ratios = [d["metrics"]["power"]["ratio"] for d in files]
    values = [d["metrics"]["power"]["value"] for d in files]
    assert ratios[0] != pytest.approx(ratios[1], rel=1e-3)  # else mean and geometric mean agree
    assert gan["power_xfloor"] == pytest.approx(np.sqrt(ratios[0] * ratios[1]), rel=1e-5)
    assert gan["power"] == pytest.approx(np.mean(values), rel=1e-5)
    comps = [d["composite"]["value"] for d in files]
    assert gan["composite"] == pytest.approx(np.sqrt(comps[0] * comps[1]), rel=1e-5)
    assert df[df["source_hash"] == QUI]["model"].tolist() == ["demo-gan"]


def test_row_verdict_keeps_seed_mixed_metrics_apart_from_flagged_ones():
    from cosmobench.leaderboard import _row_verdict

    assert _row_verdict(["power", "pdf"], ["≈ reference", "n/a"]) == "≈ reference"
    assert _row_verdict(["power", "pdf", "mean"], ["worse than reference", "mixed", "≈ reference"]) == (
        "worse on: power; mixed over seeds: pdf")
    assert _row_verdict(["memorisation"], ["mixed"]) == "mixed over seeds: memorisation"


def test_geometric_mean_over_seeds():
    from cosmobench.leaderboard import geometric_mean

    assert geometric_mean([0.25, 4.0]) == pytest.approx(1.0)  # a perfect model's skewed ×floor draws
    assert geometric_mean([2.0, float("nan"), 8.0]) == pytest.approx(4.0)
    assert geometric_mean([0.0, 3.0]) == 0.0
    assert np.isnan(geometric_mean([float("nan")]))


def test_rerun_of_same_seed_supersedes(tmp_path):
    d = tmp_path / "results"
    old = gen.result("m", "quijote-z0", "s", SIM, 64, 0, "2026-01-01T00:00:00Z", 2.0)
    new = gen.result("m", "quijote-z0", "s", SIM, 64, 0, "2026-02-01T00:00:00Z", 0.0)
    write(d, "old", old)
    write(d / "sub", "new", new)  # recursive search
    build_leaderboards(d, tmp_path / "lb")
    df = pd.read_csv(tmp_path / "lb" / "quijote-z0.csv")
    assert len(df) == 1 and df["n_seeds"][0] == 1
    assert df["composite"][0] == pytest.approx(new["composite"]["value"], rel=1e-5)


def test_different_n_are_separate_rows(tmp_path):
    d = tmp_path / "results"
    write(d, "a", gen.result("m", "quijote-z0", "s", SIM, 64, 0, "2026-01-01T00:00:00Z", 0.5))
    write(d, "b", gen.result("m", "quijote-z0", "s", SIM, 256, 0, "2026-01-01T00:00:00Z", 0.5))
    build_leaderboards(d, tmp_path / "lb")
    df = pd.read_csv(tmp_path / "lb" / "quijote-z0.csv")
    assert sorted(df["n"]) == [64, 256]


def test_malformed_file_names_the_file(tmp_path):
    d = tmp_path / "results"
    write(d, "good", gen.result("m", "quijote-z0", "s", SIM, 64, 0, "2026-01-01T00:00:00Z", 0.5))
    bad = d / "broken.json"
    bad.write_text('{"schema_version": 1, "model": ')
    with pytest.raises(CosmobenchError, match="broken.json"):
        build_leaderboards(d, tmp_path / "lb")
    assert not (tmp_path / "lb").exists() or not list((tmp_path / "lb").iterdir())


@pytest.mark.parametrize("mutate, what", [
    (lambda r: r.pop("metrics"), "metrics"),
    (lambda r: r["reference"].pop("content_hash"), "content_hash"),
    (lambda r: r["metrics"]["power"].update(value="big"), "value"),
    (lambda r: r.update(date="yesterday"), "date"),
])
def test_missing_or_wrong_fields(tmp_path, mutate, what):
    d = tmp_path / "results"
    r = gen.result("m", "quijote-z0", "s", SIM, 64, 0, "2026-01-01T00:00:00Z", 0.5)
    mutate(r)
    write(d, "bad", r)
    with pytest.raises(CosmobenchError, match=rf"bad\.json.*{what}"):
        build_leaderboards(d, tmp_path / "lb")


def test_empty_or_missing_directory(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CosmobenchError, match="no result files"):
        build_leaderboards(tmp_path / "empty", tmp_path / "lb")
    with pytest.raises(CosmobenchError, match="does not exist"):
        build_leaderboards(tmp_path / "nope", tmp_path / "lb")


def test_hidden_and_companion_files_ignored(tmp_path):
    d = tmp_path / "results"
    write(d, "ok", gen.result("m", "quijote-z0", "s", SIM, 64, 0, "2026-01-01T00:00:00Z", 0.5))
    (d / ".ok.json.abc.tmp").write_text("half")
    (d / ".partial.json").write_text("half")
    np.savez(d / "ok.maps.npz", model=np.zeros((1, 2, 2)), reference=np.zeros((1, 2, 2)))
    assert len(build_leaderboards(d, tmp_path / "lb")) == 2


def test_missing_numbers_show_as_dash(tmp_path):
    d = tmp_path / "results"
    r = gen.result("m", "quijote-z0", "s", SIM, 64, 0, "2026-01-01T00:00:00Z", 0.5)
    r["metrics"]["power"].update(value=None, ratio=None)
    r["composite"]["value"] = None
    write(d, "r", r)
    build_leaderboards(d, tmp_path / "lb")
    df = pd.read_csv(tmp_path / "lb" / "quijote-z0.csv")
    assert "power" in df.columns and df["power"].isna().all() and df["composite"].isna().all()
    row = (tmp_path / "lb" / "quijote-z0.md").read_text().strip().splitlines()[-1]
    assert row.split("|")[3].strip() == "—" and row.split("|")[4].strip() == "—"
