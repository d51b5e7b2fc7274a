"""Where a class's comparison runs: one separate process, at a lower priority.

Comparing a class (:func:`~codetutor.insight.similarity_report.compare_problem`) is
seconds of pure CPU. In a process of its own (started with ``spawn``: the judge
worker and the dashboard have threads) it neither holds the caller's GIL, so a judge
worker's event loop goes on judging, nor competes at equal priority with sandboxes
running students' code.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import multiprocessing
import os
import threading

_pool: concurrent.futures.ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _lower_priority() -> None:
    os.nice(10)


def comparison_pool() -> concurrent.futures.ProcessPoolExecutor:
    """This process's comparison process: one, started on first use (module docstring)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_lower_priority,
            )
            atexit.register(_close_pool)
        return _pool


def _close_pool() -> None:
    # At exit, while modules are whole (collected later, the pool's callbacks fail).
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
