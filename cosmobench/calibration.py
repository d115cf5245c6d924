"""Calibration shown, not claimed: score sets of real maps the null never saw, as if they were a model.

``cosmobench calibrate`` (or ``python -m cosmobench.calibration``) splits the null pool of a reference
by box into two random halves A and B, measures every metric's null on A as ``evaluate`` does on the
whole pool, and scores a set drawn from B (maps the null never saw) as a model — with a fresh random split
for each of the ``--sets`` sets, so that they are independent trials. A calibrated
verdict flags ≤ 5 % of them at the 5 % level. It also draws sets like the ``holdout`` baseline (random
maps of the validation boxes, outside the pool) and scores them against the full null — the holdout row
of a leaderboard — and measures the effective number of independent maps per box.
"""

from __future__ import annotations

import sys
from typing import Sequence

import numpy as np

from cosmobench.compare.distances import _ledoit_wolf, prepare_distance
from cosmobench.compare.null import NULL_SEED, draw_sets, null_distribution, null_set_size, rows_seen
from cosmobench.compare.verdict import ALPHA, holm
from cosmobench.errors import CosmobenchError

__all__ = ["calibrate", "effective_maps_per_box", "format_calibration", "main"]


def effective_maps_per_box(per_box: "dict[str, list[np.ndarray]]") -> dict:
    """How many independent maps a box's tiles are worth, per statistic, from the scatter of box means.

    For independent maps the mean over a box of N maps has covariance C/N; with ``B`` boxes,
    ``n_eff = d / E[(m_b − m̄)ᵀ C⁻¹ (m_b − m̄)] · (B − 1)/B`` in the whitened (Ledoit–Wolf) geometry the
    χ² distances use, C the pooled within-box covariance. ``inf`` when box means do not scatter at all
    (tiles of a periodic box average to exactly the box mean δ̄ = 0).

    Parameters
    ----------
    per_box : dict of str to list of numpy.ndarray
        Per statistic, one ``(N_b, d)`` summary array per box (≥ 3 boxes).

    Returns
    -------
    dict
        ``{name: {"n_eff": float, "maps_per_box": int, "boxes": int}}``.
    """
    out = {}
    for name, boxes in per_box.items():
        B = len(boxes)
        if B < 3:
            raise CosmobenchError(f"measuring independent maps per box needs >= 3 boxes, got {B}")
        means = np.stack([b.mean(axis=0) for b in boxes])
        within = np.concatenate([b - b.mean(axis=0) for b in boxes])
        sd = within.std(axis=0)
        live = sd > 1e-12 * max(float(np.abs(means).max()), 1e-300)
        nb = int(np.median([b.shape[0] for b in boxes]))
        if not live.any():
            out[name] = {"n_eff": float("inf"), "maps_per_box": nb, "boxes": B}
            continue
        Z = within[:, live] / sd[live]
        C, _ = _ledoit_wolf(Z)
        w, V = np.linalg.eigh(C)
        Wm = V / np.sqrt(np.maximum(w, 1e-12 * w.max()))
        u = ((means[:, live] - means[:, live].mean(axis=0)) / sd[live]) @ Wm
        T = float((u * u).sum()) / (B - 1)
        n_eff = float(live.sum()) / T if T > 1e-6 * live.sum() / nb else float("inf")
        out[name] = {"n_eff": n_eff, "maps_per_box": nb, "boxes": B}
    return out


