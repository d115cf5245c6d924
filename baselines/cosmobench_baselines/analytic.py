"""Analytic baselines: a Gaussian random field and a lognormal field with the reference P(k).

Both measure the isotropic power spectrum of the source's ``train`` maps (cosmobench's estimator,
``P = L²/N⁴ ⟨|FFT δ|²⟩``, k_F-wide bins), put it on the 2-D Fourier grid of a track tile of side
L = ``track.tile_size`` (log-log interpolation in |k|, then rescaled bin by bin so that each bin's mean
over its modes equals the measured value exactly; the corner modes beyond the last bin are extrapolated
with the last slope), and draw fields from it:

- ``grf``: δ_k = FFT(white noise) · √(P N²/L²), via ``rfft2``/``irfft2`` of real white noise, so Hermitian
  symmetry is exact. The mean of each map is drawn too: the DC mode gets the variance of the reference's
  map means. A Gaussian δ goes below −1 where the field is underdense; those pixels are **clipped to
  −1 + 1e−6** (the fraction is in ``info["clip_fraction"]``), so the PDF is wrong twice over — as a
  Gaussian baseline should be. Right two-point function, wrong everything else.
- ``lognormal``: δ = exp(g − σ_g²/2) − 1, with the Gaussian g's power chosen so that δ has the
  reference P(k): ξ_δ = IFFT(P) on the periodic map grid, ξ_g = ln(1 + ξ_δ), P_g = FFT(ξ_g). Where
  ξ_δ ≤ −1 it is floored at −1 + 1e−6 and negative P_g modes are set to 0 (both reported in ``info``);
  σ_g² is the variance the realised P_g gives, so ⟨δ⟩ = 0 exactly and var δ = exp(σ_g²) − 1. Before the
  transform the spectrum is rescaled to the reference's mean per-map pixel variance, so the lognormal
  matches the variance (P(k) matches to the accuracy of the lognormal approximation). δ > −1 always.
"""

from __future__ import annotations

import math

import numpy as np

from cosmobench.errors import CosmobenchError
from cosmobench.stats.power import power_spectrum

__all__ = ["reference_spectrum", "grid_power", "SpectralFieldGenerator", "grf_factory", "lognormal_factory",
           "GRF_FLOOR"]

#: Floor applied to Gaussian δ (the core rejects δ < −1).
GRF_FLOOR = -1.0 + 1e-6


def _track(track):
    from cosmobench.data.track import get_track

    return get_track(track)


def _binned_power(maps: np.ndarray, box_size: float):
    """(k, P (n, nb), edges) of ``maps`` with the core's estimator (the statistic the maps are scored by)."""
    ps = power_spectrum(maps, box_size=box_size)
    return np.asarray(ps.k, float), np.asarray(ps.power, float), np.asarray(ps.edges, float)


def _kgrid(n: int, box_size: float) -> np.ndarray:
    k1 = 2 * math.pi * np.fft.fftfreq(n, d=box_size / n)
    return np.sqrt(k1[:, None] ** 2 + k1[None, :] ** 2)


def grid_power(k: np.ndarray, p: np.ndarray, edges: np.ndarray, n: int, box_size: float) -> np.ndarray:
    """P on the full (n, n) FFT grid (DC = 0) from binned (k, P): log-log interpolation, exact bin means."""
    kk = _kgrid(n, box_size)
    good = np.isfinite(k) & np.isfinite(p) & (p > 0)
    if good.sum() < 2:
        raise CosmobenchError("the reference power spectrum has fewer than 2 usable bins; check the reference maps")
    lk, lp = np.log(k[good]), np.log(p[good])
    out = np.zeros_like(kk)
    nz = kk > 0
    lx = np.log(kk[nz])
    val = np.interp(lx, lk, lp)
    slope_hi = (lp[-1] - lp[-2]) / (lk[-1] - lk[-2])
    slope_lo = (lp[1] - lp[0]) / (lk[1] - lk[0])
    val = np.where(lx > lk[-1], lp[-1] + slope_hi * (lx - lk[-1]), val)
    val = np.where(lx < lk[0], lp[0] + slope_lo * (lx - lk[0]), val)
    out[nz] = np.exp(val)
    # rescale bin by bin so that the mean over a bin's modes is the measured P exactly
    idx = np.digitize(kk, edges) - 1
    for j in np.flatnonzero(good):
        m = (idx == j) & nz
        if m.any():
            out[m] *= p[j] / out[m].mean()
    return out


#: At most this many reference maps (evenly strided, deterministic) enter the measurement.
MAX_REFERENCE_MAPS = 8192


def reference_spectrum(maps: np.ndarray, box_size: float) -> dict:
    """Everything the spectral baselines need from reference maps (n, N, N)."""
    if maps.shape[0] > MAX_REFERENCE_MAPS:
        maps = maps[:: int(math.ceil(maps.shape[0] / MAX_REFERENCE_MAPS))]
    maps = np.asarray(maps, dtype=np.float64)
    k, p, edges = _binned_power(maps, box_size)
    n = maps.shape[-1]
    means = maps.mean(axis=(1, 2))
    return {
        "k": k,
        "p_mean": np.nanmean(p, axis=0),
        "edges": edges,
        "n": n,
        "box_size": float(box_size),
        "mean_of_means": float(means.mean()),
        "var_of_means": float(means.var()),
        "var_within": float(maps.var(axis=(1, 2)).mean()),
        "n_maps": int(maps.shape[0]),
    }


