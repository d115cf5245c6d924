"""Effect sizes in physical units, the numbers papers quote ("P(k) within 5 % for k < 0.5 h/Mpc").

A distance says *whether* a model differs from the reference; an effect size says *by how much*, in
the statistic's own units. Each is a function of the mean of (transformed) per-map summaries over the
model's maps, so its bootstrap interval and its null (what a fresh reference draw of the same size
gets) come from the same set means as the metric itself.

========== ====================== ===========================================================
statistic  effect                 definition
========== ====================== ===========================================================
power      pk_dev_linear          max |P̄_model(k) / P̄_ref(k) − 1| over 0.03 ≤ k ≤ 0.5 h/Mpc
power      pk_dev_small_scales    the same over 0.5 < k ≤ k_Nyquist
mean       mean_bias_sigma        (δ̄_model − δ̄_ref) / σ of the reference tile means (signed)
moments    sigma_dev              σ_model / σ_ref − 1 of δ (rms over maps of the per-map variance)
pdf        pdf_dev_bulk           max |p_model / p_ref − 1| over bins inside the reference's central 90 %
pdf        pdf_dev_tails          max over the two tails (beyond the 5 % / 95 % quantiles) of |mass ratio − 1|
peaks      peaks_dev_total        total peak count per map, model / ref − 1 (signed)
peaks      peaks_dev_max          max over height bins with ≥ 1 peak per map of |count ratio − 1|
minkowski  V0_dev, V1_dev, V2_dev max over thresholds of |V̄_model − V̄_ref| / max |V̄_ref| of that functional
bispectrum Q_dev                  max over triangles of |Q̄_model − Q̄_ref| (Q is dimensionless)
========== ====================== ===========================================================

P̄ is the mean of P(k) (not of log P) over maps; fractions are plain numbers (0.05 = 5 %).
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

__all__ = ["Effects", "effects_for", "PK_LINEAR_RANGE"]

#: k range of the "linear" P(k) effect, h/Mpc; the second effect covers (0.5, k_Nyquist].
PK_LINEAR_RANGE = (0.03, 0.5)
_TAIL = 0.05

_Compute = Callable[[np.ndarray], "dict[str, np.ndarray]"]


class Effects:
    """Effect sizes of one statistic against a fixed reference set.

    Parameters
    ----------
    transform : callable
        Per-map rows → rows whose set means the effects are functions of (e.g. ``10**log10 P``).
    compute : callable
        ``compute(means (K, d')) -> {name: (K,)}``.
    describe : dict
        ``{name: (unit, description)}``.
    """

    def __init__(self, transform: Callable[[np.ndarray], np.ndarray], compute: _Compute, describe: dict):
        self.transform = transform
        self._compute = compute
        self.describe = describe

    def __call__(self, means: np.ndarray) -> "dict[str, np.ndarray]":
        means = np.atleast_2d(np.asarray(means, dtype=np.float64))
        with np.errstate(divide="ignore", invalid="ignore"):
            out = self._compute(means)
        return {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in out.items()}

    def measure(self, X: np.ndarray, rng: np.random.Generator, n_boot: int, null: "Mapping[str, np.ndarray] | None" = None) -> dict:
        """Value, bootstrap interval (model rows resampled) and null median of every effect for model rows ``X``."""
        T = self.transform(np.asarray(X, dtype=np.float64))
        values = self(T.mean(axis=0))
        boots: dict = {}
        if n_boot:
            from cosmobench.compare.score import bootstrap_means

            boots = self(bootstrap_means(T, rng, int(n_boot)))
        out = {}
        for name, (unit, desc) in self.describe.items():
            v = float(values[name][0])
            b = boots.get(name)
            ci = [float(x) for x in np.percentile(b[np.isfinite(b)], [2.5, 97.5])] if b is not None and np.isfinite(b).any() else [None, None]
            nm = None
            if null is not None and name in null and np.isfinite(null[name]).any():
                nm = float(np.median(np.abs(null[name][np.isfinite(null[name])])))
            out[name] = {"value": v if np.isfinite(v) else None, "ci": ci, "null_median": nm, "unit": unit, "description": desc}
        return out


def _ident(X: np.ndarray) -> np.ndarray:
    return X


def _max_abs(a: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if not mask.any():
        return np.full(a.shape[0], np.nan)
    return np.abs(a[:, mask]).max(axis=1)


def _power(Y: np.ndarray, coords: dict, k_nyquist: float) -> "Effects | None":
    k = np.asarray(coords.get("k", []), dtype=np.float64)
    if k.size != Y.shape[1]:
        return None
    pr = (10.0**Y).mean(axis=0)
    lo = (k >= PK_LINEAR_RANGE[0]) & (k <= PK_LINEAR_RANGE[1])
    hi = (k > PK_LINEAR_RANGE[1]) & (k <= k_nyquist * (1 + 1e-9))

    def compute(M):
        r = M / pr - 1.0
        return {"pk_dev_linear": _max_abs(r, lo), "pk_dev_small_scales": _max_abs(r, hi)}

    return Effects(lambda X: 10.0**X, compute, {
        "pk_dev_linear": ("fraction", f"max |P_model/P_ref - 1| over {PK_LINEAR_RANGE[0]}-{PK_LINEAR_RANGE[1]} h/Mpc"),
        "pk_dev_small_scales": ("fraction", f"max |P_model/P_ref - 1| over {PK_LINEAR_RANGE[1]}-{k_nyquist:.2f} h/Mpc (k_Nyquist)"),
    })


def _mean(Y: np.ndarray, coords: dict, k_nyquist: float) -> Effects:
    ybar, sd = Y.mean(axis=0), Y.std(axis=0, ddof=1)

    def compute(M):
        return {"mean_bias_sigma": (M[:, 0] - ybar[0]) / sd[0]}

    return Effects(_ident, compute, {"mean_bias_sigma": ("sigma of the reference tile mean", "(mean delta_model - mean delta_ref) / std of the reference tile means")})


def _moments(Y: np.ndarray, coords: dict, k_nyquist: float) -> Effects:
    vr = Y[:, 0].mean()

    def compute(M):
        return {"sigma_dev": np.sqrt(np.maximum(M[:, 0], 0.0) / vr) - 1.0}

    return Effects(_ident, compute, {"sigma_dev": ("fraction", "sigma_model / sigma_ref - 1 of delta (rms of the per-map variances)")})


def _pdf(Y: np.ndarray, coords: dict, k_nyquist: float) -> Effects:
    pr = Y.mean(axis=0)
    pr = pr / pr.sum()
    cdf_after = np.cumsum(pr)
    cdf_before = cdf_after - pr
    bulk = (cdf_before >= _TAIL) & (cdf_after <= 1 - _TAIL) & (pr > 0)
    low, high = cdf_after <= _TAIL, cdf_before >= 1 - _TAIL
    lr, hr = pr[low].sum(), pr[high].sum()

    def compute(M):
        pm = M / M.sum(axis=1, keepdims=True)
        dev = _max_abs(pm / np.where(pr > 0, pr, 1.0) - 1.0, bulk)
        tails = [np.abs(pm[:, m].sum(axis=1) / r - 1.0) for m, r in ((low, lr), (high, hr)) if r > 0]
        tail = np.max(tails, axis=0) if tails else np.full(M.shape[0], np.nan)
        return {"pdf_dev_bulk": dev, "pdf_dev_tails": tail}

    return Effects(_ident, compute, {
        "pdf_dev_bulk": ("fraction", "max |p_model/p_ref - 1| over the bins of the reference's central 90%"),
        "pdf_dev_tails": ("fraction", "max over both tails (beyond the reference's 5%/95% quantiles) of |mass_model/mass_ref - 1|"),
    })


def _peaks(Y: np.ndarray, coords: dict, k_nyquist: float) -> Effects:
    yr = Y.mean(axis=0)
    busy = yr >= 1.0

    def compute(M):
        return {"peaks_dev_total": M.sum(axis=1) / yr.sum() - 1.0,
                "peaks_dev_max": _max_abs(M / np.where(yr > 0, yr, 1.0) - 1.0, busy)}

    return Effects(_ident, compute, {
        "peaks_dev_total": ("fraction", "total peaks per map, model / reference - 1"),
        "peaks_dev_max": ("fraction", "max over height bins with >= 1 peak per map of |count_model/count_ref - 1|"),
    })


def _minkowski(Y: np.ndarray, coords: dict, k_nyquist: float) -> "Effects | None":
    fun = np.asarray(coords.get("functional", []))
    if fun.size != Y.shape[1]:
        return None
    yr = Y.mean(axis=0)
    names = [str(f) for f in dict.fromkeys(fun.tolist())]

    def compute(M):
        out = {}
        for f in names:
            m = fun == f
            scale = np.abs(yr[m]).max()
            out[f"{f}_dev"] = np.abs(M[:, m] - yr[m]).max(axis=1) / scale if scale > 0 else np.full(M.shape[0], np.nan)
        return out

    return Effects(_ident, compute, {f"{f}_dev": ("fraction", f"max over thresholds of |{f}_model - {f}_ref| / max |{f}_ref|") for f in names})


def _bispectrum(Y: np.ndarray, coords: dict, k_nyquist: float) -> Effects:
    yr = Y.mean(axis=0)

    def compute(M):
        return {"Q_dev": np.abs(M - yr).max(axis=1)}

    return Effects(_ident, compute, {"Q_dev": ("Q (dimensionless)", "max over triangles of |Q_model - Q_ref|")})


_BUILDERS = {"power": _power, "mean": _mean, "moments": _moments, "pdf": _pdf, "peaks": _peaks,
             "minkowski": _minkowski, "bispectrum": _bispectrum}


def effects_for(name: str, ref_compare: np.ndarray, coords: "Mapping | None" = None, *, k_nyquist: float = np.inf) -> "Effects | None":
    """The :class:`Effects` of statistic ``name`` against ``ref_compare`` (None for statistics without one).

    Parameters
    ----------
    name : str
        Statistic name (``"power"``, ``"pdf"``, ``"mean"``, ``"moments"``, ``"peaks"``, ``"minkowski"``, ``"bispectrum"``).
    ref_compare : array_like
        Reference summaries ``(m, d)`` of that statistic.
    coords : mapping, optional
        The statistic's :meth:`~cosmobench.stats.base.Statistic.coords` (``k`` for power, ``functional``
        for Minkowski).
    k_nyquist : float
        Upper end of the small-scale P(k) range, h/Mpc.
    """
    build = _BUILDERS.get(name)
    if build is None:
        return None
    return build(np.asarray(ref_compare, dtype=np.float64), dict(coords or {}), float(k_nyquist))
