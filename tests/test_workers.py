"""Worker processes of the phantom pools and the batch runner keep to one thread each."""

from concurrent.futures import ProcessPoolExecutor

from hounsfield._workers import init_worker


def _threads() -> list[int]:
    import numpy as np
    from threadpoolctl import threadpool_info

    np.ones((64, 64)) @ np.ones((64, 64))  # make sure the BLAS library is loaded
    return [int(i["num_threads"]) for i in threadpool_info()]


def test_init_worker_leaves_one_thread_per_library():
    with ProcessPoolExecutor(max_workers=1, initializer=init_worker, initargs=(False,)) as pool:
        counts = pool.submit(_threads).result()
    assert counts and set(counts) == {1}

