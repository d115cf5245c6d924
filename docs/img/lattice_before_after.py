"""Make docs/img/lattice_before_after.png: one 64² tile, version-1 paint vs the current recipe, same particles.

    python docs/img/lattice_before_after.py

The small config's box (250 Mpc/h, 64³ particles, 3.906 Mpc/h pixels) is exactly one tile of the default
track; log10(2 + δ) of slab 16 (two planes averaged), nearest interpolation, one colour scale.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cosmobench.data.lattice import slabs, void_anisotropy  # noqa: E402
from cosmobench.data.simulator import paint_density, simulate  # noqa: E402


def main(out=Path(__file__).with_suffix(".png"), seed: int = 0, slab: int = 16) -> Path:
    run = simulate("small", seed, keep_displacements=True)
    cubes = {"version 1: 64³ particles painted": paint_density(run.displacement, "small", refine=1),
             "version 2: 8 sub-particles each (the recipe)": run.delta}
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.2), constrained_layout=True)
    for ax, (title, cube) in zip(axes, cubes.items()):
        im = ax.imshow(np.log10(2.0 + slabs(cube)[slab]).T, origin="lower", interpolation="nearest",
                       cmap="magma", vmin=0.0, vmax=0.8, extent=(0, 250, 0, 250))
        ax.set_title(f"{title}\nvoid anisotropy {void_anisotropy(cube):.2f} (1 = isotropic)", fontsize=10)
        ax.set_xlabel("x [Mpc/h]")
    axes[0].set_ylabel("y [Mpc/h]")
    fig.colorbar(im, ax=axes, shrink=0.8, label="log10(2 + δ)")
    fig.savefig(out, dpi=110)
    return out


if __name__ == "__main__":
    print(main())
