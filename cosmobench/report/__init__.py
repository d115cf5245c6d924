"""Visual report of one result: PNG figures and one self-contained HTML page.

``make_report(result_path)`` reads a result JSON (and its companion ``<stem>.maps.npz`` when present)
and writes, in ``out_dir`` (default ``<result dir>/<stem>_report/``):

- ``<stem>_<figure>.png`` — one PNG per figure of :data:`FIGURES` that the result has data for
  (``xfloor``, ``power``, ``pdf``, ``onepoint``, ``minkowski``, ``structures``, ``peaks``, ``bispectrum``,
  ``diversity``, ``maps``); a figure whose curves are missing is skipped, never an error;
- ``<stem>.html`` — one page with the PNGs embedded (base64), the table of metrics (value, floor,
  ×floor, confidence interval, verdict) and the provenance of the model and of the reference.

Figures are drawn with :class:`matplotlib.figure.Figure` on the Agg canvas, never through pyplot, so
the report works headless and does not touch the user's matplotlib backend.

Curves (``result.curves[stat]``) hold the mean and standard deviation over maps of the statistic's
per-map summary, for the model and for the reference, and ``coords`` naming the summary's columns.
The power summary is log10 P(k) (see :mod:`cosmobench.stats.power`).
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

from cosmobench import presentation
from cosmobench._io import atomic_paths, user_errors_on_write
from cosmobench.errors import CosmobenchError
# old import paths: ratio_ci and SIMILAR_RATIO lived here
from cosmobench.presentation import SIMILAR_RATIO, ratio_ci  # noqa: F401
from cosmobench.report._curves import _layout, _load_maps, _stem  # noqa: F401 - _layout: tested directly
from cosmobench.report._draw import _DPI
from cosmobench.report.figures import FIGURES, FigureSpec
from cosmobench.report.page import page
from cosmobench.results import Result, load_result

__all__ = ["make_report", "FIGURES", "FigureSpec", "verdict", "ratio_ci", "SIMILAR_RATIO"]


def verdict(ratio: "float | None", rci: "tuple[float, float] | None" = None, higher_is_better: bool = False) -> str:
    """Deprecated: use :func:`cosmobench.presentation.verdict` on the metric."""
    warnings.warn("cosmobench.report.verdict is deprecated; use cosmobench.presentation.verdict(metric)",
                  DeprecationWarning, stacklevel=2)
    extra = {"ratio_ci": list(rci)} if rci is not None else {}
    return presentation.verdict({"ratio": ratio, "higher_is_better": higher_is_better, "extra": extra})


def _load(path: Path) -> Result:
    if not path.is_file():
        raise CosmobenchError(f"result file {path} does not exist; pass the .json written by `cosmobench evaluate`")
    return load_result(path)


def make_report(result_path: "str | os.PathLike", out_dir: "str | os.PathLike | None" = None) -> Path:
    """Write the PNG figures and the self-contained HTML report of one result.

    Parameters
    ----------
    result_path : path-like
        A result JSON written by ``cosmobench evaluate``. A companion ``<stem>.maps.npz`` (arrays
        ``model`` and ``reference``) next to it adds the map grid; without it the grid is skipped.
    out_dir : path-like, optional
        Output directory (created if needed); default ``<result dir>/<stem>_report``.

    Returns
    -------
    Path
        The HTML page, ``<out_dir>/<stem>.html``. The PNGs are ``<out_dir>/<stem>_<figure>.png``.

    Raises
    ------
    CosmobenchError
        If the result file is missing or not a result.
    """
    import matplotlib

    path = Path(result_path)
    result = _load(path)
    stem = _stem(path)
    out = Path(out_dir) if out_dir is not None else path.parent / f"{stem}_report"
    maps = _load_maps(path)
    images = []
    # Names and labels come from the result file: "$" must print as "$", never start mathtext.
    with matplotlib.rc_context({"text.parse_math": False}):
        for spec in FIGURES:
            try:
                fig = spec.builder(result, maps)
                if fig is None:
                    continue
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=_DPI)
            except (ValueError, OverflowError, FloatingPointError, RuntimeError) as exc:
                # numbers a figure cannot draw (degenerate ranges, overflow): that figure is skipped, as a
                # figure without data is, and a warning says why
                warnings.warn(f"report figure {spec.key!r} skipped: the result's numbers cannot be drawn ({exc})",
                              stacklevel=2)
                continue
            images.append((spec, f"{stem}_{spec.key}.png", buf.getvalue()))
    html = page(result, path, images)
    html_path = out / f"{stem}.html"
    # Everything is rendered before anything is written, and written as one set: no partial report.
    with user_errors_on_write(f"the report into {out}"):
        out.mkdir(parents=True, exist_ok=True)
        finals = [out / name for _, name, _ in images] + [html_path]
        with atomic_paths(finals, [".png"] * len(images) + [".html"]) as tmps:
            for tmp, (_, _, data) in zip(tmps, images):
                tmp.write_bytes(data)
            tmps[-1].write_text(html, encoding="utf-8")
    return html_path