class SpectralFieldGenerator:
    """``grf`` or ``lognormal`` field with a target 2-D spectrum.

    Parameters
    ----------
    kind : {"grf", "lognormal"}
    ref : dict
        Output of :func:`reference_spectrum`.
    batch_size : int
        Maps per FFT batch.
    """

    def __init__(self, kind: str, ref: dict, *, batch_size: int = 256, track=None, source_info=None):
        if kind not in ("grf", "lognormal"):
            raise ValueError(kind)
        self.name = kind
        self.kind = kind
        self.track = track
        self.batch_size = int(batch_size)
        n, L = ref["n"], ref["box_size"]
        self.n = n
        P = grid_power(ref["k"], ref["p_mean"], ref["edges"], n, L)
        A = P * n**2 / L**2  # <|FFT δ|²> / N²: Σ_k A / N² = variance, IFFT(A) = ξ on the grid
        self.info = {"family": "analytic", "kind": kind, "source": source_info, "n_reference_maps": ref["n_maps"]}
        if kind == "grf":
            A[0, 0] = n**2 * ref["var_of_means"]
            self.amp = np.sqrt(A[:, : n // 2 + 1])
            self.mean = ref["mean_of_means"]
            self.info["output_clipping"] = f"delta < {GRF_FLOOR} clipped to {GRF_FLOOR}"
        else:
            within = A.sum() / n**2
            scale = ref["var_within"] / within if within > 0 else 1.0
            A *= scale
            A[0, 0] = n**2 * ref["var_of_means"]
            xi = np.fft.ifft2(A).real
            floored = xi <= -1 + 1e-6
            xi = np.maximum(xi, -1 + 1e-6)
            Ag = np.fft.fft2(np.log1p(xi)).real
            neg = Ag < 0
            neg_frac = float((-Ag[neg]).sum() / np.abs(Ag).sum()) if neg.any() else 0.0
            Ag = np.clip(Ag, 0, None)
            self.sigma_g2 = float(Ag.sum() / n**2)
            self.amp = np.sqrt(Ag[:, : n // 2 + 1])
            self.mean = 0.0
            self.target_variance = float(ref["var_within"] + ref["var_of_means"])
            self.info.update({
                "variance_rescale": float(scale),
                "xi_floored_pixels": int(floored.sum()),
                "negative_gaussian_power_fraction": neg_frac,
                "sigma_g2": self.sigma_g2,
                "target_variance": self.target_variance,
            })

    def _gaussian(self, rng: np.random.Generator, b: int) -> np.ndarray:
        w = rng.standard_normal((b, self.n, self.n))
        return np.fft.irfft2(np.fft.rfft2(w) * self.amp, s=(self.n, self.n))

    def sample(self, n: int, *, seed: int) -> np.ndarray:
        n = int(n)
        rng = np.random.default_rng(int(seed))
        out = np.empty((n, self.n, self.n), dtype=np.float32)
        clipped = 0
        for lo in range(0, n, self.batch_size):
            b = min(self.batch_size, n - lo)
            g = self._gaussian(rng, b)
            if self.kind == "grf":
                d = g + self.mean
                clipped += int((d < GRF_FLOOR).sum())
                d = np.maximum(d, GRF_FLOOR)
            else:
                d = np.expm1(g - 0.5 * self.sigma_g2)
                d = np.maximum(d, -1.0 + 1e-6)  # exp underflow in float32 only
            out[lo:lo + b] = d
        self.info["clip_fraction"] = clipped / max(out.size, 1)
        return out


def reference_source(source: str, split: str):
    """The reference source, built first when it is a missing built-in one (a fresh machine's first run).

    A thin name for :func:`cosmobench.data.store.ensure_source`, the core's one way to open a source.
    """
    from cosmobench.data.store import ensure_source

    return ensure_source(source, splits=(split,))


def _reference(source: str, track, reference_maps):
    tr = _track(track)
    if reference_maps is not None:
        maps = np.asarray(reference_maps)
        src_info = {"name": "array", "split": "given"}
    else:
        src = reference_source(source, "train")
        maps = src.maps("train")
        src_info = {"name": src.name, "split": "train", "content_hash": getattr(src, "content_hash", None)}
    if maps.ndim != 3 or maps.shape[1:] != tr.shape:
        raise CosmobenchError(f"reference maps have shape {maps.shape}; the track {tr.name} needs (n, {tr.tile}, {tr.tile})")
    return reference_spectrum(maps, tr.tile_size), tr, src_info


def _factory(kind, checkpoint, track, source, reference_maps, batch_size, options):
    if checkpoint is not None:
        raise CosmobenchError(f"{kind} takes no checkpoint; use --model {kind}")
    if options:
        raise CosmobenchError(f"{kind}: unknown options {sorted(options)}; it takes source=, batch_size=")
    ref, tr, src_info = _reference(source, track, reference_maps)
    return SpectralFieldGenerator(kind, ref, batch_size=batch_size, track=tr, source_info=src_info)


def grf_factory(*, checkpoint=None, track=None, source: str = "sim", reference_maps=None, batch_size: int = 256,
                **options) -> SpectralFieldGenerator:
    """Gaussian random field with the P(k) of the ``train`` maps of ``source`` (clipped at −1 + 1e−6)."""
    return _factory("grf", checkpoint, track, source, reference_maps, batch_size, options)


def lognormal_factory(*, checkpoint=None, track=None, source: str = "sim", reference_maps=None, batch_size: int = 256,
                      **options) -> SpectralFieldGenerator:
    """Lognormal field with the P(k) and variance of the ``train`` maps of ``source``."""
    return _factory("lognormal", checkpoint, track, source, reference_maps, batch_size, options)
