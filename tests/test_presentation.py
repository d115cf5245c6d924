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
    # the decision is cosmobench.compare.verdict's; presentation grades flagged metrics by their factor
    assert P.verdict(_m(1.05, (0.8, 1.3))) == "≈ reference" and P.verdict_level(_m(1.05, (0.8, 1.3))) == "similar"
    assert P.verdict(_m(2.0, (1.7, 2.5))) == "worse than reference" and P.verdict_level(_m(2.0, (1.7, 2.5))) == "close"
    assert P.verdict_level(_m(5.0, (4.0, 6.0))) == "off" and P.verdict_level(_m(10.0, (9.0, 11.0))) == "far"
    assert P.verdict(_m(float("nan"))) == P.verdict(_m(None)) == "n/a"
    assert P.verdict(_m(1.05)) == "n/a"  # no p-value and no interval: no evidence either way
    assert P.verdict(_m(0.2, (0.1, 0.3), hib=True)) == "copies training maps"
    assert P.verdict_level(_m(0.2, (0.1, 0.3), hib=True)) == "off"  # mirrored: factor 5
    assert P.verdict({**_m(3.0, (2.0, 4.0)), "p_value": 0.4}) == "≈ reference"  # a p-value decides


def test_rule_sentence_names_the_thresholds():
    assert "≤ 0.05" in P.VERDICT_RULE and "Holm" in P.VERDICT_RULE and "×3" in P.VERDICT_RULE and "×10" in P.VERDICT_RULE


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
    # the fixture exercises more than one grade of the verdict
    assert len({P.verdict_level(m, name) for name, m in d["metrics"].items()}) > 1
    comp = P.fmt_ratio(d["composite"]["value"])
    assert comp in card and f"composite {comp}" in html and f"| {comp} |" in md and f"<span>{comp}</span>" in web
