"""Distances between two sets of per-map summaries.

Every distance takes the model's summaries ``X`` (n, d) and the reference's ``Y`` (m, d) and
returns a float ≥ 0: lower is better, and it tends to 0 when both sets are drawn from the same law
and n, m grow. Its size for a *finite* draw is what the measured null of
:func:`cosmobench.compare.score.score_statistic` (:mod:`cosmobench.compare.null`) measures, so no
distance needs to be calibrated to an absolute scale.

========== =====================================================================================
name       definition
========== =====================================================================================
chi2       ``(x̄ − ȳ)ᵀ C⁻¹ (x̄ − ȳ) / d`` on columns standardised by Y's std, C = Ledoit–Wolf shrunk
           correlation of Y. The squared Mahalanobis distance of the means per dimension. Under
           the null (same law) its expectation is ≈ ``(1/n + 1/m)``; ``chi2_per_dof`` in the
           details divides that out (≈ 1 under the null). Catches mean shifts of any statistic.
frechet    Fréchet (2-Wasserstein) distance between Gaussians fitted to X and Y, after
           standardising both by Y's column std, divided by d. Catches variance and covariance
           mismatch as well as means.
hist_w1    Wasserstein-1 between the mean histograms ``X.mean(0)`` and ``Y.mean(0)`` (each
           renormalised to unit sum), in **bin units**: ``Σ |cumsum(p) − cumsum(q)|``; multiply by
           the bin width for the statistic's units.
abs_mean   ``mean_j |x̄_j − ȳ_j|`` (for the 1-column ``mean`` statistic: ``|x̄ − ȳ|``); the signed
           difference is in the details.
diversity  ``|log(spread(X) / spread(Y))|`` with spread the mean pairwise Euclidean distance of
           at most 1,000 rows (fixed seed, canonical row order) —
           :func:`cosmobench.stats.diversity.pairwise_spread`. A collapsed set gives a large value.
pair_      ``|ρ̄(X) − ρ̄(Y)|``, ρ̄ the mean correlation between distinct rows (each centred) of at most
correla-   1,000 rows: one template repeated at different brightnesses gives ρ̄ ≈ 1.
tion
========== =====================================================================================

Constant columns
----------------
Columns where Y has (numerically) zero variance — a structure count that is always 0 — are
standardised by a variance floor, ``1e-6 × max(|ȳ_j|, median std of the other columns)`` (``1e-12``
when both are 0). Where X agrees with Y there they contribute nothing; where X differs the distance
becomes very large but stays finite, since the reference says such a value never happens.

Adding a distance
-----------------
Write ``_prep_<name>(Y) -> Prepared`` (the reference fixed once; ``Prepared.value(X) -> (value,
details)``, optionally a fast ``bootstrap`` and, for a distance of the column means only,
``from_means``) and add one :class:`Distance` entry to :data:`DISTANCES` with its description.
Nothing else names distances: the null, the floor and the p-value are measured the same way for all.

Besides :data:`DISTANCES` and :func:`distance`, :func:`prepare_distance` fixes the reference once
and returns a :class:`PreparedDistance` of X alone, which is what the bootstrap and the null use.
"""

from __future__ import annotations

import numpy as np

from cosmobench.compare._spec import Distance, Prepared, PreparedDistance, _as_summaries
from cosmobench.errors import CosmobenchError

__all__ = [
    "DISTANCES",
    "Distance",
    "Prepared",
    "PreparedDistance",
    "get_distance",
    "distance",
    "prepare_distance",
    "distance_details",
    "DISTANCE_DESCRIPTIONS",
]

#: Relative size of the variance floor of constant columns (see the module docstring).
CONSTANT_COLUMN_FLOOR = 1e-6
#: Rows of the pairwise-spread subset of the "diversity" distance, and its seed.
DIVERSITY_MAX_ROWS = 1000
DIVERSITY_SEED = 0

