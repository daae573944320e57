"""Shared helpers of the benchmark scripts: timing and peak memory."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from contextlib import contextmanager


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timer(label: str, results: dict):
    """Time a block; store seconds in ``results[label]`` and print them."""
    t0 = time.perf_counter()
    yield
    results[label] = time.perf_counter() - t0
    print(f"{label:<40} {results[label]:8.2f} s   (peak RSS {peak_rss_mb():,.0f} MiB)", flush=True)


def best_of(fn: Callable, repeat: int = 3) -> tuple[float, object]:
    """Best wall time of ``repeat`` calls, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out
