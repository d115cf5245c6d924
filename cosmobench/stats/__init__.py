"""Batched statistics of δ maps.

Every public function takes a batch ``(n, H, W)`` of physical δ maps and returns per-map results;
every :class:`~cosmobench.stats.base.Statistic` turns a batch into one summary vector per map for
the comparison layer.
"""

from __future__ import annotations

from cosmobench.data.track import Track, get_track
from cosmobench.stats.base import Statistic
from cosmobench.stats.batch import BatchContext, summarize_batch
from cosmobench.stats.bispectrum import Bispectrum, BispectrumStatistic, bispectrum
from cosmobench.stats.diversity import (
    CollapseStatistic,
    DiversityStatistic,
    map_features,
    nearest_neighbour_distances,
    pairwise_spread,
    pixel_variance_ratio,
)
from cosmobench.stats.minkowski import MinkowskiStatistic, minkowski
from cosmobench.stats.pdf import MeanStatistic, MomentsStatistic, PDFStatistic, PixelPDF, pixel_pdf
from cosmobench.stats.peaks import PeakStatistic, peak_counts
from cosmobench.stats.power import PowerSpectrum, PowerStatistic, dimensionless_power, power_spectrum, welch_power
from cosmobench.stats.structures import (
    StructureCatalog,
    StructureStatistic,
    label_structures,
    seed_threshold,
    structures,
)

# ``peaks`` is the name the issue uses for the statistic; the function is ``peak_counts``.
peaks = peak_counts

#: Every statistic class, in score-card order.
STATISTICS: dict[str, type[Statistic]] = {
    cls.name: cls
    for cls in (
        PowerStatistic,
        PDFStatistic,
        MeanStatistic,
        MomentsStatistic,
        StructureStatistic,
        MinkowskiStatistic,
        PeakStatistic,
        BispectrumStatistic,
        DiversityStatistic,
        CollapseStatistic,
    )
}


def default_statistics(track: "Track | str | None" = None, *, sigma0: "float | None" = None) -> list[Statistic]:
    """The statistics a default evaluation computes, configured for ``track``.

    Parameters
    ----------
    track : Track or str, optional
        Map geometry (default track when omitted).
    sigma0 : float, optional
        Standard deviation of the reference source's z = 127 fields; when given, the structure
        statistic adds the seed's σ0-based threshold.

    Returns
    -------
    list of Statistic
    """
    track = get_track(track)
    out: list[Statistic] = []
    for name, cls in STATISTICS.items():
        if name == "structures" and sigma0 is not None:
            out.append(cls(track, sigma0=float(sigma0)))
        else:
            out.append(cls(track))
    return out


__all__ = [
    "Statistic",
    "BatchContext",
    "summarize_batch",
    "STATISTICS",
    "default_statistics",
    "power_spectrum",
    "dimensionless_power",
    "welch_power",
    "PowerSpectrum",
    "pixel_pdf",
    "PixelPDF",
    "structures",
    "label_structures",
    "seed_threshold",
    "StructureCatalog",
    "minkowski",
    "peaks",
    "peak_counts",
    "bispectrum",
    "Bispectrum",
    "map_features",
    "pairwise_spread",
    "pixel_variance_ratio",
    "nearest_neighbour_distances",
    "PowerStatistic",
    "PDFStatistic",
    "MeanStatistic",
    "MomentsStatistic",
    "StructureStatistic",
    "MinkowskiStatistic",
    "PeakStatistic",
    "BispectrumStatistic",
    "DiversityStatistic",
    "CollapseStatistic",
]
