"""Benchmark: ``workbook run-all`` over every example params file, with the sample-shop examples
pointed at a larger scale (default scale m), and the fixed cost of one run.

    python benchmarks/run_all.py --data data/m          # run-all at scale m
    python benchmarks/run_all.py --data data/m --json   # {"question": "run_all", "engine_s", "limit_s", "peak_mib", ...}
    python benchmarks/run_all.py --fixed-cost           # one trivial run, phase by phase

run-all: the example params files are copied to a temporary folder with ``data/sample`` replaced
by ``--data`` (the real-data examples keep their own data); prints wall time and the peak memory
of the whole process tree (the CLI, its workers and their kernels), sampled every 0.1 s as the sum
of each process's PSS (shared pages divided among the processes sharing them: the kernels forked
from the zygote share its imported modules; the RSS sum, which counts them once per process, is
printed beside it as ``peak_rss_sum_mib``), and
the CPU seconds (user + system) of that tree. ``limit_s`` is the CPU-bound limit of the same run:
those CPU seconds over the machine's cores (a run-all can finish no sooner unless it does less
work). Targets (issue 20): ``engine_s`` within 1.2x ``limit_s``, peak at most 4 GiB at scale m.

fixed cost: ``workbook run`` of a KPI monitor over a four-order shop (tests/bad_inputs/_base_data),
best of three, and the phases inside one run (validation, kernel start, execution, rendering).
Target: at most 3 s. Then the same report eight times in one ``run-all --jobs 1``, with launched
kernels and with kernels forked from the zygote: the fixed cost per report of a scheduled run-all.
``--compare-zygote`` runs the run-all benchmark without, then with the zygote.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_args, emit, machine_load  # noqa: E402

from analysis_lib.run.cli import DEMO_TODAY  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WORKBOOK = Path(sys.executable).parent / "workbook"


def _pss(pid: int) -> int:
    """Proportional set size of a process in bytes: its private pages plus its share of pages it
    shares (a page shared by the zygote and three forked kernels counts a quarter in each), so the
    sum over a process tree is the memory the tree really holds. 0 if unreadable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss(proc: psutil.Process) -> tuple[int, int]:
    """Memory of a process and all its descendants, in bytes: (sum of PSS, sum of RSS). The RSS
    sum counts every copy-on-write page the forked kernels share with the zygote once per
    process, so it overstates what the tree holds; PSS does not (Linux; elsewhere PSS is 0)."""
    pss = rss = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            rss += p.memory_info().rss
            pss += _pss(p.pid)
    return pss, rss


