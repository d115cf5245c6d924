"""The demo result fixtures and their generator (``fixtures/results_demo/generate.py``), loaded once for the
leaderboard, report and site tests."""

import importlib.util
from pathlib import Path

DEMO = Path(__file__).parent / "fixtures" / "results_demo"


def _load_generator():
    spec = importlib.util.spec_from_file_location("results_demo_generate", DEMO / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


gen = _load_generator()
