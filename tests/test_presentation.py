"""The one presentation layer: number formats, the verdict rule, and every output agreeing on one result."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cosmobench import presentation as P
from cosmobench.leaderboard import build_leaderboards
from cosmobench.report import make_report
from cosmobench.results import read_result_dict, scorecard
from cosmobench.site import build_site

DEMO = Path(__file__).parent / "fixtures" / "results_demo"
STEM = "demo-gan_quijote-z0_demo-sim_n1024_s0"


def _m(ratio, rci=None, hib=False, **kw):
    return {"ratio": ratio, "higher_is_better": hib, "extra": {"ratio_ci": list(rci)} if rci else {}, **kw}


@pytest.mark.parametrize(
    "x, ratio, number, number3",
    [(1.16, "×1.16", "1.16", "1.16"), (23.84, "×23.8", "23.84", "23.8"), (5245.4, "×5245", "5245", "5.25e+03"),
     (1.5e5, "×1.50e+05", "1.5e+05", "1.5e+05"), (0.0421, "×0.04", "0.0421", "0.0421")],
)
def test_number_formats(x, ratio, number, number3):
    assert P.fmt_ratio(x) == ratio
    assert P.fmt_number(x) == number and P.fmt_number(x, 3) == number3


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), "x", True])
def test_missing_numbers_are_a_dash(bad):
    assert P.fmt_ratio(bad) == P.fmt_number(bad) == P.DASH
    assert P.fmt_interval(bad, 1.0) == P.fmt_interval(1.0, bad) == P.DASH


def test_interval_uses_the_given_format():
    assert P.fmt_interval(1.234567, 20.0) == "[1.235, 20]"
    assert P.fmt_interval(1.234567, 20.0, fmt=P.fmt_ratio) == "[×1.23, ×20.0]"


def test_verdict_levels():
    assert P.verdict(_m(1.05)) == "≈ reference"
    assert P.verdict(_m(3.0, (1.2, 4.0))) == "≈ reference"  # interval reaches ×1.5
    assert P.verdict(_m(2.0, (1.7, 2.5))) == "close"
    assert P.verdict(_m(5.0)) == "off"
    assert P.verdict(_m(10.0)) == "far off" and P.verdict(_m(9.99)) == "off"
    assert P.verdict(_m(1.5)) == "≈ reference" and P.verdict(_m(1.51)) == "close"
    assert P.verdict(_m(float("nan"))) == P.verdict(_m(None)) == "n/a"
    assert P.verdict(_m(0.2, (0.1, 0.3), hib=True)) == "off"  # mirrored: factor 5
    assert P.verdict(_m(0.6, (0.5, 0.8), hib=True)) == "≈ reference"  # best case 1/0.8


def test_where_the_two_old_rules_disagreed_the_stricter_holds():
    # a higher-is-better ratio of 0 is exact copies (the report said "n/a")
    assert P.verdict_level(_m(0.0, hib=True)) == "far"
    assert P.verdict(_m(0.0, hib=True), "memorisation") == "copies training maps"
    # a non-positive upper end is no evidence of "like real maps" (the report fell back on the ratio)
    assert P.verdict_level(_m(0.9, (-0.1, 0.0), hib=True)) == "close"  # graded by the factor 1/0.9
    # a NaN ratio is "n/a" (the score card said "×nan worse")
    assert P.verdict(_m(float("nan")), "power") == "n/a"


def test_memorisation_words_and_ratio_ci_fallback():
    m = {"value": 0.2, "floor": 1.0, "ratio": 0.2, "ci": [0.15, 0.25], "higher_is_better": True, "extra": {}}
    assert P.ratio_ci(m) == (0.15, 0.25)
    assert P.verdict(m, "memorisation") == "copies training maps"
    assert P.verdict({**m, "ratio": 0.95, "ci": [0.9, 1.0]}, "memorisation") == "no copying"
    assert P.ratio_ci({"value": 2.0, "ratio": 4.0, "ci": [1.0, 3.0]}) == (2.0, 6.0)
    assert P.ratio_ci({"value": 2.0, "ratio": 4.0, "ci": [1.0, 3.0], "extra": {"ratio_ci": [3, 5]}}) == (3.0, 5.0)
    assert P.ratio_ci({"value": 2.0, "ratio": 4.0, "ci": [1.0, 3.0], "extra": {"ratio_ci": [None, 5]}}) == (2.0, 6.0)
    assert P.ratio_ci({"value": 0.0, "ratio": 4.0, "ci": [1.0, 3.0]}) is None


def test_rule_sentence_names_the_thresholds():
    assert f"×{P.SIMILAR_RATIO:g}" in P.VERDICT_RULE and "×3" in P.VERDICT_RULE and "×10" in P.VERDICT_RULE


def test_one_result_reads_the_same_in_every_output(tmp_path):
    """Score card, Markdown, CSV, HTML report and web page show the same ×floor and verdict for every metric."""
    res = tmp_path / "results"
    res.mkdir()
    for suffix in (".json", ".maps.npz"):
        shutil.copy(DEMO / f"{STEM}{suffix}", res / f"{STEM}{suffix}")
    d = read_result_dict(res / f"{STEM}.json")
    card = scorecard(d)
    build_leaderboards(res, tmp_path / "lb")
    md = (tmp_path / "lb" / "quijote-z0.md").read_text()
    csv = pd.read_csv(tmp_path / "lb" / "quijote-z0.csv")
    html = make_report(res / f"{STEM}.json", tmp_path / "report").read_text()
    web = build_site(res, tmp_path / "site").read_text()
    verdicts = set()
    for name, m in d["metrics"].items():
        ratio, word = P.fmt_ratio(m["ratio"]), P.verdict(m, name)
        verdicts.add(word)
        card_row = next(line for line in card.splitlines() if line.startswith(name + " "))
        assert ratio in card_row and card_row.rstrip().endswith(word)
        assert f"{P.fmt_number(m['value'], 3)} ({ratio})" in md
        assert math.isclose(csv[f"{name}_xfloor"].item(), m["ratio"], rel_tol=1e-5)
        html_row = re.search(rf"<tr><td class=l>{name} .*?</tr>", html).group(0)
        assert f"<b>{ratio}</b>" in html_row and f">{word}</span>" in html_row
        level = P.verdict_level(m)
        assert f'lvl-{level}" data-v="{m["ratio"]:.6g}" title="verdict: {word}">' in web
        assert f"<span>{ratio}</span>" in web
    assert len(verdicts) > 1  # the fixture exercises more than one verdict
    comp = P.fmt_ratio(d["composite"]["value"])
    assert comp in card and f"composite {comp}" in html and f"| {comp} |" in md and f"<span>{comp}</span>" in web
