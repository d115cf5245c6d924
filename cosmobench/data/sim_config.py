"""Simulator configs: the :class:`SimConfig` of one run and the named recipes (``SIM_CONFIGS``).

A config is part of a simulated source's recipe (``meta.json`` records it, with its cosmology), so
fields are only ever added, with defaults that reproduce the code that wrote older records
(:func:`config_from_dict`). :mod:`cosmobench.data.simulator` runs a config and re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from cosmobench.data.cosmology import QUIJOTE, Cosmology
from cosmobench.errors import CosmobenchError

__all__ = ["SimConfig", "SIM_CONFIGS", "config_from_dict", "get_config"]


@dataclass(frozen=True)
class SimConfig:
    """Geometry and time stepping of one simulation.

    Attributes
    ----------
    box_size : float
        Periodic box side in Mpc/h.
    n_particles : int
        Particles per side (``n_particles**3`` in total); also the white-noise grid of the ICs.
    mesh_factor : int
        Force mesh per side = ``mesh_factor × n_particles``. 2 is needed for P(k) within a few % at
        k = 0.5 h/Mpc; 1 loses ~20% there.
    n_steps : int
        Particle-mesh kick-drift-kick steps, linear in a, from ``a_pm`` to 1.
    a_init : float
        Scale factor of the initial conditions (1/128 is Quijote's z = 127); ``delta_init`` is the
        CIC density of the 2LPT particles there.
    paint_grid : int
        Cells per side of the output CIC density grids.
    a_pm : float
        Scale factor where the particle mesh takes over from 2LPT (0.1, z = 9). Why not at a_init:
        on a near-perfect lattice the CIC PM force is 2-7% too strong at 0.05-0.3 h/Mpc (lattice
        aliasing, measured against D·Ψ), and integrating from z = 127 turns that into +10% power
        at z = 0; 2LPT is exact to ≪1% at these scales until z ≈ 9. Set ``a_pm = a_init`` to run
        the PM from z = 127.
    force_deconvolve : int
        Powers of the CIC window divided out of the force (0 = none, 2 = paint and readout).
        0 matches Mead2020 best at B = 2; compensation adds 10-50% spurious small-scale power.
    paint_refine : int
        Sub-particles per particle and axis used to paint the output grids (``delta`` and
        ``delta_init``; the force mesh always uses the particles). 2 paints 8 sub-particles of mass
        1/8 at the sub-lattice Lagrangian points, displacements Fourier-interpolated from the
        particles (``_refine.paint_refined``): 256³ particles then paint like 512³, and voids lose
        the stripes of a stretched particle lattice. 1 paints the particles (version 1). Why not a
        finer force mesh or a refined force paint instead: on the small config a 3× or 4× mesh gave
        *less* power at 0.2-0.8 h/Mpc than 2× (discreteness of the coarse load), and trilinear
        sub-particles on the force mesh took 30-40% of the power at k = 0.5.
    ic_grid : int
        White-noise grid per side; 0 means ``n_particles``. A smaller even value draws exactly the
        modes of a run with ``ic_grid`` particles (same seed) and leaves the higher ones at zero: a
        higher-resolution twin of that run, used to check ``paint_refine`` against true particles.
    cosmology : Cosmology
    """

    box_size: float
    n_particles: int
    mesh_factor: int = 2
    n_steps: int = 10
    a_init: float = 1.0 / 128.0
    paint_grid: int = 256
    a_pm: float = 0.1
    force_deconvolve: int = 0
    paint_refine: int = 1
    ic_grid: int = 0
    cosmology: Cosmology = field(default=QUIJOTE)

    def __post_init__(self):
        def bad(what, fix):
            raise CosmobenchError(f"invalid SimConfig: {what}; {fix}.")

        if not (np.isfinite(self.box_size) and self.box_size > 0):
            bad(f"box_size={self.box_size}", "give a positive box side in Mpc/h")
        if int(self.n_particles) != self.n_particles or self.n_particles < 4 or self.n_particles % 2:
            bad(f"n_particles={self.n_particles}", "use an even integer >= 4 (e.g. 64 or 256)")
        if int(self.mesh_factor) != self.mesh_factor or self.mesh_factor < 1:
            bad(f"mesh_factor={self.mesh_factor}", "use an integer >= 1 (2 is recommended)")
        if int(self.n_steps) != self.n_steps or self.n_steps < 1:
            bad(f"n_steps={self.n_steps}", "use an integer >= 1 (10 or more is recommended)")
        if not 0.0 < self.a_init < 1.0:
            bad(f"a_init={self.a_init}", "use a scale factor in (0, 1), e.g. 1/128 for z = 127")
        if not self.a_init <= self.a_pm < 1.0:
            bad(f"a_pm={self.a_pm}", "use a scale factor between a_init and 1, e.g. 0.1")
        if int(self.paint_grid) != self.paint_grid or self.paint_grid < 4 or self.paint_grid % 2:
            bad(f"paint_grid={self.paint_grid}", "use an even integer >= 4")
        if self.force_deconvolve not in (0, 1, 2):
            bad(f"force_deconvolve={self.force_deconvolve}", "use 0, 1 or 2")
        if int(self.paint_refine) != self.paint_refine or not 1 <= self.paint_refine <= 4:
            bad(f"paint_refine={self.paint_refine}", "use 1 (paint particles) or 2 (8 sub-particles each)")
        if (int(self.ic_grid) != self.ic_grid or self.ic_grid < 0 or self.ic_grid % 2
                or self.ic_grid > self.n_particles or 0 < self.ic_grid < 4):
            bad(f"ic_grid={self.ic_grid}", "use 0 (= n_particles) or an even grid between 4 and n_particles")
        if not isinstance(self.cosmology, Cosmology):
            bad("cosmology is not a Cosmology", "pass cosmobench.data.cosmology.Cosmology(...)")

    @property
    def n_mesh(self) -> int:
        """Force-mesh cells per side."""
        return int(self.mesh_factor * self.n_particles)

    @property
    def cell_size(self) -> float:
        """Output pixel side in Mpc/h."""
        return self.box_size / self.paint_grid

    @property
    def shot_noise(self) -> float:
        """Poisson shot noise 1/n̄ = V / N in (Mpc/h)³ of the particles (painted tracers: ÷ paint_refine³)."""
        return self.box_size**3 / self.n_particles**3


_DEFAULT_V1 = SimConfig(box_size=1000.0, n_particles=256, mesh_factor=2, n_steps=10, paint_grid=256)
_SMALL_V1 = SimConfig(box_size=250.0, n_particles=64, mesh_factor=2, n_steps=10, paint_grid=64)

SIM_CONFIGS: dict[str, SimConfig] = {
    "default": replace(_DEFAULT_V1, paint_refine=2),
    "small": replace(_SMALL_V1, paint_refine=2),
    # Version-1 recipes (particles painted directly): sources built before version 2 use these.
    "default-v1": _DEFAULT_V1,
    "small-v1": _SMALL_V1,
}


def config_from_dict(d: dict) -> SimConfig:
    """The :class:`SimConfig` of a source's recorded config (fields it lacks take their defaults).

    Fields added after a source was written default to the behaviour of the code that wrote it, so
    a version-1 record compares equal to ``SIM_CONFIGS["default-v1"]``.
    """
    try:
        fields = dict(d)
        fields["cosmology"] = Cosmology(**fields.get("cosmology", {}))
        return SimConfig(**fields)
    except (TypeError, ValueError) as exc:
        raise CosmobenchError(f"unreadable simulator config {d!r} ({exc}); rebuild the source") from None


def get_config(config: str | SimConfig) -> SimConfig:
    """Resolve a config name (``"default"``, ``"small"``, ``"default-v1"``, ``"small-v1"``) or pass a
    :class:`SimConfig` through."""
    if isinstance(config, SimConfig):
        return config
    if isinstance(config, str) and config in SIM_CONFIGS:
        return SIM_CONFIGS[config]
    raise CosmobenchError(
        f"unknown simulation config {config!r}; use one of {sorted(SIM_CONFIGS)} or a SimConfig(...)."
    )
