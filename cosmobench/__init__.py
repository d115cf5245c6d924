"""cosmobench: score generative models of the cosmic matter field against reference N-body fields.

Layers (imports point down): ``cli`` -> ``evaluate`` -> ``registry`` -> ``compare`` -> ``stats`` -> ``data``.
"""

import os

# The numba kernels and FFTW both run on OpenMP (libgomp), whose idle threads spin ~0.3 ms after every
# parallel region: on the many short regions of a batch of maps that burnt ~45 % of the statistics'
# CPU time (8.2 vs 4.6 CPU-s per 10,000 maps) and stole it from the working threads on a shared
# machine. A short spin keeps back-to-back regions fast; it must be set before libgomp loads, and a
# value the user set wins.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from cosmobench._version import __version__  # noqa: E402
from cosmobench.errors import CosmobenchError  # noqa: E402

__all__ = ["__version__", "CosmobenchError", "evaluate"]


def evaluate(*args, **kwargs):
    """Score a generator against the reference fields; see :func:`cosmobench.evaluation.evaluate`."""
    from cosmobench.evaluation import evaluate as _evaluate

    return _evaluate(*args, **kwargs)