def calibrate(source="sim", *, n: int = 2048, sets: int = 20, statistics=None, progress: bool = False,
              null_draws: int = 199) -> dict:
    """Score ``sets`` held-out sets of real maps (and holdout-like sets) as models; see the module docstring.

    Parameters
    ----------
    source : str or Source
        Reference source (built boxes only; nothing is simulated here).
    n : int
        Model size the null is measured for.
    sets : int
        Held-out sets scored per metric (≥ 20 for a meaningful share).
    statistics : sequence, optional
        As for :func:`cosmobench.evaluate`.
    progress : bool
        Progress bars for the reference summaries.
    null_draws : int
        Null sets per held-out set's null (each set gets its own split of the pool, so its own null).

    Returns
    -------
    dict
        ``{"metrics": {name: {"flagged_raw", "flagged_verdict", "median_ratio", "holdout_median_ratio",
        "holdout_flagged_verdict"}}, "n_eff": ..., "pools": ...}``.
    """
    from cosmobench.data.store import Source, get_source
    from cosmobench.evaluation import _statistics
    from cosmobench.reference_split import Group, rows_of
    from cosmobench.reference_summaries import reference_summaries, summarize_all
    from cosmobench.summary_cache import cached_null

    if int(sets) != sets or sets < 1:
        raise CosmobenchError(f"sets={sets!r}; pass a positive integer (>= 20 for a meaningful share)")
    src = source if isinstance(source, Source) else get_source(source)
    stats = _statistics(statistics, src)
    ref = reference_summaries(src, stats, progress=progress)
    pool_g = ref.pool_group
    boxes = ref.pool_boxes
    if len(boxes) < 2:
        raise CosmobenchError(f"source {src.name!r} has a null pool of {len(boxes)} box(es); calibration needs >= 2 (build more boxes)")
    pool_box = np.concatenate([np.full(s1 - s0, b) for b, s0, s1 in pool_g.pieces])
    # One random split of the pool's boxes per held-out set: the sets must not share one pair of pools, whose
    # cosmic-variance offset would make every set agree (40 sets of one split are one trial, not 40).
    splits = []
    for j in range(int(sets)):
        perm = np.random.default_rng([NULL_SEED, 7, j]).permutation(len(boxes))
        half = (len(boxes) + 1) // 2
        a, b = {boxes[k] for k in perm[:half]}, {boxes[k] for k in perm[half:]}
        splits.append((rows_of(pool_g, a), rows_of(pool_g, b)))
    val = src.boxes("val")
    val_maps = Group(tuple((b, 0, int(src.meta["boxes"][str(b)]["n_maps"])) for b in val)).load(src) if val else None

    raw_p = np.empty((len(stats), int(sets)))
    ratios = np.empty_like(raw_p)
    hold_p = hold_r = None
    if val_maps is not None and val_maps.shape[0] >= 4:
        hold_p = np.empty((len(stats), int(sets)))
        hold_r = np.empty_like(hold_p)
    per_box: dict = {}
    for i, (stat, rc, pool) in enumerate(zip(stats, ref.compare, ref.pool)):
        f = prepare_distance(stat.distance, rc)
        for j, (a_rows, b_rows) in enumerate(splits):
            null_a = null_distribution(stat.distance, rc, pool[a_rows], n, strata=pool_box[a_rows],
                                       draws=null_draws, seed=NULL_SEED + j)
            s_b = null_set_size(rows_seen(stat.distance, n), b_rows.size)
            idx = next(draw_sets(b_rows.size, s_b, 1, NULL_SEED + 1000 + j))
            v = f(pool[b_rows][idx])[0]
            raw_p[i, j], ratios[i, j] = null_a.p_value(v), v / null_a.median if null_a.median > 0 else np.inf
        vs = None
        if hold_p is not None:
            vs = summarize_all([stat], val_maps, 256)[0]
            full = cached_null(src, stat, ref.groups, rc, pool, n, None)
            f = prepare_distance(stat.distance, rc)
            m = min(int(n), vs.shape[0])
            # like the holdout baseline: m random validation maps, a fresh seed per set
            hv = np.array([f(vs[np.sort(np.random.default_rng(k).choice(vs.shape[0], m, replace=False))])[0] for k in range(int(sets))])
            hold_p[i], hold_r[i] = [full.p_value(v) for v in hv], hv / full.median
        # per-box summaries for the independent-maps measurement: compare boxes, pool boxes, val boxes
        parts = []
        for group, arr in ((ref.compare_group, rc), (pool_g, pool)):
            at = 0
            for b, s0, s1 in group.pieces:
                parts.append(arr[at: at + s1 - s0])
                at += s1 - s0
        if vs is not None:
            at = 0
            for b in val:
                k = int(src.meta["boxes"][str(b)]["n_maps"])
                parts.append(vs[at: at + k])
                at += k
        if stat.name != "collapse":  # same features as diversity
            per_box[stat.name] = parts

    def verdict_share(P):
        flagged = np.zeros(P.shape[1])
        out = np.zeros(P.shape)
        for j in range(P.shape[1]):
            adj = holm({k: P[k, j] for k in range(P.shape[0])})
            out[:, j] = [adj[k] <= ALPHA for k in range(P.shape[0])]
            flagged[j] = out[:, j].any()
        return out.mean(axis=1), float(flagged.mean())

    flag_v, any_v = verdict_share(raw_p)
    metrics = {}
    hold_v = hold_any = None
    if hold_p is not None:
        hold_v, hold_any = verdict_share(hold_p)
    for i, stat in enumerate(stats):
        metrics[stat.name] = {
            "flagged_raw": float(np.mean(raw_p[i] <= ALPHA)),
            "flagged_verdict": float(flag_v[i]),
            "median_ratio": float(np.median(ratios[i])),
        }
        if hold_p is not None:
            metrics[stat.name].update({
                "holdout_median_ratio": float(np.median(hold_r[i])),
                "holdout_max_ratio": float(np.max(hold_r[i])),
                "holdout_flagged_raw": float(np.mean(hold_p[i] <= ALPHA)),
                "holdout_flagged_verdict": float(hold_v[i]),
            })
    n_eff = effective_maps_per_box(per_box) if sum(1 for _ in per_box.get(stats[0].name, [])) >= 3 else {}
    return {
        "source": src.name, "content_hash": src.content_hash, "n": int(n), "sets": int(sets),
        "pool_boxes": [int(b) for b in boxes], "null_draws": int(null_draws),
        "val_boxes": [int(b) for b in val], "metrics": metrics, "any_flag_verdict": any_v,
        "holdout_any_flag_verdict": hold_any, "n_eff": n_eff,
    }