def _column_scale(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Y's column std with the variance floor of constant columns, and the mask of live (non-constant) columns."""
    s = Y.std(axis=0, ddof=1)
    pos = s[s > 0]
    typical = float(np.median(pos)) if pos.size else 0.0
    floor = CONSTANT_COLUMN_FLOOR * np.maximum(np.abs(Y.mean(axis=0)), typical)
    floor = np.where(floor > 0, floor, 1e-12)
    return np.maximum(s, floor), s > floor


def _ledoit_wolf(Z: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit–Wolf (2004) shrinkage of the covariance of centred rows ``Z`` towards ``μ I``.

    Returns the shrunk (unbiased-normalised) covariance and the shrinkage intensity in [0, 1].
    """
    m, p = Z.shape
    S = Z.T @ Z / m
    mu = float(np.trace(S)) / p
    delta = float(((S - mu * np.eye(p)) ** 2).sum()) / p
    row4 = float((np.einsum("ij,ij->i", Z, Z) ** 2).sum())
    beta = (row4 / m - float((S**2).sum())) / (m * p)
    beta = min(max(beta, 0.0), delta)
    lam = beta / delta if delta > 0 else 0.0
    shrunk = (1.0 - lam) * S + lam * mu * np.eye(p)
    return shrunk * (m / (m - 1.0)), lam


def _prep_chi2(Y: np.ndarray) -> Prepared:
    m, d = Y.shape
    ybar = Y.mean(axis=0)
    scale, live = _column_scale(Y)
    Z = (Y - ybar) / scale
    C = np.eye(d)
    lam = 0.0
    if live.any():
        C_live, lam = _ledoit_wolf(Z[:, live])
        C[np.ix_(live, live)] = C_live
    w, V = np.linalg.eigh(C)
    w = np.maximum(w, 1e-12 * max(float(w.max()), 1e-300))
    W = V / np.sqrt(w)  # C⁻¹ = W Wᵀ
    n_const = int((~live).sum())

    def f(X: np.ndarray) -> tuple[float, dict]:
        n = X.shape[0]
        z = (X.mean(axis=0) - ybar) / scale
        u = z @ W
        val = float(u @ u) / d
        return val, {
            "chi2_per_dof": val / (1.0 / n + 1.0 / m),
            "shrinkage": lam,
            "constant_columns": n_const,
        }

    def from_means(M: np.ndarray) -> np.ndarray:
        u = ((M - ybar) / scale) @ W
        return np.einsum("ij,ij->i", u, u) / d

    return Prepared(f, from_means=from_means)


def _mean_cov(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = A.mean(axis=0)
    Ac = A - mu
    return mu, Ac.T @ Ac / (A.shape[0] - 1)


def _psd_sqrt(S: np.ndarray) -> np.ndarray:
    w, V = np.linalg.eigh((S + S.T) / 2)
    return (V * np.sqrt(np.maximum(w, 0.0))) @ V.T


def _prep_frechet(Y: np.ndarray) -> Prepared:
    d = Y.shape[1]
    scale, _ = _column_scale(Y)
    ybar = Y.mean(axis=0)
    mu_y, S_y = _mean_cov((Y - ybar) / scale)
    Sy_half = _psd_sqrt(S_y)
    tr_y = float(np.trace(S_y))

    def f(X: np.ndarray) -> tuple[float, dict]:
        mu_x, S_x = _mean_cov((X - ybar) / scale)
        # tr sqrt(S_x S_y) = tr sqrt(S_y^½ S_x S_y^½): a symmetric PSD form, stable and exact.
        M = Sy_half @ S_x @ Sy_half
        ev = np.linalg.eigvalsh((M + M.T) / 2)
        cross = float(np.sqrt(np.maximum(ev, 0.0)).sum())
        mean_term = float(((mu_x - mu_y) ** 2).sum())
        cov_term = max(float(np.trace(S_x)) + tr_y - 2.0 * cross, 0.0)
        return (mean_term + cov_term) / d, {"mean_term": mean_term / d, "cov_term": cov_term / d}

    return Prepared(f)


def _unit_hist(h: np.ndarray, who: str) -> np.ndarray:
    if (h < 0).any():
        raise CosmobenchError(f"the {who} histograms have negative entries; 'hist_w1' needs histogram (count/density) summaries")
    s = float(h.sum())
    if not s > 0:
        raise CosmobenchError(f"the {who} histograms are empty (sum 0); check the histogram range of the statistic")
    return h / s


def _prep_hist_w1(Y: np.ndarray) -> Prepared:
    cq = np.cumsum(_unit_hist(Y.mean(axis=0), "reference"))

    def f(X: np.ndarray) -> tuple[float, dict]:
        cp = np.cumsum(_unit_hist(X.mean(axis=0), "model"))
        return float(np.abs(cp - cq).sum()), {"units": "bins"}

    def from_means(M: np.ndarray) -> np.ndarray:
        tot = M.sum(axis=1, keepdims=True)
        cp = np.cumsum(M / np.where(tot > 0, tot, 1.0), axis=1)
        return np.abs(cp - cq).sum(axis=1)

    return Prepared(f, from_means=from_means)


def _prep_abs_mean(Y: np.ndarray) -> Prepared:
    ybar = Y.mean(axis=0)
    ystd = Y.std(axis=0, ddof=1)

    def f(X: np.ndarray) -> tuple[float, dict]:
        diff = X.mean(axis=0) - ybar
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(ystd > 0, diff / np.where(ystd > 0, ystd, 1.0), np.nan)
        signed = float(diff[0]) if diff.size == 1 else diff.tolist()
        rel_out = float(rel[0]) if rel.size == 1 else rel.tolist()
        return float(np.abs(diff).mean()), {"signed": signed, "signed_over_ref_std": rel_out}

    def from_means(M: np.ndarray) -> np.ndarray:
        return np.abs(M - ybar).mean(axis=1)

    return Prepared(f, from_means=from_means)


def _prep_diversity(Y: np.ndarray) -> Prepared:
    from cosmobench.stats.diversity import _distance_matrix, _spread_rows, pairwise_spread

    sy = pairwise_spread(Y, max_rows=DIVERSITY_MAX_ROWS, seed=DIVERSITY_SEED)

    def value(sx: float) -> float:
        top = max(sx, sy)
        if top == 0:
            return 0.0
        tiny = 1e-12 * top  # a fully collapsed set scores |log 1e-12| ≈ 27.6, not inf
        return abs(float(np.log(max(sx, tiny) / max(sy, tiny))))

    def f(X: np.ndarray) -> tuple[float, dict]:
        sx = pairwise_spread(X, max_rows=DIVERSITY_MAX_ROWS, seed=DIVERSITY_SEED)
        return value(sx), {"spread_model": sx, "spread_ref": sy, "spread_ratio": (sx / sy) if sy > 0 else None}

    def bootstrap(X: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
        # Resample the ≤ 1000 rows the value is computed on, as multinomial weights on their distance
        # matrix: spread* = wᵀ D w / (N (N − 1)), exactly what pairwise_spread gives on the resampled
        # rows (a row drawn twice adds zero-distance pairs), at O(N²) instead of O(N² d) per resample.
        a = _spread_rows(X, DIVERSITY_MAX_ROWS, DIVERSITY_SEED)
        D = _distance_matrix(a)
        N = a.shape[0]
        out = np.empty(int(n_boot))
        for b in range(int(n_boot)):
            w = np.bincount(rng.integers(0, N, size=N), minlength=N).astype(np.float64)
            out[b] = value(float(w @ D @ w) / (N * (N - 1)))
        return out

    return Prepared(f, bootstrap)


def _unit_rows(A: np.ndarray) -> np.ndarray:
    """The ≤ DIVERSITY_MAX_ROWS rows the pair correlation uses, each centred and scaled to unit norm."""
    from cosmobench.stats.diversity import _spread_rows

    a = _spread_rows(A, DIVERSITY_MAX_ROWS, DIVERSITY_SEED)
    a = a - a.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    return a / np.where(norms > 0, norms, 1.0)


def _mean_pair_correlation(A: np.ndarray) -> float:
    """Mean correlation between distinct rows after removing each row's mean (≤ DIVERSITY_MAX_ROWS rows).

    Independent maps give ≈ 0; a generator that emits one template at different brightnesses gives ≈ 1
    even though its pairwise *distances* (and so the spread) can match the reference's.
    """
    a = _unit_rows(A)
    n = a.shape[0]
    if n < 2:
        return 0.0
    total = a.sum(axis=0)  # Σ_ij <a_i, a_j> = |Σ_i a_i|², without the n x n matrix
    self_terms = float((a * a).sum())
    return float((total @ total - self_terms) / (n * (n - 1)))


def _prep_pair_correlation(Y: np.ndarray) -> Prepared:
    ry = _mean_pair_correlation(Y)

    def f(X: np.ndarray) -> tuple[float, dict]:
        rx = _mean_pair_correlation(X)
        return abs(rx - ry), {"pair_correlation_model": rx, "pair_correlation_ref": ry}

    def bootstrap(X: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
        # Resampled rows as multinomial weights w on the correlation matrix C of the rows the value uses;
        # pairs of one original row with itself (a row drawn twice) are left out, as in the value:
        # ρ* = (wᵀCw − Σ w_i² C_ii) / ((Σw)² − Σ w_i²).
        a = _unit_rows(X)
        N = a.shape[0]
        C = a @ a.T
        diag = np.diag(C).copy()
        out = np.empty(int(n_boot))
        for b in range(int(n_boot)):
            w = np.bincount(rng.integers(0, N, size=N), minlength=N).astype(np.float64)
            den = w.sum() ** 2 - (w * w).sum()
            out[b] = abs((w @ C @ w - (w * w * diag).sum()) / den - ry) if den > 0 else 0.0
        return out

    return Prepared(f, bootstrap)


def _spec(name, description, prepare) -> Distance:
    return Distance(name=name, description=description, prepare=prepare)


#: Distance name → :class:`Distance` (callable as ``f(X (n, d), Y (m, d)) -> float``, ≥ 0, lower is better).
DISTANCES: dict[str, Distance] = {
    d.name: d
    for d in (
        _spec("pair_correlation",
              "|difference| of the mean correlation between distinct maps' features (mode collapse)",
              _prep_pair_correlation),
        _spec("chi2", "squared Mahalanobis distance of the means per dimension (shrunk reference correlation)",
              _prep_chi2),
        _spec("frechet", "Frechet distance of Gaussian fits, standardised by the reference std, per dimension",
              _prep_frechet),
        _spec("hist_w1", "Wasserstein-1 between the mean histograms, in bins", _prep_hist_w1),
        _spec("abs_mean", "absolute difference of the means", _prep_abs_mean),
        _spec("diversity", "|log| of the ratio of mean pairwise distances (model / reference)", _prep_diversity),
    )
}

#: One line per distance, for score cards (derived from :data:`DISTANCES`).
DISTANCE_DESCRIPTIONS: dict[str, str] = {name: d.description for name, d in DISTANCES.items()}


def get_distance(name: str) -> Distance:
    """The :class:`Distance` called ``name``.

    Raises
    ------
    CosmobenchError
        For an unknown name, listing the known ones.
    """
    try:
        return DISTANCES[name]
    except (KeyError, TypeError):
        raise CosmobenchError(f"unknown distance {name!r}; use one of: {', '.join(sorted(DISTANCES))}") from None


def prepare_distance(name: str, Y) -> PreparedDistance:
    """Fix the reference of a distance once; return ``f(X) -> (value, details)``.

    Parameters
    ----------
    name : str
        A key of :data:`DISTANCES`.
    Y : array_like
        Reference summaries ``(m, d)``, ``m >= 2``.

    Returns
    -------
    PreparedDistance
        ``f(X)`` validates ``X`` against ``Y`` and returns the distance and a JSON-friendly dict of
        details (e.g. ``chi2_per_dof``, the signed mean difference, the two spreads);
        ``f.bootstrap(X, rng, n_boot)`` the bootstrap values; ``f.spec`` the :class:`Distance`.

    Raises
    ------
    CosmobenchError
        Unknown name, malformed summaries, or fewer than 2 reference rows.
    """
    spec = get_distance(name)
    Y = _as_summaries(Y, "reference")
    if Y.shape[0] < 2:
        raise CosmobenchError(f"the {name!r} distance needs at least 2 reference rows, got {Y.shape[0]}: pass more maps")
    return PreparedDistance(spec, Y)


def distance(name: str, X, Y) -> float:
    """The distance ``name`` between model summaries ``X`` (n, d) and reference summaries ``Y`` (m, d).

    Parameters
    ----------
    name : str
        A key of :data:`DISTANCES` (``"chi2"``, ``"frechet"``, ``"hist_w1"``, ``"abs_mean"``,
        ``"diversity"``, ``"pair_correlation"``).
    X, Y : array_like
        Summaries with the same number of columns and at least 2 rows each; a 1-D array is one column.

    Returns
    -------
    float
        ≥ 0; lower is better.

    Raises
    ------
    CosmobenchError
        Unknown name, mismatched columns, too few rows, NaN/Inf.
    """
    return get_distance(name)(X, Y)


def distance_details(name: str, X, Y) -> dict:
    """The details dict of :func:`prepare_distance` for one pair (e.g. ``chi2_per_dof``, signed mean)."""
    return get_distance(name).value_and_details(X, Y)[1]
