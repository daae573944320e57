"""The ``workbook`` command: sample-data, validate, run, run-all, index, demo.

Exit codes: 0 success; 1 some run failed; 2 bad params; 3 bad data; 4 a notebook failed or the
report could not be written. Errors are one line on stderr naming the file and the field.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from analysis_lib.errors import WorkbookError

DEFAULT_DATA = "data/sample"


def _err(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)


def cmd_sample_data(a) -> int:
    from analysis_lib import sample_data

    t0 = time.perf_counter()
    truth = sample_data.generate(a.out, a.scale, a.seed)
    print(
        f"wrote sample data (scale {a.scale}, seed {a.seed}) to {a.out}: {truth['users']:,} users, "
        f"{truth['events']:,} events, {truth['orders']:,} orders in {time.perf_counter() - t0:.1f} s"
    )
    return 0


def cmd_validate(a) -> int:
    from analysis_lib import runner

    for path in a.params:
        params, src = runner.prepare(path, a.data)
        print(f"ok: {path} ({params.notebook}; data {src.url}: {', '.join(src.names())})")
    return 0


def _run_one(path: str, data: str | None, out: str, timeout: int) -> dict:
    from analysis_lib import runner

    try:
        r = runner.run(path, data_url=data, out=out, cell_timeout=timeout)
        return runner.result_dict(r) | {"path": path}
    except WorkbookError as exc:
        return {
            "path": path,
            "status": "invalid",
            "error": str(exc),
            "duration_s": 0.0,
            "notebook": "",
            "name": Path(path).stem,
            "report_dir": "",
        }


def cmd_run(a) -> int:
    from analysis_lib.kernel import WarmKernel, notebooks_dir

    # the kernel boots and imports on the other core while this process imports and validates;
    # if it cannot start here, papermill starts one later and reports why in one line
    try:
        warm = WarmKernel(notebooks_dir())
    except Exception:
        warm = None
    try:
        from analysis_lib import index, runner

        r = runner.run(
            a.params,
            data_url=a.data,
            out=a.out,
            cell_timeout=a.timeout,
            lock_wait=a.wait,
            warm=warm,
        )
    finally:
        if warm is not None:
            warm.shutdown()
    idx = index.write(a.out)
    if r.status != "ok":
        _err(r.error or "run failed")
        print(
            f"the failed notebook is kept for debugging in {r.report_dir}/executed.ipynb; "
            f"index: {idx}",
            file=sys.stderr,
        )
        return 4
    print(f"ok: {r.notebook}/{r.name} in {r.duration_s:.1f} s -> {r.report_dir}/report.html")
    return 0


def params_files(folder: str | Path) -> list[Path]:
    """Every params file (``*.yaml`` / ``*.yml``) under ``folder``, sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise WorkbookError(f"{folder}: params folder not found")
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


# rough relative cost of one run per notebook (seconds at scale m, measured), for the first run-all
# into an output folder; later ones use each report's last duration
COST_GUESS = {
    "funnel": 11,
    "customer_value": 10,
    "campaign_retro": 9,
    "target_setting": 8,
    "kpi_monitor": 7,
    "ab_test": 5,
}


