"""cosmobench: score generative models of the cosmic matter field against reference N-body fields.

Layers (imports point down): ``cli`` -> ``evaluate`` -> ``registry`` -> ``compare`` -> ``stats`` -> ``data``.
"""

from cosmobench._version import __version__
from cosmobench.errors import CosmobenchError

__all__ = ["__version__", "CosmobenchError", "evaluate"]


def evaluate(*args, **kwargs):
    """Score a generator against the reference fields; see :func:`cosmobench.evaluation.evaluate`."""
    from cosmobench.evaluation import evaluate as _evaluate

    return _evaluate(*args, **kwargs)