def format_calibration(rep: dict) -> str:
    """The calibration table as Markdown."""
    lines = [
        f"Calibration on `{rep['source']}` ({rep['content_hash'][:8]}), n = {rep['n']}: {rep['sets']} held-out sets, each "
        f"drawn from a random half of the pool boxes {rep['pool_boxes']} and scored against a null ({rep['null_draws']} "
        f"sets) measured on the other half; holdout-like sets: random maps of the validation boxes {rep['val_boxes']} "
        "against the full null of `evaluate`.",
        "",
        "| metric | held-out flagged (p ≤ 0.05) | flagged by the verdict (Holm) | median ×null | holdout-like median ×null "
        "| holdout-like max ×null | holdout-like flagged by the verdict | independent maps per box |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in rep["metrics"].items():
        ne = (rep.get("n_eff") or {}).get(name if name != "collapse" else "diversity", {})
        ne_s = "—" if not ne else ("∞" if not np.isfinite(ne["n_eff"]) else f"{ne['n_eff']:.0f} of {ne['maps_per_box']}")
        h = lambda k, f: f.format(m[k]) if k in m else "—"  # noqa: E731
        lines.append(f"| {name} | {m['flagged_raw']:.0%} | {m['flagged_verdict']:.0%} | ×{m['median_ratio']:.2f} | "
                     f"{h('holdout_median_ratio', '×{:.2f}')} | {h('holdout_max_ratio', '×{:.2f}')} | "
                     f"{h('holdout_flagged_verdict', '{:.0%}')} | {ne_s} |")
    lines += ["", f"Sets with any metric flagged by the verdict: held-out {rep['any_flag_verdict']:.0%}"
              + (f", holdout-like {rep['holdout_any_flag_verdict']:.0%}" if rep.get("holdout_any_flag_verdict") is not None else "") + "."]
    return "\n".join(lines)


def main(argv: "Sequence[str] | None" = None) -> int:
    """``python -m cosmobench.calibration [--source sim] [--n 2048] [--sets 20]`` (same as ``cosmobench calibrate``)."""
    from cosmobench.cli import main as cli_main

    return cli_main(["calibrate", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
