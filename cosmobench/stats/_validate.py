"""Validation of map batches shared by every statistic: one place, one set of messages."""

from __future__ import annotations

import numpy as np

from cosmobench.errors import CosmobenchError

__all__ = ["check_maps", "check_rows", "check_edges", "work_dtype"]

# float32 δ maps written by CIC painters can undershoot -1 by rounding only.
_DELTA_FLOOR = -1.0 - 1e-5


def check_maps(
    maps,
    *,
    min_maps: int = 1,
    shape: "tuple[int, int] | None" = None,
    allow_below_minus_one: bool = False,
    allow_constant: bool = False,
    name: str = "maps",
    dtype=np.float64,
) -> np.ndarray:
    """Validate a batch of δ maps and return it as a C-contiguous float array of shape (n, H, W).

    Parameters
    ----------
    maps : array_like
        Batch of maps, shape (n, H, W); a single (H, W) map is accepted and promoted to (1, H, W).
    min_maps : int
        Fewest maps the caller needs (e.g. 2 for a covariance).
    shape : tuple of int, optional
        Required (H, W).
    allow_below_minus_one : bool
        δ = ρ/ρ̄ − 1 cannot go below −1; set True for fields that are not densities (e.g. a
        Gaussian test field).
    allow_constant : bool
        Accept maps with a single value everywhere.
    name : str
        What to call the input in messages.
    dtype : numpy dtype or None
        Floating dtype of the returned array; ``None`` keeps float32 input as float32 (no copy) and
        makes anything else float64 (see :func:`work_dtype`).

    Returns
    -------
    numpy.ndarray
        ``(n, H, W)`` array of ``dtype``.

    Raises
    ------
    CosmobenchError
        With a sentence saying what is wrong and what to do.
    """
    if not isinstance(maps, np.ndarray):
        try:
            maps = np.asarray(maps)
        except Exception as exc:  # ragged lists and the like
            raise CosmobenchError(f"{name} could not be read as an array ({exc}); pass a numpy array of shape (n, H, W)") from None
    if maps.dtype.kind not in "f":
        raise CosmobenchError(
            f"{name} have dtype {maps.dtype}, not floating point; pass physical δ maps as float32 or float64 "
            "(cast with maps.astype(np.float32) if the values really are δ)"
        )
    if maps.ndim == 2:
        maps = maps[None]
    if maps.ndim != 3:
        raise CosmobenchError(f"{name} have shape {maps.shape}; expected (n, H, W), a batch of 2-D maps")
    n, h, w = maps.shape
    if dtype is None:
        dtype = work_dtype(maps)
    if shape is not None and (h, w) != tuple(shape):
        raise CosmobenchError(f"{name} are {h}x{w} pixels; this track needs {shape[0]}x{shape[1]} maps")
    if h < 4 or w < 4:
        raise CosmobenchError(f"{name} are {h}x{w} pixels; maps must be at least 4x4")
    if n < min_maps:
        raise CosmobenchError(f"got {n} {name}; this needs at least {min_maps}: draw more samples")
    out = np.ascontiguousarray(maps, dtype=dtype)
    finite = np.isfinite(out)
    if not finite.all():
        bad = np.flatnonzero(~finite.reshape(n, -1).all(axis=1))
        raise CosmobenchError(
            f"{bad.size} of {n} {name} contain NaN or Inf (first: map {bad[0]}); fix the generator or drop those maps"
        )
    if not allow_below_minus_one:
        mins = out.reshape(n, -1).min(axis=1)
        if (mins < _DELTA_FLOOR).any():
            i = int(np.argmin(mins))
            raise CosmobenchError(
                f"{name} hold δ = {mins[i]:.4g} < −1 (map {i}); δ = ρ/ρ̄ − 1 cannot be below −1: invert the model's "
                "normalisation so that it outputs physical δ"
            )
    if not allow_constant:
        flat = out.reshape(n, -1)
        const = flat.max(axis=1) == flat.min(axis=1)
        if const.any():
            raise CosmobenchError(
                f"{int(const.sum())} of {n} {name} are constant (first: map {int(np.argmax(const))}); a constant map "
                "has no structure to measure: check the generator's output"
            )
    return out


def work_dtype(maps) -> type:
    """float32 for float32 maps (kernels read them without a copy; comparisons with float64 thresholds
    stay exact), float64 for anything else."""
    return np.float32 if getattr(maps, "dtype", None) == np.float32 else np.float64


def check_edges(edges, default=None, *, what: str = "bin edges in log10(1+δ)", nonnegative: bool = False) -> np.ndarray:
    """Validate histogram bin edges: 1-D, at least 2, finite, strictly increasing (and ≥ 0 if asked).

    Parameters
    ----------
    edges : array_like or None
        The edges; ``None`` returns a writable copy of ``default``.
    default : array_like, optional
        Edges used when ``edges`` is None.
    what : str
        What the edges are, for messages (e.g. "bin edges in h/Mpc").
    nonnegative : bool
        Also require ``edges[0] >= 0``.

    Returns
    -------
    numpy.ndarray
        ``(nb + 1,)`` float64 edges.

    Raises
    ------
    CosmobenchError
        Saying what is wrong with the edges.
    """
    if edges is None and default is not None:
        return np.array(default, dtype=np.float64)
    try:
        e = np.asarray(edges, dtype=np.float64)
    except (TypeError, ValueError):
        raise CosmobenchError(f"edges {edges!r} are not numbers; pass a 1-D array of {what}") from None
    if e.ndim != 1 or e.size < 2:
        raise CosmobenchError(f"edges must be a 1-D array of at least 2 {what}")
    if not np.isfinite(e).all() or (np.diff(e) <= 0).any() or (nonnegative and e[0] < 0):
        sign = "non-negative, " if nonnegative else ""
        raise CosmobenchError(f"edges must be finite, {sign}strictly increasing {what}")
    return e


def check_rows(rows, name: str, *, min_rows: int = 1) -> np.ndarray:
    """Validate a ``(n, d)`` float array of per-map vectors (summaries, features); 1-D means one column.

    Parameters
    ----------
    rows : array_like
        One vector per map.
    name : str
        What to call the input in messages (e.g. "model summaries").
    min_rows : int
        Fewest rows the caller needs.

    Returns
    -------
    numpy.ndarray
        ``(n, d)`` float64 array.

    Raises
    ------
    CosmobenchError
        For unreadable, wrongly shaped, empty or non-finite input.
    """
    try:
        a = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CosmobenchError(f"{name} could not be read as a float array ({exc}); pass an (n, d) numpy array") from None
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise CosmobenchError(f"{name} have shape {a.shape}; expected (n, d): one vector per map")
    if a.shape[0] < min_rows:
        raise CosmobenchError(f"{name} have {a.shape[0]} rows; this needs at least {min_rows}: pass more maps")
    if a.shape[1] < 1:
        raise CosmobenchError(f"{name} have no columns; the statistic returned empty vectors")
    if not np.isfinite(a).all():
        bad = int((~np.isfinite(a)).any(axis=1).sum())
        raise CosmobenchError(f"{bad} rows of {name} contain NaN or Inf; check the maps that produced them")
    return a
