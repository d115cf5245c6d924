"""Data-parallel training under ``torchrun``: process group, sharded batches, one writer.

``cosmobench-train`` runs unchanged under ``torchrun --nproc-per-node K``: this module reads torchrun's
environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``), opens the process group (NCCL on GPUs, gloo on
CPUs) and the trainer wraps its network in ``DistributedDataParallel``. The global batch B is split
into K local batches of B / K.

Why a K-process run takes the *same* gradient step as a one-process run of batch B: the maps are
sharded with :class:`torch.utils.data.DistributedSampler` (one permutation per epoch, seeded by
``seed + epoch``, rank r holding positions r, r + K, …), so local batch j of rank r is exactly the
positions ≡ r (mod K) of global batch j of the one-process stream; the per-map random numbers
(augmentation, diffusion time, noise) are drawn for the whole global batch from identically seeded
generators on every rank and sliced the same way; DDP averages the K local mean gradients, which is the
global mean gradient. Only rank 0 writes checkpoints, curves and training state; the RNG states it saves
are every rank's (they are identical), so ``--resume`` works at any K.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from cosmobench.errors import CosmobenchError

__all__ = ["Dist", "init_from_env", "batch_indices"]


@dataclass
class Dist:
    """Where this process sits in the run: ``rank`` of ``world`` processes (world 1: not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    backend: "str | None" = None

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def writer(self) -> bool:
        """The one process that writes files and prints progress."""
        return self.rank == 0

    def local(self, x: torch.Tensor) -> torch.Tensor:
        """This rank's rows of a global-batch tensor (positions ≡ rank mod world)."""
        return x[self.rank::self.world] if self.active else x

    def any(self, flag: bool) -> bool:
        """True on every rank when it is True on one (e.g. a time budget reached): ranks stop together."""
        if not self.active:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=_comm_device(self))
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item() > 0)

    def barrier(self) -> None:
        if self.active:
            torch.distributed.barrier()

    def close(self) -> None:
        if self.active and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()

    def to_dict(self) -> dict:
        return {"world_size": self.world, "backend": self.backend}


def _comm_device(d: Dist) -> torch.device:
    return torch.device("cuda", d.local_rank) if d.backend == "nccl" else torch.device("cpu")


def init_from_env(device: torch.device) -> "tuple[Dist, torch.device]":
    """Open the process group when torchrun started us (``WORLD_SIZE`` > 1); return it and this rank's device.

    NCCL when training on CUDA (one GPU per process, ``cuda:LOCAL_RANK``), gloo on the CPU.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), device
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise CosmobenchError(f"LOCAL_RANK {local_rank} but only {torch.cuda.device_count()} GPUs are visible; "
                                  "start torchrun with --nproc-per-node at most the number of GPUs")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        backend = "gloo"
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend=backend)
    return Dist(rank=rank, world=world, local_rank=local_rank, backend=backend), device


def batch_indices(n_maps: int, batch: int, step: int, d: Dist, seed: int) -> torch.Tensor:
    """Indices of this rank's local batch at optimisation ``step`` (0-based), global batch ``batch``.

    Epochs of :class:`~torch.utils.data.DistributedSampler` (shuffled, seed ``seed``), consumed as one
    stream, ``batch / world`` indices per step; a function of ``step`` alone, so resuming needs no
    sampler state. With one process it is the plain shuffled-epoch stream.
    """
    from torch.utils.data import DistributedSampler

    if batch % d.world:
        raise CosmobenchError(f"batch size {batch} does not split over {d.world} processes; "
                              f"use a multiple of {d.world} (--batch-size)")
    if n_maps % d.world:
        raise CosmobenchError(f"{n_maps} training maps do not split evenly over {d.world} processes; "
                              "use a process count that divides the number of maps")
    local = batch // d.world
    per_epoch = n_maps // d.world
    start = step * local
    out: list[int] = []
    epoch = start // per_epoch
    offset = start - epoch * per_epoch
    sampler = DistributedSampler(range(n_maps), num_replicas=d.world, rank=d.rank, shuffle=True, seed=seed,
                                 drop_last=True)
    while len(out) < local:
        sampler.set_epoch(epoch)
        idx = list(sampler)
        take = idx[offset:offset + local - len(out)]
        out.extend(take)
        epoch, offset = epoch + 1, 0
    return torch.tensor(out, dtype=torch.long)
