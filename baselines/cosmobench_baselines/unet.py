"""A configurable U-Net for the diffusion baselines.

One class serves both models; the config (plain dict, stored in the checkpoint) decides the shape:

- the seed's network (table 2.1 of the seed report): plain double-conv blocks, input (1, 64, 64) →
  2 × (10, 64, 64), channels doubling per level to 160 at 4², a global-pooled (160, 1, 1) bottleneck
  block of two 1×1 convs ("2 × (160, 1, 1)") broadcast back, and a decoder that concatenates each skip
  (20 channels at 64²) and maps it back to 2 × (10, 64, 64) (our reading of the table: it gives only
  those three rows);
- the better one: residual blocks with GroupNorm/SiLU, self-attention at low resolution, dropout.

Time enters every block through a sinusoidal embedding and an MLP (scale-free: the timestep is
passed as an integer in [0, T)).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["UNet", "timestep_embedding", "count_parameters"]


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer (or real) timesteps ``t`` (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


def _norm(ch: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(ch, 8), ch)


class Block(nn.Module):
    """conv-norm-act, + time, conv-norm-act; residual when ``residual``."""

    def __init__(self, cin: int, cout: int, tdim: int, *, residual: bool, dropout: float = 0.0, kernel: int = 3):
        super().__init__()
        self.residual = residual
        self.conv1 = nn.Conv2d(cin, cout, kernel, padding=kernel // 2)
        self.norm1 = _norm(cout)
        self.temb = nn.Linear(tdim, cout)
        self.conv2 = nn.Conv2d(cout, cout, kernel, padding=kernel // 2)
        self.norm2 = _norm(cout)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.skip = nn.Conv2d(cin, cout, 1) if (residual and cin != cout) else nn.Identity()

    def forward(self, x, temb):
        h = F.silu(self.norm1(self.conv1(x)))
        h = h + self.temb(temb)[:, :, None, None]
        h = self.conv2(self.drop(h))
        h = F.silu(self.norm2(h))
        return h + self.skip(x) if self.residual else h


class Attention(nn.Module):
    def __init__(self, ch: int, heads: int = 4):
        super().__init__()
        self.heads = heads if ch % heads == 0 else 1
        self.norm = _norm(ch)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.out = nn.Conv2d(ch, ch, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).unbind(1)
        a = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return x + self.out(a.transpose(-1, -2).reshape(b, c, h, w))


class UNet(nn.Module):
    """U-Net ε/v-predictor on (B, 1, 64, 64).

    Parameters
    ----------
    channels : sequence of int
        Channels per resolution level, finest first; each level after the first halves the resolution.
    n_blocks : int
        Blocks per level in the encoder and in the decoder.
    residual : bool
        Residual blocks (better model) or plain double convs (seed).
    attn_levels : sequence of int
        Level indices (0 = finest) with a self-attention layer after the blocks.
    dropout : float
        Dropout inside the blocks.
    time_dim : int
        Width of the time embedding.
    stem : bool
        A 3×3 input convolution to ``channels[0]`` before the first block (else the first block reads
        the input directly: the seed's "(1, 64, 64) → 2 × (10, 64, 64)").
    pool_bottleneck : bool
        The bottleneck block runs at 1×1 after a global average pool of the coarsest level and is
        broadcast back (the seed's "(160, 1, 1), 2 × (160, 1, 1)"); else it runs at the coarsest level.
    """

    def __init__(self, channels=(10, 20, 40, 80, 160), n_blocks: int = 1, residual: bool = False,
                 attn_levels=(), dropout: float = 0.0, time_dim: int = 64, in_channels: int = 1,
                 stem: bool = True, pool_bottleneck: bool = False):
        super().__init__()
        channels = list(channels)
        self.pool_bottleneck = pool_bottleneck
        self.time_dim = time_dim
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, 2 * time_dim), nn.SiLU(), nn.Linear(2 * time_dim, time_dim))
        tdim = time_dim
        kw = dict(residual=residual, dropout=dropout)
        self.stem = nn.Conv2d(in_channels, channels[0], 3, padding=1) if stem else nn.Identity()
        self.down_blocks = nn.ModuleList()
        self.down_attn = nn.ModuleList()
        self.downs = nn.ModuleList()
        cin = channels[0] if stem else in_channels
        for i, ch in enumerate(channels):
            blocks = nn.ModuleList()
            for j in range(n_blocks):
                blocks.append(Block(cin if j == 0 else ch, ch, tdim, **kw))
            self.down_blocks.append(blocks)
            self.down_attn.append(Attention(ch) if i in attn_levels else nn.Identity())
            if i < len(channels) - 1:
                self.downs.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
            cin = ch
        self.mid = Block(channels[-1], channels[-1], tdim, kernel=1 if pool_bottleneck else 3, **kw)
        self.ups = nn.ModuleList()
        self.up_blocks = nn.ModuleList()
        self.up_attn = nn.ModuleList()
        for i in range(len(channels) - 1, -1, -1):
            ch = channels[i]
            if i < len(channels) - 1:
                self.ups.append(nn.Conv2d(channels[i + 1], ch, 3, padding=1))
            blocks = nn.ModuleList()
            for j in range(n_blocks):
                blocks.append(Block(2 * ch if j == 0 else ch, ch, tdim, **kw))
            self.up_blocks.append(blocks)
            self.up_attn.append(Attention(ch) if i in attn_levels else nn.Identity())
        self.out_norm = _norm(channels[0])
        self.out = nn.Conv2d(channels[0], in_channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = self.time_mlp(timestep_embedding(t, self.time_dim))
        h = self.stem(x)
        skips = []
        for i, blocks in enumerate(self.down_blocks):
            for b in blocks:
                h = b(h, temb)
            h = self.down_attn[i](h)
            skips.append(h)
            if i < len(self.downs):
                h = self.downs[i](h)
        if self.pool_bottleneck:
            size = h.shape[-2:]
            h = self.mid(F.adaptive_avg_pool2d(h, 1), temb).expand(-1, -1, *size)
        else:
            h = self.mid(h, temb)
        n = len(self.up_blocks)
        for j, blocks in enumerate(self.up_blocks):
            if j > 0:
                h = self.ups[j - 1](F.interpolate(h, scale_factor=2, mode="nearest"))
            h = torch.cat([h, skips[n - 1 - j]], dim=1)
            for b in blocks:
                h = b(h, temb)
            h = self.up_attn[j](h)
        return self.out(F.silu(self.out_norm(h)))
