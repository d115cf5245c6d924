"""Style and behaviour of the leaderboard page, inlined into it (no server, no CDN, no network).

The script only reorders and hides existing rows and reads ``data-*`` attributes; it never builds markup
from strings, so nothing from a result file can become code.
"""

from __future__ import annotations

__all__ = ["CSS", "JS"]

CSS = """
:root{--fg:#1d1f23;--muted:#5f6670;--bg:#ffffff;--panel:#f5f6f8;--line:#d9dce1;--accent:#0b62c4;
--similar:#2ca02c;--close:#a6a61d;--off:#e07000;--far:#d62728;--na:#999}
@media (prefers-color-scheme: dark){:root{--fg:#e6e8eb;--muted:#a0a7b1;--bg:#15171a;--panel:#1f2227;
--line:#353a41;--accent:#6cb2ff;--similar:#4cc24c;--close:#cfcf3a;--off:#ff9a3d;--far:#ff5b5b;--na:#777}}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0 auto;max-width:1500px;
padding:1em 1.2em 3em;color:var(--fg);background:var(--bg);line-height:1.4}
h1{font-size:1.55em;margin:.3em 0 .1em} h2{font-size:1.2em;margin:1.8em 0 .3em;border-bottom:1px solid var(--line)}
h2.trackname{font-size:1.35em;border:0;border-top:3px solid var(--line);padding-top:.4em;margin:2em 0 .1em}
a{color:var(--accent)} code{background:var(--panel);padding:0 .25em;border-radius:3px}
.muted{color:var(--muted);font-size:.9em} details.legend{background:var(--panel);padding:.5em .9em;border-radius:6px}
.controls{display:flex;gap:1.2em;flex-wrap:wrap;align-items:center;margin:1em 0;padding:.5em .8em;
background:var(--panel);border-radius:6px} .controls label{font-weight:600}
select{font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:.15em .3em}
.scroll{overflow-x:auto}
table.lb{border-collapse:collapse;font-size:.86em;font-variant-numeric:tabular-nums;min-width:100%}
table.lb th,table.lb td{border-bottom:1px solid var(--line);padding:.28em .35em;text-align:right;vertical-align:middle}
table.lb th{position:sticky;top:0;background:var(--panel);white-space:nowrap}
table.lb th.l,table.lb td.l{text-align:left}
th button.sort{font:inherit;font-weight:600;color:inherit;background:none;border:0;padding:.1em .2em;cursor:pointer}
th button.sort:focus-visible,button.more:focus-visible,a:focus-visible{outline:2px solid var(--accent);outline-offset:1px}
th[aria-sort=ascending] button.sort::after{content:" \\25B2"} th[aria-sort=descending] button.sort::after{content:" \\25BC"}
td.ratio{min-width:4.8em}
.cell{display:block}
.track{display:block;height:5px;margin-bottom:2px;border-radius:2px;background:var(--line)}
.bar{display:block;height:5px;border-radius:2px;min-width:2px;background:var(--na)}
.lvl-similar .bar{background:var(--similar)} .lvl-close .bar{background:var(--close)}
.lvl-off .bar{background:var(--off)} .lvl-far .bar{background:var(--far)}
td.comp{font-weight:700;min-width:7em}
button.more{font:inherit;font-size:.85em;color:var(--accent);background:none;border:1px solid var(--line);
border-radius:4px;padding:0 .35em;margin-left:.4em;cursor:pointer}
tr.details td{background:var(--panel);text-align:left;padding:.6em 1em}
tr.details dl{display:grid;grid-template-columns:max-content auto;gap:.15em 1em;margin:.2em 0 .6em}
tr.details dt{font-weight:600} tr.details dd{margin:0;overflow-wrap:anywhere}
tr.details h4{margin:.4em 0 .1em}
.model{font-weight:600;overflow-wrap:anywhere} td.name{min-width:11em} td.date{white-space:nowrap}
.tag{display:inline-block;font-size:.78em;border:1px solid var(--line);border-radius:9px;padding:0 .45em;margin-left:.3em;color:var(--muted)}
svg.ratio-plot{width:100%;max-width:900px;height:auto;color:var(--fg);margin-top:.5em}
svg.ratio-plot text{fill:var(--fg);font-size:11px} svg.ratio-plot .tick{fill:var(--muted)}
svg.ratio-plot line.grid{stroke:var(--line)} svg.ratio-plot line.one{stroke:var(--fg);stroke-dasharray:5 4}
svg.ratio-plot .series polyline,svg.ratio-plot .series line{fill:none;stroke:currentColor;stroke-width:1.8}
svg.ratio-plot .series circle{fill:currentColor}
.count{font-weight:600}
"""

JS = """
(function () {
  "use strict";
  function key(cell, type) {
    var v = cell.getAttribute("data-v");
    if (type === "text") return (v === null ? cell.textContent : v).toLowerCase();
    var x = parseFloat(v);
    return isNaN(x) ? null : x;
  }
  function sortTable(table, col, th) {
    var type = th.getAttribute("data-type") || "num";
    var next = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    table.querySelectorAll("th[aria-sort]").forEach(function (h) { h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", next);
    var tbody = table.tBodies[0];
    var rows = Array.prototype.filter.call(tbody.rows, function (r) { return r.classList.contains("row"); });
    var sign = next === "ascending" ? 1 : -1;
    rows.sort(function (a, b) {
      var ka = key(a.cells[col], type), kb = key(b.cells[col], type);
      if (ka === kb) return (+a.getAttribute("data-rank")) - (+b.getAttribute("data-rank"));
      if (ka === null) return 1;  // not measured: last either way
      if (kb === null) return -1;
      return ka < kb ? -sign : sign;
    });
    rows.forEach(function (r) {  // each row takes its details row along
      var d = document.getElementById(r.getAttribute("data-details"));
      tbody.appendChild(r);
      if (d) tbody.appendChild(d);
    });
  }
  function applyFilters() {
    var fam = document.getElementById("f-family").value;
    var tr = document.getElementById("f-training").value;
    document.querySelectorAll("table.lb").forEach(function (table) {
      var shown = 0, total = 0;
      table.querySelectorAll("tr.row").forEach(function (r) {
        total += 1;
        var ok = (fam === "" || r.getAttribute("data-family") === fam) &&
                 (tr === "" || r.getAttribute("data-training") === tr);
        r.hidden = !ok;
        var d = document.getElementById(r.getAttribute("data-details"));
        var btn = r.querySelector("button.more");
        if (d) d.hidden = !ok || btn.getAttribute("aria-expanded") !== "true";
        if (ok) shown += 1;
      });
      var c = table.parentNode.parentNode.querySelector(".count");
      if (c) c.textContent = shown + " of " + total + " rows shown";
    });
  }
  document.querySelectorAll("table.lb").forEach(function (table) {
    table.querySelectorAll("th button.sort").forEach(function (b) {
      var th = b.parentNode;
      b.addEventListener("click", function () { sortTable(table, th.cellIndex, th); });
    });
  });
  document.querySelectorAll("button.more").forEach(function (b) {
    b.addEventListener("click", function () {
      var d = document.getElementById(b.getAttribute("aria-controls"));
      var open = b.getAttribute("aria-expanded") !== "true";
      b.setAttribute("aria-expanded", open ? "true" : "false");
      d.hidden = !open;
    });
  });
  ["f-family", "f-training"].forEach(function (id) {
    document.getElementById(id).addEventListener("change", applyFilters);
  });
  applyFilters();
})();
"""
