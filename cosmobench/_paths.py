"""Where cosmobench keeps its data: one definition for every layer (sources, CAMB tables, FFTW wisdom, caches)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_home"]


def data_home() -> Path:
    """Root of cosmobench's data: ``$COSMOBENCH_HOME`` or the user cache directory.

    Returns
    -------
    pathlib.Path
        The directory (not created here).
    """
    env = os.environ.get("COSMOBENCH_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("cosmobench"))
