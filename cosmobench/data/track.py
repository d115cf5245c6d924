"""Tracks: the geometry of the maps a generator must produce.

A track fixes what a map *is* (pixel size, tile size, slab thickness, redshift), so that numbers
of different models on one track compare. A source (built-in simulator, Quijote files, CAMELS
files) produces maps for one track; numbers from different sources never share a leaderboard row.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from cosmobench.errors import CosmobenchError

__all__ = ["Track", "TRACKS", "get_track", "DEFAULT_TRACK"]


@dataclass(frozen=True)
class Track:
    """Geometry of the maps of a track.

    Attributes
    ----------
    name : str
        Track identifier used in results and leaderboards.
    pixel_size : float
        Pixel side in Mpc/h.
    tile : int
        Map side in pixels (maps are ``tile x tile``).
    slab_thickness : float
        Thickness in Mpc/h of the slab projected into one map (0 for a full-box projection).
    redshift : float
        Redshift of the field.
    description : str
        One line for humans.
    """

    name: str
    pixel_size: float
    tile: int
    slab_thickness: float
    redshift: float = 0.0
    description: str = ""

    @property
    def tile_size(self) -> float:
        """Side of a map in Mpc/h (the L of the power-spectrum normalisation)."""
        return self.pixel_size * self.tile

    @property
    def k_fundamental(self) -> float:
        """Fundamental mode 2π/L of a map, h/Mpc."""
        return 2.0 * math.pi / self.tile_size

    @property
    def k_nyquist(self) -> float:
        """Nyquist wavenumber π/Δx, h/Mpc."""
        return math.pi / self.pixel_size

    @property
    def shape(self) -> tuple[int, int]:
        return (self.tile, self.tile)

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULT_TRACK = Track(
    name="quijote-z0",
    pixel_size=1000.0 / 256,
    tile=64,
    slab_thickness=2 * 1000.0 / 256,
    redshift=0.0,
    description="Quijote-like z=0 matter δ, 64² tiles of 3.906 Mpc/h pixels, 2-plane (7.8 Mpc/h) slabs",
)

TRACKS: dict[str, Track] = {
    DEFAULT_TRACK.name: DEFAULT_TRACK,
    "quijote2d-z0": Track(
        name="quijote2d-z0",
        pixel_size=1000.0 / 256,
        tile=64,
        slab_thickness=5 * 1000.0 / 256,
        redshift=0.0,
        description="Quijote 2-D df_z=0 maps (5 planes, 19.5 Mpc/h), cut into 64² tiles",
    ),
    "camels-mtot-z0": Track(
        name="camels-mtot-z0",
        pixel_size=25.0 / 256,
        tile=64,
        slab_thickness=25.0,
        redshift=0.0,
        description="CAMELS CMD total-mass maps as δ, 64² tiles of 0.098 Mpc/h pixels",
    ),
}


def get_track(track: "str | Track | None" = None) -> Track:
    """Return a :class:`Track` by name (``None`` gives the default track).

    Raises
    ------
    CosmobenchError
        If the name is unknown; the message lists the known tracks.
    """
    if track is None:
        return DEFAULT_TRACK
    if isinstance(track, Track):
        return track
    if track == "default":
        return DEFAULT_TRACK
    try:
        return TRACKS[track]
    except KeyError:
        raise CosmobenchError(
            f"unknown track {track!r}; use one of: {', '.join(sorted(TRACKS))} (or 'default')"
        ) from None
