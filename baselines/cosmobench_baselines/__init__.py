"""cosmobench-baselines: reference generators that plug into cosmobench through entry points.

Registered names (entry-point group ``cosmobench.generators``):

========== ==============================================================================
holdout    maps of the reference's validation split (the best a model can hope for)
grf        Gaussian random field with the reference P(k) (right 2-point, wrong PDF)
lognormal  lognormal field matching the reference P(k) and variance
ddpm-seed  the seed report's DDPM (table-2.1 U-Net, linear β, [−1, 235.2] → [−1, 1])
ddpm       a better DDPM (log transform, cosine schedule, v-prediction, EMA, DDIM-50)
gan-seed   the seed report's MLP GAN
gan        a convolutional spectral-norm hinge GAN
========== ==============================================================================

The core (``cosmobench``) never imports this package; it finds the factories by entry point.
"""

__version__ = "0.1.0"

GENERATORS = ("holdout", "grf", "lognormal", "ddpm-seed", "ddpm", "gan-seed", "gan")
NEURAL = ("ddpm-seed", "ddpm", "gan-seed", "gan")

__all__ = ["__version__", "GENERATORS", "NEURAL"]
