"""Training on several GPUs or machines: ``torchrun`` and PyTorch DistributedDataParallel (DDP).

One process per device, started by ``torchrun``, which sets ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``::

    torchrun --standalone --nproc_per_node 4 -m hounsfield train cxr --data labels.csv -o runs/cv --device cuda
    torchrun --nnodes 2 --node_rank 0 --nproc_per_node 8 --rdzv_endpoint host:29500 -m hounsfield train cxr ...

Without those variables everything runs in one process, on the GPU when one
is visible (``device="auto"``) or on the CPU. Every process draws the same
shuffled order from the same seed and takes its own share of each global
batch (:func:`shard`); DDP averages the gradients, so ``--batch-size`` stays
the global batch size whatever the number of processes. Only rank 0 writes
files and logs. The backend is NCCL on GPUs and Gloo on CPUs (CPU processes
on one machine work too, which is how the tests run it).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from ..errors import InputError

__all__ = ["DEVICES", "Dist", "all_reduce_sum", "barrier", "check_gpu_share", "distributed", "finish", "init_distributed",
           "main_first", "resolve_device", "shard", "wrap_ddp"]

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Dist:
    """Where this process stands: its rank among ``world_size`` processes and its torch device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        """Rank 0: the process that writes outputs and logs."""
        return self.rank == 0

    def to_dict(self) -> dict[str, Any]:
        return {"world_size": self.world_size, "device": self.device.split(":")[0],
                "backend": ("nccl" if self.device.startswith("cuda") else "gloo") if self.enabled else None}


def resolve_device(device: str = "auto", local_rank: int = 0) -> str:
    """``auto``: ``cuda:<local_rank>`` when a GPU is visible, else ``cpu``; ``cuda`` without a GPU is an error."""
    import torch

    if device not in DEVICES:
        raise InputError(f"--device must be one of {', '.join(DEVICES)}, got '{device}'")
    has_gpu = torch.cuda.is_available()
    if device == "cuda" and not has_gpu:
        raise InputError("--device cuda: no GPU is visible to torch (use --device cpu, or install a CUDA build of torch)")
    if device == "cpu" or not has_gpu:
        return "cpu"
    return f"cuda:{local_rank % max(torch.cuda.device_count(), 1)}"


def init_distributed(device: str = "auto") -> Dist:
    """Join the process group when started by ``torchrun`` (``WORLD_SIZE`` > 1); else a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local)
    if world <= 1:
        return Dist(0, 1, 0, dev)
    import torch
    import torch.distributed as td

    if dev.startswith("cuda"):
        check_gpu_share(int(os.environ.get("LOCAL_WORLD_SIZE", world)), torch.cuda.device_count())
        torch.cuda.set_device(torch.device(dev))
    if not td.is_initialized():
        td.init_process_group(backend="nccl" if dev.startswith("cuda") else "gloo")
    return Dist(rank, world, local, dev)


def check_gpu_share(local_processes: int, n_gpus: int) -> None:
    """One GPU per process: NCCL refuses two processes on one GPU with an error deep in its start-up, so a
    ``torchrun --nproc_per_node`` larger than the visible GPUs is one clear line instead.

    >>> check_gpu_share(2, 2)
    >>> check_gpu_share(2, 1)
    Traceback (most recent call last):
    ...
    hounsfield.errors.InputError: torchrun started 2 processes on this machine but torch sees 1 GPU(s): use --nproc_per_node 1 (one process per GPU), or --device cpu
    """
    if local_processes > n_gpus:
        raise InputError(f"torchrun started {local_processes} processes on this machine but torch sees {n_gpus} "
                         f"GPU(s): use --nproc_per_node {max(n_gpus, 1)} (one process per GPU), or --device cpu")


def shard(batch: np.ndarray, dist: Dist) -> np.ndarray:
    """This process's share of a global batch of indices (every process holds the same ``batch``).

    >>> shard(np.arange(7), Dist(1, 3)).tolist()
    [1, 4]
    """
    return np.asarray(batch)[dist.rank::dist.world_size]


def wrap_ddp(net: Any, dist: Dist) -> Any:
    """``net`` wrapped in DistributedDataParallel when there are several processes; ``net`` itself otherwise."""
    if not dist.enabled:
        return net
    from torch.nn.parallel import DistributedDataParallel

    ids = [int(dist.device.split(":")[1])] if dist.device.startswith("cuda") else None
    return DistributedDataParallel(net, device_ids=ids)


def all_reduce_sum(values: list[float], dist: Dist) -> list[float]:
    """Sum ``values`` over all processes (identity with one process)."""
    if not dist.enabled:
        return [float(v) for v in values]
    import torch
    import torch.distributed as td

    t = torch.tensor(values, dtype=torch.float64, device=dist.device)
    td.all_reduce(t)
    return t.cpu().tolist()


def barrier(dist: Dist) -> None:
    """Wait for every process (no-op with one process)."""
    if dist.enabled:
        import torch.distributed as td

        td.barrier()


def finish(dist: Dist) -> None:
    """Leave the process group (after a last barrier) when there is one."""
    if dist.enabled:
        import torch.distributed as td

        if td.is_initialized():
            td.barrier()
            td.destroy_process_group()


@contextmanager
def distributed(device: str = "auto") -> Iterator[Dist]:
    """:func:`init_distributed` for the block, :func:`finish` after it (also on errors)."""
    dist = init_distributed(device)
    try:
        yield dist
    finally:
        finish(dist)


@contextmanager
def main_first(dist: Dist, when: bool = True) -> Iterator[None]:
    """Rank 0 runs the block first (e.g. writes a cache or a splits file), the other processes after it (reading
    what rank 0 wrote). No-op with one process or when ``when`` is false."""
    wait = dist.enabled and when
    if wait and not dist.main:
        barrier(dist)
    yield
    if wait and dist.main:
        barrier(dist)
