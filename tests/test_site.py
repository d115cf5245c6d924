"""The leaderboard web page: self-contained, escaped, the same rows as the tables, and working in a real browser."""

from __future__ import annotations

import html as _html
import json
import re
import shutil
import time
from urllib.parse import unquote

import pytest

from cosmobench import presentation as P
from cosmobench.errors import CosmobenchError
from cosmobench.leaderboard import collect_results, track_sections
from cosmobench.report import make_report
from cosmobench.site import build_site

from _demo import DEMO, gen
STEM = "demo-gan_quijote-z0_demo-sim_n1024_s0"
SIM = "a" * 8 + "1" * 56
EVIL = "<script>alert(1)</script>"
PIPE = "left|right \"q\" 'a' & co"




@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Demo results plus two hostile model names, a report for one result, and the page built from them."""
    tmp_path = tmp_path_factory.mktemp("site")
    res = tmp_path / "results"
    shutil.copytree(DEMO, res, ignore=shutil.ignore_patterns("*.py", "*.md", "__pycache__"))
    for name, q in ((EVIL, 0.05), (PIPE, 2.0)):
        r = gen.result(name, "quijote-z0", "demo-sim", json.load(open(res / f"{STEM}.json"))["reference"]["content_hash"],
                       1024, 0, "2026-01-02T00:00:00Z", q)
        r["model"]["info"] = {"family": f"fam {name}", "trained": "3 steps", "note": name}
        (res / f"evil-{q}.json").write_text(json.dumps(r))
    reports = tmp_path / "reports"
    make_report(res / f"{STEM}.json", reports / "demo-gan")
    page = build_site(res, tmp_path / "site", [reports])
    return page, res, reports


def test_page_is_self_contained(site):
    text = site[0].read_text()
    for needle in ("http://", "https://", "<link", " src=", "@import", "url("):
        assert needle not in text, needle
    assert text.count("<script>") == 1 and text.count("</script>") == 1  # ours, at the end


def test_strings_from_result_files_are_escaped(site):
    text = site[0].read_text()
    assert EVIL not in text and _html.escape(EVIL, quote=True) in text
    assert _html.escape(PIPE, quote=True) in text and PIPE not in text  # quotes become entities
    assert "alert(1)</script>" not in text


def test_rows_are_the_leaderboard_sections(site):
    page, res, _ = site
    text = page.read_text()
    for track, _, sections in track_sections(collect_results(res)):
        assert f"Track <code>{_html.escape(track)}</code>" in text
        for source, source_hash, frame in sections:
            m = re.search(rf'Reference <code>{re.escape(_html.escape(source))}</code> <span class="muted">reference id '
                          rf'<code title="{source_hash}">.*?</section>', text, re.S)
            assert m, source
            rows = re.findall(r'<tr class="row" data-rank="(\d+)".*?<td class="l name" data-v="([^"]*)"', m.group(0), re.S)
            assert [int(r) for r, _ in rows] == list(frame["rank"])
            assert [_html.unescape(n) for _, n in rows] == list(frame["model"])
            for comp in frame["composite"]:
                assert f"<span>{_html.escape(P.fmt_ratio(comp))}" in m.group(0)


def test_report_links_point_at_existing_reports(site):
    page, _, reports = site
    text = page.read_text()
    hrefs = re.findall(r'<a href="([^"]+)">report</a>', text)
    assert len(hrefs) == 1
    target = (page.parent / unquote(_html.unescape(hrefs[0]))).resolve()
    assert target == (reports / "demo-gan" / f"{STEM}.html").resolve() and target.is_file()


def test_rebuild_gives_the_same_bytes(site):
    page, res, reports = site
    before = page.read_bytes()
    assert build_site(res, page.parent, [reports]).read_bytes() == before


def test_filters_list_the_families_and_training(site):
    text = site[0].read_text()
    assert f'<option value="{_html.escape("fam " + EVIL, quote=True)}">' in text
    assert '<option value="trained">' in text and '<option value="not trained">' in text


def test_malformed_result_is_refused_and_nothing_written(tmp_path):
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "bad.json").write_text("{")
    with pytest.raises(CosmobenchError, match="bad.json"):
        build_site(tmp_path / "res", tmp_path / "site")
    assert not (tmp_path / "site" / "index.html").exists()


# --------------------------------------------------------------------------------------------------
# in a real browser: headless Chromium through Selenium

def _driver():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver_bin = shutil.which("chromedriver")
    if not chromium or not driver_bin:
        pytest.skip("\n\n*** BROWSER TEST SKIPPED: no headless Chromium and chromedriver on PATH "
                    "(apt-get install chromium chromium-driver; .ci/run does this when it runs as root) ***\n")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
                "--allow-file-access-from-files"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver_bin), options=opts)


def _column(table, index):
    """data-v of column ``index`` over the visible rows, as floats (None: not measured)."""
    out = []
    for row in table.find_elements("css selector", "tbody tr.row"):
        if row.is_displayed():
            v = row.find_elements("css selector", "td")[index].get_attribute("data-v")
            out.append(float(v) if v else None)
    return out


def test_in_a_browser(site):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    page, _, _ = site
    driver = _driver()
    try:
        t0 = time.perf_counter()
        driver.get(page.resolve().as_uri())  # from disk: file://, no server
        assert driver.execute_script("return document.readyState") == "complete"
        load_s = time.perf_counter() - t0
        # 1. the hostile name is text in its cell, and no script of it ran
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text
        names = [e.text for e in driver.find_elements("css selector", "td.name .model")]
        assert EVIL in names and PIPE in names
        assert len(driver.find_elements("css selector", "script")) == 1
        # 2. sort by clicking a header: composite descending, then ascending again; aria-sort follows
        table = next(t for t in driver.find_elements("css selector", "table.lb")
                     if EVIL in [e.text for e in t.find_elements("css selector", "td.name .model")])
        heads = table.find_elements("css selector", "thead th")
        comp_i = next(i for i, h in enumerate(heads) if h.text.startswith("composite"))
        assert heads[comp_i].get_attribute("aria-sort") == "ascending"
        heads[comp_i].find_element("css selector", "button").click()
        assert heads[comp_i].get_attribute("aria-sort") == "descending"
        col = _column(table, comp_i)
        assert col == sorted(col, reverse=True) and len(col) > 2
        # 3. keyboard: a metric header sorted with Enter, ascending; the other headers drop their sort
        power_i = next(i for i, h in enumerate(heads) if h.text.startswith("power"))
        button = heads[power_i].find_element("css selector", "button")
        button.send_keys(Keys.ENTER)
        assert heads[power_i].get_attribute("aria-sort") == "ascending"
        assert heads[comp_i].get_attribute("aria-sort") == "none"
        col = _column(table, power_i)
        assert col == sorted(col)
        # 4. a details row opens under its own row, after the sort moved them
        first = table.find_element("css selector", "tbody tr.row")
        more = first.find_element("css selector", "button.more")
        more.click()
        details = driver.find_element("id", more.get_attribute("aria-controls"))
        assert details.is_displayed() and more.get_attribute("aria-expanded") == "true"
        assert "content hash" in details.text and "result files" in details.text and "spec" in details.text
        assert driver.execute_script("return arguments[0].nextElementSibling === arguments[1]", first, details)
        # 5. a filter hides the other families
        Select(driver.find_element("id", "f-family")).select_by_value("fam " + EVIL)
        visible = [e.text for e in driver.find_elements("css selector", "td.name .model") if e.is_displayed()]
        assert visible == [EVIL]
        Select(driver.find_element("id", "f-family")).select_by_value("")
        # 6. the report link opens the report
        link = driver.find_element("link text", "report")
        link.click()
        assert driver.current_url.endswith(f"{STEM}.html") and driver.title.startswith("cosmobench report")
        # 7. no errors on the console
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == []
        print(f"page {page.stat().st_size} bytes, loaded from disk in {load_s:.3f} s")
    finally:
        driver.quit()


def test_screenshot_of_the_page(site, tmp_path):
    if not (shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")):
        pytest.skip("\n\n*** SCREENSHOT TEST SKIPPED: no headless Chromium on PATH (apt-get install chromium) ***\n")
    from cosmobench.site import screenshot

    png = screenshot(site[0], tmp_path / "img" / "page.png", width=900, height=700).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert int.from_bytes(png[16:20], "big") == 900 and int.from_bytes(png[20:24], "big") == 700


def test_rows_keyed_by_recipe_id_find_their_result_files(tmp_path):
    # Sections key on the recipe id; a row must still find its files (family, training, verdict colours).
    res = tmp_path / "results"
    res.mkdir()
    r = gen.result("recipe-model", "quijote-z0", "demo-sim", SIM, 1024, 0, "2026-01-02T00:00:00Z", 1.0)
    r["reference"]["recipe_id"] = "b" * 64
    r["model"]["info"] = {"family": "famR", "trained": "3 steps"}
    (res / "recipe-model.json").write_text(json.dumps(r))
    text = build_site(res, tmp_path / "site").read_text()
    assert 'data-family="famR"' in text and "reference id <code" in text


def test_a_row_over_seeds_is_coloured_by_its_seeds_verdicts():
    # The committed gan row (5 seeds): power flagged on every seed -> coloured as flagged; memorisation flagged
    # on seed 1 only (p 0.03) -> "mixed over seeds", not flagged (as the tables' † and combine() say).
    from pathlib import Path

    from cosmobench.results import load_result
    from cosmobench.site import _judged

    paths = sorted((Path(__file__).parents[1] / "leaderboards" / "results").glob("gan__*__n2048__s*.json"))
    assert len(paths) >= 2, "the committed leaderboard's gan row is scored over several seeds"
    files = [(p, load_result(p)) for p in paths]
    flagged = [r.metrics["power"].p_adjusted <= 0.05 for _, r in files]
    assert all(flagged)
    assert _judged(files, "power", 300.0)[0] in ("close", "off", "far")
    mem = [r.metrics["memorisation"].p_adjusted <= 0.05 for _, r in files]
    assert any(mem) and not all(mem)
    level, words = _judged(files, "memorisation", 1.0)
    assert words == "mixed over seeds" and level == "similar"
    assert _judged(files[:1], "memorisation", 1.0)[1] == P.verdict(files[0][1].metrics["memorisation"], "memorisation")
