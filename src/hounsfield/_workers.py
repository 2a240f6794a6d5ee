"""Start-up of worker processes: one thread each.

N worker processes on N cores scale only when each keeps to one thread; left alone, every process starts as many
BLAS/OpenMP (and torch) threads as the machine has cores, and N x N threads fight over N cores.
"""

from __future__ import annotations

import os

__all__ = ["init_worker"]


def init_worker(torch: bool = True) -> None:
    """Limit this process to one thread (BLAS, OpenMP; torch too when ``torch``) and quieten chatty libraries.

    Use as ``ProcessPoolExecutor(initializer=init_worker)``, or ``initargs=(False,)`` for pools that never use
    torch (importing it costs each worker a second).
    """
    from .console import quiet_libraries

    quiet_libraries()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover
        pass
    if torch:
        try:
            import torch as _torch

            _torch.set_num_threads(1)
        except ImportError:  # pragma: no cover
            pass
