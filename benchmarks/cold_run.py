"""Benchmark: one cold ``workbook run`` of a trivial report against the toolchain floor, measured
in the same run.

    python benchmarks/cold_run.py                 # readable lines, medians of 5
    python benchmarks/cold_run.py --json          # {"question": "cold_run", "engine_s", "limit_s", "ratio", ...}

The trivial report is the KPI monitor over a four-order shop (``tests/bad_inputs/_base_data``):
what a run costs when the data costs nothing. The floor (``limit_s``) is what any papermill-based
report tool pays for the same job: a fresh Python process that executes a one-cell notebook with
papermill (a fresh ``python3`` kernel) and converts it to HTML with nbconvert's default exporter.
Both are wall times of a fresh process, alternated (floor, run, floor, run...) so that both see
the same load; each figure is the median of ``--repeat`` (at least 5) after one untimed warm-up
of each (the page cache, and compiled modules: see ``_env``). Target (issue 20): ``ratio`` =
engine / floor at most 1.3. CPU seconds (user + system, load changes them little) are printed
beside, the run's split into the CLI's own (results.json ``timings.runner_cpu_s``) and its
kernel's, with the statements the report sent. ``--data`` is accepted for the shared interface
and ignored: the point is a report whose data costs nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_args, emit, machine_load  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WORKBOOK = Path(sys.executable).parent / "workbook"
TINY_SHOP = ROOT / "tests" / "bad_inputs" / "_base_data"
TRIVIAL = (
    "notebook: kpi_monitor\ntitle: Trivial\ndata: {url: data}\n"
    "period: {start: 2025-10-01, end: 2025-10-31}\ngrain: week\n"
)
# the floor: papermill executes a one-cell notebook in a fresh kernel, nbconvert renders it
FLOOR = """
import sys
import nbformat
import papermill as pm
from nbconvert import HTMLExporter

src, dst, html = sys.argv[1:4]
pm.execute_notebook(src, dst, kernel_name="python3", progress_bar=False, log_output=False)
body, _ = HTMLExporter().from_notebook_node(nbformat.read(dst, as_version=4))
open(html, "w", encoding="utf-8").write(body)
"""


def _cpu() -> float:
    """CPU seconds (user + system) of this process's finished children and their waited-for
    children (the CLI waits for its kernel)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _env(tmp: Path, bytecode: bool) -> dict:
    """The environment of both sides. ``bytecode``: Python may cache compiled modules, in a
    folder of the run's own (``PYTHONPYCACHEPREFIX``: nothing written into the project), so the
    untimed warm-up compiles and the timed runs read it, as an installed workbook's runs do. With
    ``PYTHONDONTWRITEBYTECODE`` set (as in some shells and CI), every run compiles the project's
    modules from source (about 0.3 CPU-s, half of it in the kernel before the first cell) while
    the floor's libraries come precompiled from site-packages: not a like-for-like floor."""
    env = dict(os.environ)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    return env


def _timed(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of ``cmd`` (the CPU of a loaded machine's run is its own)."""
    c0, t0 = _cpu(), time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])}...: exit {r.returncode}: {r.stderr[-1500:]}")
    return wall, cpu


def measure(repeat: int, bytecode: bool = True) -> dict:
    """Medians of ``repeat`` alternated cold runs of the floor and of ``workbook run``, with the
    last run's phases (results.json timings)."""
    with tempfile.TemporaryDirectory(prefix="cold-run-") as tmp:
        tmp = Path(tmp)
        shutil.copytree(TINY_SHOP, tmp / "data")
        (tmp / "trivial.yaml").write_text(TRIVIAL)
        nb = tmp / "one_cell.ipynb"
        cell = {"cell_type": "code", "metadata": {}, "outputs": [], "source": "1"}
        nb.write_text(
            json.dumps(
                {
                    "cells": [cell | {"execution_count": None}],
                    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
                    "nbformat": 4,
                    "nbformat_minor": 5,
                }
            )
        )
        floor_cmd = [
            sys.executable,
            "-c",
            FLOOR,
            str(nb),
            str(tmp / "out.ipynb"),
            str(tmp / "o.html"),
        ]
        run_cmd = [str(WORKBOOK), "run", "trivial.yaml", "--out", str(tmp / "reports")]
        floor, engine, cli_cpu = [], [], []
        env = _env(tmp, bytecode)
        for i in range(max(5, repeat) + 1):  # the first pair warms the caches, untimed
            f = _timed(floor_cmd, tmp, env)
            e = _timed(run_cmd, tmp, env)
            res = json.loads((tmp / "reports/kpi_monitor/trivial/results.json").read_text())
            if i:
                floor.append(f)
                engine.append(e)
                cli_cpu.append(res.get("timings", {}).get("runner_cpu_s"))
    return {
        "engine_s": statistics.median(w for w, _ in engine),
        "limit_s": statistics.median(w for w, _ in floor),
        "engine_cpu_s": statistics.median(c for _, c in engine),
        "limit_cpu_s": statistics.median(c for _, c in floor),
        # the CLI's own CPU (results.json timings.runner_cpu_s) and the rest: the kernel's
        "cli_cpu_s": statistics.median(cli_cpu) if None not in cli_cpu else None,
        "kernel_cpu_s": (
            statistics.median(c - k for (_, c), k in zip(engine, cli_cpu, strict=True))
            if None not in cli_cpu
            else None
        ),
        "queries": res.get("queries"),
        "engine_runs": engine,
        "floor_runs": floor,
        "timings": res.get("timings", {}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_args(ap, repeat=5)
    ap.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="leave PYTHONDONTWRITEBYTECODE as set: every run compiles the project's modules",
    )
    a = ap.parse_args()
    m = measure(a.repeat, bytecode=not a.no_bytecode_cache)
    ratio = m["engine_s"] / m["limit_s"]
    cpu_ratio = m["engine_cpu_s"] / m["limit_cpu_s"]
    load = ", ".join(f"{x:.2f}" for x in machine_load())
    split = (
        f" (CLI {m['cli_cpu_s']:.2f} s, kernel {m['kernel_cpu_s']:.2f} s)"
        if m["cli_cpu_s"] is not None
        else ""
    )
    cpu = (
        f"CPU: engine {m['engine_cpu_s']:.2f} s{split}, floor {m['limit_cpu_s']:.2f} s, "
        f"ratio {cpu_ratio:.2f}; statements sent {json.dumps(m['queries'])}   [load {load}]"
    )
    if a.json:
        emit(True, "cold_run", engine_s=m["engine_s"], limit_s=m["limit_s"], ratio=ratio)
        print(cpu, file=sys.stderr)
        return
    for name, runs in (("workbook run", m["engine_runs"]), ("floor", m["floor_runs"])):
        print(f"{name:<13} " + ", ".join(f"{w:.2f} s ({c:.2f} CPU-s)" for w, c in runs))
    print("last run's phases (results.json timings): " + json.dumps(m["timings"]))
    print(
        f"cold_run      engine {m['engine_s']:.2f} s  floor {m['limit_s']:.2f} s  "
        f"ratio {ratio:.2f} (target <= 1.3)   [load {load}]"
    )
    print(cpu)


if __name__ == "__main__":
    main()
