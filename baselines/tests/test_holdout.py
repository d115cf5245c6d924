"""``holdout`` hands out val maps without replacement across evaluate's seed chunks."""

import numpy as np
import pytest

from cosmobench.errors import CosmobenchError
from cosmobench.evaluation import chunk_seed
from cosmobench_baselines import holdout
from cosmobench_baselines.holdout import HoldoutGenerator


def _labelled(n):
    return np.repeat(np.arange(n, dtype=np.float32)[:, None, None], 4, axis=1).repeat(4, axis=2)


def _draw(gen, seed, chunks, size):
    return np.concatenate([gen.sample(size, seed=chunk_seed(seed, i)) for i in range(chunks)])[:, 0, 0]


def test_chunks_never_repeat_a_map():
    # Independent choices per chunk would repeat ~n²/2N maps; repeated maps read as collapse.
    drawn = _draw(HoldoutGenerator(_labelled(100)), 0, 4, 25)
    assert np.unique(drawn).size == 100


def test_a_fresh_generator_repeats_the_draw_and_the_seed_matters():
    a = _draw(HoldoutGenerator(_labelled(100)), 0, 3, 20)
    b = _draw(HoldoutGenerator(_labelled(100)), 0, 3, 20)
    c = _draw(HoldoutGenerator(_labelled(100)), 1, 3, 20)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_the_starting_seed_starts_over():
    gen = HoldoutGenerator(_labelled(50))
    first = gen.sample(10, seed=7)[:, 0, 0]
    gen.sample(10, seed=8)
    assert np.array_equal(gen.sample(10, seed=7)[:, 0, 0], first)


def test_holdout_seeded_without_replacement(fake_source):
    g = holdout.holdout_factory(track=None)
    a, b, c = g.sample(30, seed=4), g.sample(30, seed=4), g.sample(30, seed=5)
    assert a.shape == (30, 64, 64) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    val = fake_source.maps("val")
    rows = {val[i].tobytes(): i for i in range(len(val))}
    idx = [rows[m.tobytes()] for m in a]
    assert len(set(idx)) == 30  # without replacement, all from val
    with pytest.raises(CosmobenchError, match="only 40"):
        g.sample(41, seed=0)
    with pytest.raises(CosmobenchError):
        holdout.holdout_factory(checkpoint={"x": 1})