def children_cpu() -> float:
    """CPU seconds of this process's finished children and of every descendant they waited for
    (run-all's workers, their kernels, the zygote and the kernels it forked and reaped)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.Error:
        return []


def run_measured(
    cmd: list[str], cwd: Path, zygote: bool = True
) -> tuple[float, int, subprocess.CompletedProcess]:
    """Wall time, peak tree memory (PSS) and the completed process of ``cmd`` (``zygote=False``: run-all
    launches every kernel itself); the tree's CPU seconds in ``run_measured.cpu``, its peak RSS sum in ``run_measured.peak_rss``."""
    env = dict(os.environ) | ({} if zygote else {"WORKBOOK_ZYGOTE": "0"})
    # the examples' rolling periods (daily alerts) replay the demo's morning, as `workbook demo`
    env.setdefault("WORKBOOK_TODAY", DEMO_TODAY)
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    ps = psutil.Process(proc.pid)
    peak = [0, 0]
    done = threading.Event()
    # (seconds since start, CPU-s of the machine so far, CPU-s of the run-all's process tree so
    # far: each process's last reading, kept after it ends)
    busy: list[tuple[float, float, float]] = []
    seen: dict[int, float] = {}

    def sample() -> None:
        while not done.is_set():
            pss, rss = tree_rss(ps)
            peak[0], peak[1] = max(peak[0], pss or rss), max(peak[1], rss)
            for p in [ps, *_children(ps)]:
                with contextlib.suppress(psutil.Error):
                    c = p.cpu_times()
                    seen[(p.pid, p.create_time())] = c.user + c.system
            m = psutil.cpu_times()
            busy.append((time.perf_counter() - t0, m.user + m.nice + m.system, sum(seen.values())))
            done.wait(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    run_measured.cpu = children_cpu() - cpu0
    run_measured.peak_rss = peak[1]
    run_measured.t0_epoch = time.time() - wall
    run_measured.busy = busy
    return wall, peak[0], subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def timeline(reports: Path, t0_epoch: float, wall: float, busy: list, cores: int) -> list[str]:
    """Which report ran when (from each results.json: written last, so its modification time is
    the report's end, less ``duration_s`` its start) and how busy the machine's cores were (all
    processes, ours and others', and the run-all's own process tree: sampled every 0.1 s), in
    lines to print: idle core-seconds before the first report starts (the workers and the zygote
    starting), while reports run, and after the last one started (the tail a longest-first order
    keeps short). On a loaded machine the tree's idle time includes the CPU others took."""
    spans = []
    for res in reports.glob("*/*/results.json"):
        with contextlib.suppress(OSError, ValueError, KeyError):
            r = json.loads(res.read_text())
            end = res.stat().st_mtime - t0_epoch
            spans.append((end - float(r["duration_s"]), end, f"{r['notebook']}/{r['name']}"))
    spans.sort()
    lines = [f"{'start':>6} {'end':>6}  report"]
    lines += [f"{a:6.1f} {b:6.1f}  {name}" for a, b, name in spans]
    if spans and len(busy) > 1:
        first, last = min(a for a, _, _ in spans), spans[-1][0]

        def idle(lo: float, hi: float, which: int) -> float:
            pts = [(b[0], b[which]) for b in busy if lo <= b[0] <= hi]
            if len(pts) < 2:
                return 0.0
            return max(0.0, cores * (pts[-1][0] - pts[0][0]) - (pts[-1][1] - pts[0][1]))

        for which, label in ((1, "machine-wide"), (2, "of the run-all's processes")):
            lines.append(
                f"idle core-seconds {label}: {idle(0, first, which):.1f} before the first report "
                f"started ({first:.1f} s), {idle(first, last, which):.1f} until the last one "
                f"started ({last:.1f} s), {idle(last, wall, which):.1f} after (wall {wall:.1f} s)"
            )
    return lines


def bench_run_all(
    data: Path, jobs: int | None, compare: bool = False, as_json: bool = False
) -> None:
    data = data.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        params = tmp / "params"
        for f in (ROOT / "params").rglob("*.yaml"):
            dst = params / f.relative_to(ROOT / "params")
            dst.parent.mkdir(parents=True, exist_ok=True)
            text = f.read_text(encoding="utf-8")
            text = re.sub(r"\bdata/sample\b", str(data), text)
            text = re.sub(
                r"\banalysis_lib/datasets\b", str(ROOT / "analysis_lib" / "datasets"), text
            )
            dst.write_text(text, encoding="utf-8")
        n = len(list(params.rglob("*.yaml")))
        cmd = [str(WORKBOOK), "run-all", str(params), "--out", str(tmp / "reports")]
        if jobs:
            cmd += ["--jobs", str(jobs)]
        walls = {}
        for zygote in (False, True) if compare else (True,):
            shutil.rmtree(tmp / "reports", ignore_errors=True)
            wall, peak, r = run_measured(cmd, tmp, zygote)
            cores = os.cpu_count() or 1
            limit = run_measured.cpu / cores
            if r.returncode != 0:
                print(r.stdout[-2500:], r.stderr[-2000:], file=sys.stderr)
            spans = timeline(tmp / "reports", run_measured.t0_epoch, wall, run_measured.busy, cores)
            print("\n".join(spans), file=sys.stderr if as_json else sys.stdout)
            if as_json:
                emit(
                    True,
                    "run_all",
                    engine_s=wall,
                    limit_s=limit,
                    peak_mib=peak / 2**20,
                    peak_rss_sum_mib=run_measured.peak_rss / 2**20,
                )
                load = ", ".join(f"{x:.2f}" for x in machine_load())
                print(f"{n} reports, exit {r.returncode}, load {load}", file=sys.stderr)
                continue
            print(r.stdout[-2500:])
            label = "kernels forked from the zygote" if zygote else "kernels launched (no zygote)"
            print(f"run-all: {n} params files, data {data}; {label}")
            print(
                f"wall time {wall:8.1f} s   CPU {run_measured.cpu:.1f} s on {cores} cores: limit "
                f"{limit:.1f} s, ratio {wall / limit:.2f} (target <= 1.2)"
            )
            print(
                f"peak PSS  {peak / 2**30:8.2f} GiB (whole process tree; target <= 4 GiB; "
                f"RSS summed over the tree, shared pages counted in each process: "
                f"{run_measured.peak_rss / 2**30:.2f} GiB)"
            )
            print(
                f"exit code {r.returncode}   [load {', '.join(f'{x:.2f}' for x in machine_load())}]"
            )
            walls[zygote] = wall
        if compare and not as_json:
            print(f"zygote: {walls[False]:.1f} s -> {walls[True]:.1f} s")


def bench_fixed_cost(repeat: int) -> None:
    base = ROOT / "tests" / "bad_inputs" / "_base_data"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copytree(base, tmp / "data")
        p = tmp / "trivial.yaml"
        p.write_text(
            "notebook: kpi_monitor\ntitle: Trivial\ndata: {url: data}\n"
            "period: {start: 2025-10-01, end: 2025-10-31}\ngrain: week\n"
        )
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            r = subprocess.run(
                [str(WORKBOOK), "run", str(p), "--out", str(tmp / "reports")],
                cwd=tmp,
                capture_output=True,
                text=True,
            )
            times.append(time.perf_counter() - t0)
            assert r.returncode == 0, r.stderr
        print(
            f"fixed cost of one run (workbook run, trivial data): best {min(times):.2f} s, "
            f"runs {', '.join(f'{t:.2f}' for t in times)} s   (target <= 3 s)"
        )
        res = json.loads((tmp / "reports" / "kpi_monitor" / "trivial" / "results.json").read_text())
        print("where the last run's time went (results.json timings):")
        for k, v in res["timings"].items():
            print(f"  {k:<24} {v}")
        # the scheduled case: one run-all of many reports, one at a time
        n = 8
        pdir = tmp / "params" / "kpi_monitor"
        pdir.mkdir(parents=True)
        for i in range(n):
            shutil.copy(p, pdir / f"trivial{i}.yaml")
        per = {}
        for zygote in (False, True):
            shutil.rmtree(tmp / "reports", ignore_errors=True)
            cmd = [str(WORKBOOK), "run-all", str(tmp / "params"), "--out", "reports", "--jobs", "1"]
            wall, _, r = run_measured(cmd, tmp, zygote)
            assert r.returncode == 0, r.stdout[-2000:]
            per[zygote] = wall / n
        print(
            f"fixed cost per report inside run-all ({n} trivial reports, --jobs 1): "
            f"{per[False]:.2f} s with launched kernels, {per[True]:.2f} s with kernels forked "
            f"from the zygote ({per[False] / per[True]:.1f}x)"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    add_args(ap, data="data/m", repeat=3)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--fixed-cost", action="store_true")
    ap.add_argument(
        "--compare-zygote", action="store_true", help="run-all without, then with the zygote"
    )
    a = ap.parse_args()
    if a.fixed_cost:
        bench_fixed_cost(a.repeat)
    else:
        bench_run_all(Path(a.data), a.jobs, a.compare_zygote, a.json)


if __name__ == "__main__":
    main()
