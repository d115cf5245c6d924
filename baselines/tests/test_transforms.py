"""The data transforms of the neural baselines and the training augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _baseline_fakes import fake_reference
from cosmobench_baselines import train, transforms


@pytest.mark.parametrize("cfg", [{"kind": "linear", "lo": -1.0, "hi": 235.2}, {"kind": "log", "eps": 0.01},
                                 {"kind": "contrast", "a": 0.1}])
def test_transform_round_trip(cfg):
    d = torch.from_numpy(fake_reference(8, seed=1, amp=1.0).astype(np.float32))
    tf = transforms.fit_transform(cfg, d.numpy())
    back, frac = tf.inverse(tf.forward(d))
    assert frac == 0.0
    assert torch.allclose(back, d, rtol=1e-3, atol=1e-4)
    assert transforms.from_config(tf.config()).config() == tf.config()
    low, frac = tf.inverse(torch.full((2, 2), -50.0))
    assert (low >= -1).all()


def test_seed_linear_transform_range():
    tf = transforms.from_config({"kind": "linear", "lo": -1.0, "hi": 235.2})
    y = tf.forward(torch.tensor([-1.0, 235.2, 0.0]))
    assert torch.allclose(y[:2], torch.tensor([-1.0, 1.0]))
    assert y[2] < -0.99  # the seed's problem: δ = 0 sits at −0.9915


def test_augment_is_a_dihedral_permutation():
    x = torch.arange(2 * 16, dtype=torch.float32).reshape(2, 1, 4, 4).repeat(8, 1, 1, 1)
    y = train.augment(x, torch.Generator().manual_seed(0))
    for a, b in zip(x, y):
        assert sorted(a.flatten().tolist()) == sorted(b.flatten().tolist())
    assert not torch.equal(x, y)
