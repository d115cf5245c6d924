"""The visual report: PNGs and one self-contained HTML page, robust to missing curves and maps."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from cosmobench import presentation
from cosmobench.errors import CosmobenchError
from cosmobench.report import make_report

from _demo import DEMO, gen
STEM = "demo-gan_quijote-z0_demo-sim_n1024_s0"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
IMG = '<img src="data:image/png;base64,'




@pytest.fixture
def demo(tmp_path):
    for suffix in (".json", ".maps.npz"):
        shutil.copy(DEMO / f"{STEM}{suffix}", tmp_path / f"{STEM}{suffix}")
    return tmp_path / f"{STEM}.json"


def test_full_report(demo, tmp_path):
    out = tmp_path / "out"
    html_path = make_report(demo, out)
    assert html_path == out / f"{STEM}.html"
    html = html_path.read_text()
    pngs = sorted(out.glob("*.png"))
    names = {p.name[len(STEM) + 1 : -4] for p in pngs}
    assert names == {"xfloor", "power", "pdf", "onepoint", "minkowski", "structures", "peaks", "bispectrum",
                     "diversity", "maps"}
    assert all(p.read_bytes().startswith(PNG_MAGIC) for p in pngs)
    assert html.count(IMG) == len(pngs)
    # the embedded images are the PNGs on disk
    import base64

    embedded = [base64.b64decode(m) for m in re.findall(r'data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]
    assert sorted(embedded) == sorted(p.read_bytes() for p in pngs)
    # self-contained: nothing fetched from elsewhere
    assert "http://" not in html and "https://" not in html and "<script" not in html
    # metrics table and provenance
    result = json.loads(demo.read_text())
    for name in result["metrics"]:
        assert f"<td class=l>{name} " in html
    for text in ("×floor", "floor", "CI", "verdict", "demo:demo-gan", result["reference"]["content_hash"], "Provenance"):
        assert text in html


def test_default_out_dir(demo):
    html_path = make_report(demo)
    assert html_path == demo.parent / f"{STEM}_report" / f"{STEM}.html"
    assert html_path.is_file()


def test_missing_companion_maps_is_fine(demo, tmp_path):
    (demo.parent / f"{STEM}.maps.npz").unlink()
    html = make_report(demo, tmp_path / "out").read_text()
    assert not (tmp_path / "out" / f"{STEM}_maps.png").exists()
    assert html.count(IMG) == 9


def test_missing_and_odd_curves_are_skipped(tmp_path):
    r = gen.result("m", "camels-mtot-z0", "s", "c" * 64, 64, 0, "2026-01-01T00:00:00Z", 0.5)
    curves = r["curves"]
    del curves["power"], curves["minkowski"]
    curves["pdf"]["coords"] = {}  # no coords → plotted against the bin index
    curves["peaks"]["model_mean"] = curves["peaks"]["model_mean"][:-1]  # inconsistent → skipped
    curves["bispectrum"].pop("model_std")  # no spread → zero band
    p = tmp_path / "r.json"
    p.write_text(json.dumps(r))
    out = tmp_path / "out"
    html = make_report(p, out).read_text()
    names = {x.name[2:-4] for x in out.glob("*.png")}
    assert names == {"xfloor", "pdf", "onepoint", "structures", "bispectrum", "diversity"}
    assert html.count(IMG) == 6


def test_no_curves_at_all(tmp_path):
    r = gen.result("m", "quijote-z0", "s", "a" * 64, 64, 0, "2026-01-01T00:00:00Z", 0.5)
    r.pop("curves")
    p = tmp_path / "r.json"
    p.write_text(json.dumps(r))
    html = make_report(p, tmp_path / "out").read_text()
    assert html.count(IMG) == 1  # the ×floor chart only
    assert "composite" in html


def test_bad_result_file(tmp_path):
    with pytest.raises(CosmobenchError, match="does not exist"):
        make_report(tmp_path / "nope.json")
    p = tmp_path / "bad.json"
    p.write_text("{not json")
    with pytest.raises(CosmobenchError, match="bad.json"):
        make_report(p)


def test_old_verdict_import_path_warns_and_delegates():
    from cosmobench import report

    with pytest.warns(DeprecationWarning, match="presentation"):
        # the one rule: without a p-value (schema v1) a ×floor interval excluding 1 is flagged
        assert report.verdict(2.0, (1.7, 2.5)) == "worse than reference"
    with pytest.warns(DeprecationWarning):
        assert report.verdict(1.05, (0.8, 1.3)) == "≈ reference"
    with pytest.warns(DeprecationWarning):
        assert report.verdict(0.2, (0.1, 0.3), higher_is_better=True) == "copies training maps"
    assert report.ratio_ci is presentation.ratio_ci and report.SIMILAR_RATIO == presentation.SIMILAR_RATIO


def test_layout_of_real_coords():
    from cosmobench.report import _layout

    # structures: threshold outer (with an appended seed threshold), quantity inner
    th = [1.0] * 2 + [3.0] * 2 + [0.01] * 2
    panels = _layout({"threshold": th, "quantity": ["n", "area"] * 3}, 6)
    assert [p.title for p in panels] == ["n", "area"]
    assert list(panels[0].x) == [0.01, 1.0, 3.0] and list(panels[0].idx) == [4, 0, 2]
    # minkowski: functional outer, threshold tiled
    panels = _layout({"threshold": [0.0, 1.0] * 3, "functional": ["V0"] * 2 + ["V1"] * 2 + ["V2"] * 2}, 6)
    assert [p.title for p in panels] == ["V0", "V1", "V2"] and list(panels[2].idx) == [4, 5]
    # bispectrum: several numeric coords label the columns
    (p,) = _layout({"k1": [0.1, 0.2], "k2": [0.1, 0.2], "k3": [0.1, 0.3]}, 2)
    assert p.labels == ["(0.1, 0.1, 0.1)", "(0.2, 0.2, 0.3)"]
    # categorical per column, no coords, and a legacy short coordinate of a flattened grid
    assert _layout({"moment": ["var", "skew", "kurt"]}, 3)[0].labels == ["var", "skew", "kurt"]
    assert list(_layout({}, 4)[0].x) == [0, 1, 2, 3]
    assert [len(p.idx) for p in _layout({"threshold": [0.0, 1.0, 2.0]}, 9)] == [3, 3, 3]


def test_figures_are_one_registry_labelled_from_the_coords(demo):
    from cosmobench.report.figures import FIGURES
    from cosmobench.results import load_result

    keys = [f.key for f in FIGURES]
    assert len(keys) == len(set(keys)) and all(f.title and f.caption and callable(f.builder) for f in FIGURES)
    result = load_result(demo)
    fig = {f.key: f for f in FIGURES}["structures"].builder(result, None)
    quantities = list(dict.fromkeys(result.curves["structures"]["coords"]["quantity"]))
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == [presentation.coord_value_label(q) for q in quantities]
    # rename the coordinates: panels and labels follow them, nothing is guessed from the statistic
    c = result.curves["structures"]
    c["coords"] = {"k": c["coords"]["threshold"], "what": [f"q-{q}" for q in c["coords"]["quantity"]]}
    fig = {f.key: f for f in FIGURES}["structures"].builder(result, None)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == [f"q-{q}" for q in quantities]
    assert {ax.get_xlabel() for ax in axes} == {presentation.coord_label("k")}
