"""torchrun support: one process per device, gloo on CPU, nccl on CUDA.

Launched by torchrun, WORLD_SIZE/RANK/LOCAL_RANK are set; otherwise the run is a single process
and no process group is created.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Dist:
    """Where this process sits: rank among world_size processes, and its torch device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def world_size_from_env() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def setup() -> Dist:
    """Join torchrun's process group if there is one (idempotent) and pick this rank's device."""
    world = world_size_from_env()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if cuda else "gloo")
    rank = torch.distributed.get_rank() if world > 1 else 0
    return Dist(rank=rank, world_size=world, local_rank=local_rank, device=device)


def barrier(dist: Dist) -> None:
    if dist.distributed:
        torch.distributed.barrier()


def broadcast_object(dist: Dist, obj):
    """Rank 0's `obj` on every rank (used to agree on the resume point and on errors)."""
    if not dist.distributed:
        return obj
    box = [obj if dist.is_main else None]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]
