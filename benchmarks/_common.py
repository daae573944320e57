"""Shared helpers of the benchmark scripts: timing, peak memory and the JSON line per question.

Every script takes ``--data DIR`` and ``--json`` (``add_args``) and prints, per question, one line
(``emit``)::

    {"question": "cohorts", "engine_s": 0.21, "peak_mib": 812, "limit_s": 0.15,
     "polars_s": 0.25, "pandas_s": 0.36, "same_figures": true}

``engine_s`` is the workbook's own code, ``limit_s`` the best hand-written DuckDB SQL in
``benchmarks/sql/`` timed in the same run, ``polars_s``/``pandas_s`` idiomatic versions; each is
the median of ``--repeat`` calls in one process (``median_of``). ``peak_mib`` is the peak resident
memory of the process while the engine side ran (``reset_peak`` before it, where Linux allows).
A side not measured is ``null``. Ratios between sides measured in one run survive a loaded machine;
absolute seconds do not, so ``machine_load`` gives ``uptime``'s load averages to print beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

FIELDS = ("question", "engine_s", "peak_mib", "limit_s", "polars_s", "pandas_s", "same_figures")
EXTRA_FIELDS = (
    "ratio",
    "peak_rss_sum_mib",
)  # cold_run: engine / limit; run_all: RSS summed over its tree
SQL_DIR = Path(__file__).resolve().parent / "sql"


def peak_rss_mb() -> float:
    """Peak resident memory of this process (since the last ``reset_peak``), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> bool:
    """Reset the process's peak resident memory to its current size (Linux: clear_refs 5).
    Returns False where that is not possible: the peak then covers the whole process so far."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


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


def median_of(
    fn: Callable, repeat: int = 5, before: Callable | None = None, warmup: int = 1
) -> tuple[float, object]:
    """Median wall time of ``repeat`` calls (after ``warmup`` untimed ones), and the last result.
    ``before`` runs untimed before each call (e.g. to clear a memo)."""
    out = None
    for _ in range(warmup):
        if before is not None:
            before()
        out = fn()
    times = []
    for _ in range(max(1, repeat)):
        if before is not None:
            before()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def machine_load() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (as ``uptime`` prints them)."""
    return os.getloadavg()


def read_sql(name: str) -> str:
    """The text of ``benchmarks/sql/<name>.sql``."""
    return (SQL_DIR / f"{name}.sql").read_text()


def add_args(ap: argparse.ArgumentParser, data: str = "data/m", repeat: int = 5) -> None:
    """The options every benchmark script takes: ``--data``, ``--json``, ``--repeat``."""
    ap.add_argument("--data", default=data, help="folder of Parquet tables (sample-data output)")
    ap.add_argument("--json", action="store_true", help="one JSON line per question, nothing else")
    ap.add_argument("--repeat", type=int, default=repeat, help="timed repeats (median)")


def _round(v):
    return round(v, 4) if isinstance(v, float) else v


def emit(as_json: bool, question: str, **fields) -> dict:
    """Print one question's result: a JSON line with exactly ``FIELDS`` (missing ones null) when
    ``as_json``, else a readable line with the ratios to the limit. Returns the record."""
    unknown = set(fields) - set(FIELDS) - set(EXTRA_FIELDS)
    if unknown:
        raise TypeError(f"unknown benchmark fields: {sorted(unknown)}")
    rec = {k: _round(fields.get(k)) for k in FIELDS}
    rec |= {k: _round(fields[k]) for k in EXTRA_FIELDS if k in fields}
    rec["question"] = question
    if rec["peak_mib"] is not None:
        rec["peak_mib"] = round(rec["peak_mib"])
    if as_json:
        print(json.dumps(rec), flush=True)
        return rec
    parts = [f"{question:<14}"]
    lim = rec["limit_s"]
    for key in ("engine_s", "limit_s", "polars_s", "pandas_s"):
        v = rec[key]
        if v is None:
            continue
        ratio = f" ({v / lim:.2f}x limit)" if lim and key != "limit_s" else ""
        parts.append(f"{key[:-2]} {v:.3f} s{ratio}")
    if rec["peak_mib"] is not None:
        parts.append(f"peak {rec['peak_mib']:,} MiB")
    parts.append(f"same figures: {rec['same_figures']}")
    load = ", ".join(f"{x:.2f}" for x in machine_load())
    print("  ".join(parts) + f"   [load {load}]", flush=True)
    return rec