def longest_first(files: list[Path], out: str | Path) -> list[Path]:
    """Params files ordered longest run first (the last run's ``duration_s`` under ``out``, else a
    guess by notebook), so that no long run starts last while the other workers sit idle."""
    import json

    def cost(p: Path) -> float:
        nb = p.parent.name
        for res in (
            Path(out) / nb / p.stem / "results.json",
            Path(out) / nb / f"{p.stem}.failed" / "results.json",
        ):
            try:
                return float(json.loads(res.read_text())["duration_s"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return float(COST_GUESS.get(nb, 4))

    return sorted(files, key=lambda p: (-cost(p), str(p)))


def _zygote(n_runs: int):
    """The kernel zygote of a run-all (:mod:`analysis_lib.zygote`) when there are several runs,
    on Linux (forked kernels are watched through /proc); ``WORKBOOK_ZYGOTE=0`` turns it off."""
    import contextlib

    if n_runs < 2 or os.environ.get("WORKBOOK_ZYGOTE") == "0" or sys.platform != "linux":
        return contextlib.nullcontext()
    from analysis_lib.zygote import Zygote

    try:
        return Zygote()
    except OSError:
        return contextlib.nullcontext()


def cmd_run_all(a) -> int:
    from tqdm import tqdm

    from analysis_lib import index

    files = params_files(a.folder)
    if not files:
        _err(f"{a.folder}: no params files (*.yaml)")
        return 1
    files = longest_first(files, a.out)
    workers = a.jobs or min(len(files), os.cpu_count() or 1)
    results = []
    t0 = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    with (
        _zygote(len(files)),
        ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool,
    ):
        futs = [pool.submit(_run_one, str(p), a.data, a.out, a.timeout) for p in files]
        for f in tqdm(
            as_completed(futs), total=len(futs), desc="run-all", unit="report", file=sys.stderr
        ):
            results.append(f.result())
    idx = index.write(a.out)
    results.sort(key=lambda r: r["path"])
    width = max(len(r["path"]) for r in results)
    print(f"\n{'params file':<{width}}  {'status':<8} {'time':>7}")
    for r in results:
        print(f"{r['path']:<{width}}  {r['status']:<8} {r['duration_s']:>6.1f}s")
        if r["status"] != "ok":
            print(f"{'':<{width}}  -> {r['error']}")
    bad = sum(r["status"] != "ok" for r in results)
    print(
        f"\n{len(results) - bad} ok, {bad} failed in {time.perf_counter() - t0:.1f} s; index: {idx.resolve()}"
    )
    return 1 if bad else 0


def cmd_index(a) -> int:
    from analysis_lib import index

    print(index.write(a.out).resolve())
    return 0


def cmd_demo(a) -> int:
    """Generate sample data when missing, run every params file, print where the index is."""
    if not (Path(a.data_dir) / "truth.json").exists():
        cmd_sample_data(argparse.Namespace(out=a.data_dir, scale="s", seed=42))
    rc = cmd_run_all(
        argparse.Namespace(folder=a.params_dir, data=None, out=a.out, timeout=600, jobs=None)
    )
    print(f"\nOpen the reports: file://{(Path(a.out) / 'index.html').resolve()}")
    return rc


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``workbook`` command."""
    p = argparse.ArgumentParser(prog="workbook", description="The e-commerce operations workbook.")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("sample-data", help="write the sample shop's canonical tables")
    s.add_argument("--scale", choices=["s", "m", "l"], default="s")
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--out", default=DEFAULT_DATA)
    s.set_defaults(fn=cmd_sample_data)

    v = sub.add_parser("validate", help="check params files and their data without running")
    v.add_argument("params", nargs="+")
    v.add_argument("--data", help="override data.url")
    v.set_defaults(fn=cmd_validate)

    r = sub.add_parser("run", help="run one params file")
    r.add_argument("params")
    r.add_argument("--data", help="override data.url")
    r.add_argument("--out", default="reports")
    r.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds")
    r.add_argument(
        "--wait", type=float, default=0, help="seconds to wait for a concurrent run's lock"
    )
    r.set_defaults(fn=cmd_run)

    ra = sub.add_parser("run-all", help="run every params file in a folder, in parallel")
    ra.add_argument("folder", nargs="?", default="params")
    ra.add_argument("--data", help="override data.url for every file")
    ra.add_argument("--out", default="reports")
    ra.add_argument("--timeout", type=int, default=600)
    ra.add_argument("--jobs", type=int, default=None, help="parallel runs (default: cores)")
    ra.set_defaults(fn=cmd_run_all)

    i = sub.add_parser("index", help="rebuild reports/index.html")
    i.add_argument("--out", default="reports")
    i.set_defaults(fn=cmd_index)

    d = sub.add_parser("demo", help="sample data + every params file + index")
    d.add_argument("--data-dir", default=DEFAULT_DATA)
    d.add_argument("--params-dir", default="params")
    d.add_argument("--out", default="reports")
    d.set_defaults(fn=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``workbook`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except WorkbookError as exc:
        _err(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
