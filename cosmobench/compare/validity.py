"""Physical validity of a model's maps: measured and reported, never a reason to refuse the model.

Malformed data (NaN/Inf, wrong shape or dtype, empty) is an error and never reaches this module. Finite
maps that are *physically* invalid are scored:

- a pixel with δ < −1 (less than no matter at all) is clipped to δ = −1, an empty cell;
- a map that is constant (before or after that clipping) has no fluctuations: the statistics measure
  it like any other map (zero power, one PDF bin, no structures or peaks); the summary entries it leaves
  undefined (0/0: skewness, kurtosis, reduced bispectrum, σ-scaled thresholds) are set to 0.

:class:`ValidityTally` counts what was changed chunk by chunk, and :meth:`ValidityTally.score` turns the
counts into the ``validity`` metric: the share of valid maps (higher is better; a reference map is always
valid, so the floor is 1 and ratio = share) with the counts and the rule in ``extra``. Like memorisation
it is reported beside the composite, not folded into it: the clipped maps' distances already carry the
damage, and the validity row says where it came from.
"""

from __future__ import annotations

import numpy as np

from cosmobench.compare.metric import MetricScore

__all__ = ["ValidityTally", "VALIDITY_RULE", "DELTA_FLOOR"]

#: δ below this is physically impossible (float32 CIC painters undershoot −1 by rounding only).
DELTA_FLOOR = -1.0 - 1e-5
VALIDITY_RULE = (
    "pixels with delta < -1 are clipped to -1 (an empty cell) before scoring; constant maps are scored as they are, "
    "summary entries they leave undefined (0/0) set to 0; a map is valid when no pixel is below -1 and it is not "
    "constant"
)
# Bump when the rule or the counts change.
_VERSION = "1"


def _wilson(k: int, n: int, z: float = 1.959964) -> "tuple[float, float]":
    """95 % Wilson interval of a binomial share k/n (stays inside [0, 1], sane at k = 0 or n)."""
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return float(max(0.0, mid - half)), float(min(1.0, mid + half))


class ValidityTally:
    """Counts of physically invalid maps, accumulated over the chunks of one draw."""

    def __init__(self) -> None:
        self.maps = 0
        self.below_maps = 0  # maps with at least one pixel below −1
        self.all_below_maps = 0  # maps below −1 everywhere
        self.constant_maps = 0  # constant after clipping (includes the all-below ones)
        self.invalid_maps = 0
        self.pixels = 0
        self.below_pixels = 0

    def apply(self, maps: np.ndarray) -> "tuple[np.ndarray, np.ndarray]":
        """Count and apply the scoring rule to one validated ``(n, H, W)`` chunk.

        Parameters
        ----------
        maps : numpy.ndarray
            Finite float maps (already checked for shape, dtype and NaN/Inf).

        Returns
        -------
        maps : numpy.ndarray
            The maps with δ < −1 clipped to −1 (the input itself when nothing is below −1).
        constant : numpy.ndarray of bool
            ``(n,)``: maps without fluctuations, whose undefined summary entries the caller sets to 0.
        """
        n = maps.shape[0]
        flat = maps.reshape(n, -1)
        below = flat < DELTA_FLOOR
        below_per_map = below.sum(axis=1)
        if below_per_map.any():
            maps = np.maximum(maps, np.asarray(-1.0, dtype=maps.dtype))
            flat = maps.reshape(n, -1)
        constant = flat.max(axis=1) == flat.min(axis=1)
        self.maps += n
        self.pixels += flat.size
        self.below_pixels += int(below_per_map.sum())
        self.below_maps += int((below_per_map > 0).sum())
        self.all_below_maps += int((below_per_map == flat.shape[1]).sum())
        self.constant_maps += int(constant.sum())
        self.invalid_maps += int(((below_per_map > 0) | constant).sum())
        return maps, constant

    @property
    def all_valid(self) -> bool:
        return self.invalid_maps == 0

    def score(self) -> MetricScore:
        """The ``validity`` metric of the maps counted so far.

        ``value`` = share of valid maps, ``floor`` = 1 (every reference map is valid), ``ratio`` = value,
        ``ci`` = 95 % Wilson interval of the share; ``extra`` holds the counts, the share of pixels below
        −1 and :data:`VALIDITY_RULE`.
        """
        n = max(self.maps, 1)
        valid = self.maps - self.invalid_maps
        share = valid / n
        lo, hi = _wilson(valid, n)
        return MetricScore(
            name="validity",
            version=_VERSION,
            distance="valid_fraction",
            value=share,
            floor=1.0,
            ratio=share,
            ci=(lo, hi),
            higher_is_better=True,
            extra={
                "n_maps": self.maps,
                "valid_maps": valid,
                "invalid_fraction": self.invalid_maps / n,
                "maps_below_minus_one": self.below_maps,
                "maps_below_minus_one_everywhere": self.all_below_maps,
                "constant_maps": self.constant_maps,
                "pixels_below_minus_one_fraction": self.below_pixels / max(self.pixels, 1),
                "ratio_ci": [lo, hi],
                "rule": VALIDITY_RULE,
            },
        )
