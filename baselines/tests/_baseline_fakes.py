"""Fake data and test-sized configs for the baselines' tests (imported by the test modules and conftest)."""

from __future__ import annotations

from importlib.metadata import entry_points

import numpy as np

from cosmobench_baselines import configs

#: Checkpoints travel through 20 MB limits (the device tool, the repository).
MAX_CKPT_BYTES = 20_000_000
#: Side of the fake maps' box, Mpc/h (the default track's tile).
L = 250.0


def _smooth_gaussian(rng, n, sigma_pix=2.0, size=64):
    """Periodic Gaussian fields of unit variance smoothed with a Gaussian kernel (a known smooth P(k))."""
    w = rng.standard_normal((n, size, size))
    k = np.fft.fftfreq(size)
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    f = np.fft.ifft2(np.fft.fft2(w) * np.exp(-2 * (np.pi * sigma_pix) ** 2 * k2)).real
    return f / f.std()


def fake_reference(n=96, seed=0, amp=0.8):
    """Lognormal-ish δ maps, float32, δ > −1."""
    rng = np.random.default_rng(seed)
    g = amp * _smooth_gaussian(rng, n)
    return np.expm1(g - amp**2 / 2).astype(np.float32)


class FakeSource:
    def __init__(self, maps_by_split, name="fake"):
        self._m = maps_by_split
        self.name = name
        self.content_hash = "0" * 16
        from cosmobench.data.track import DEFAULT_TRACK

        self.track = DEFAULT_TRACK

    def maps(self, split, z="0"):
        return self._m[split]


def tiny_config(name):
    """A CPU config of ``name`` shrunk to test size (same family, same code path)."""
    cfg = configs.get_config(name)
    m = cfg["model"]
    if m["kind"] == "unet":
        m["channels"] = [4, 8, 8] if not m.get("pool_bottleneck") else [4, 8, 16]
        m["time_dim"] = 16
        cfg["diffusion"]["T"] = 12
        cfg["sample"]["steps"] = 4
    elif m["kind"] == "mlp":
        m.update(latent=8, g_hidden=[16], d_hidden=[32, 16])
    else:
        m.update(latent=8, g_channels=[16, 8, 8, 4, 4], d_channels=[4, 8, 8, 8])
    cfg["train"]["batch_size"] = 4
    cfg["train"]["ckpt_every"] = 2
    if "warmup" in cfg["train"]:
        cfg["train"]["warmup"] = 1
    return cfg


def registered_factory(name):
    """The factory the installed entry point ``name`` points at (what ``cosmobench evaluate --model name`` uses)."""
    (ep,) = [e for e in entry_points(group="cosmobench.generators") if e.name == name]
    return ep.load()
