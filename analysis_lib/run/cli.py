"""The ``workbook`` command: sample-data, validate, run, run-all, import, index, demo.

Exit codes: 0 success; 1 some run failed; 2 bad params or arguments; 3 bad data; 4 a notebook
failed or the report could not be written; 128 + N when stopped by signal N (SIGTERM, SIGINT,
SIGHUP). Errors are one line on stderr naming the file and the field; an unexpected error is one
line too, its traceback written to ``<out>/.logs/`` (or printed with ``WORKBOOK_DEBUG=1``): a cron
mail gets one line, never forty.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import json
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from analysis_lib.errors import WorkbookError

# The rest of the package (runner, index, kernel, zygote, params, sample) and tqdm are imported in
# the command that needs them, on purpose: `workbook --help` and a usage error answer at once
# (this module imports the standard library only), and `workbook run` starts its kernel
# (run/kernel.py) before it imports pandas, so the kernel boots while the run validates.

DEFAULT_DATA = "data/sample"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class UsageError(WorkbookError):
    """A command-line argument that cannot work (a file where a folder goes, ``--jobs 0``)."""

    exit_code = 2


class Interrupted(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error class
    """Raised in the main thread by SIGTERM, SIGINT or SIGHUP; ``detail`` says what was left."""

    def __init__(self, signum: int, detail: str = "") -> None:
        super().__init__(signum)
        self.signum = signum
        self.detail = detail


def _on_signal(signum, _frame) -> None:
    # once stopping, further signals wait: the cleanup (children, staging folders) must finish
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    raise Interrupted(signum)


def _err(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)


def _one_line(text: object, limit: int = 500) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _path_arg(value: str, what: str) -> str:
    """A path from the command line, ``~`` expanded; one line for what cannot be a path."""
    if "\0" in value:
        raise UsageError(f"{what} {value!r}: contains a NUL byte")
    if value.startswith("~"):
        try:
            return str(Path(value).expanduser())
        except RuntimeError:
            user = value.split("/", 1)[0][1:]
            raise UsageError(f"{what} {value}: no user {user!r} on this machine") from None
    return value


def _out_arg(value: str) -> str:
    """The reports folder: it may not exist yet, but nothing on its way may be a file."""
    value = _path_arg(value, "--out")
    p = Path(value)
    try:
        for q in (p, *p.parents):
            if q.exists():
                if not q.is_dir():
                    where = "" if q == p else f" ({q} is a file)"
                    raise UsageError(f"--out {value}: not a folder{where}")
                break
    except OSError as exc:
        raise UsageError(f"--out {value}: {exc.strerror or exc}") from None
    return value


def cmd_sample_data(a) -> int:
    from analysis_lib.sample import sample_data

    t0 = time.perf_counter()
    truth = sample_data.generate(a.out, a.scale, a.seed)
    print(
        f"wrote sample data (scale {a.scale}, seed {a.seed}) to {a.out}: {truth['users']:,} users, "
        f"{truth['events']:,} events, {truth['orders']:,} orders in {time.perf_counter() - t0:.1f} s"
    )
    return 0


def cmd_validate(a) -> int:
    from analysis_lib import params as P
    from analysis_lib.run import runner

    for path in a.params:
        path = _path_arg(path, "params file")
        if P.is_profile_file(path):  # a shop profile: its mappings checked against its data
            prof, src = P.check_profile(path, a.data)
            tables = ", ".join(src.names())
            print(f"ok: {path} (shop profile '{prof.shop.name}'; data {src.url}: {tables})")
            continue
        runner.report_name(path)
        params, src = runner.prepare(path, a.data)
        print(f"ok: {path} ({params.notebook}; data {src.url}: {', '.join(src.names())})")
    return 0


def _row(path: str, status: str, error: str) -> dict:
    return {
        "path": path,
        "status": status,
        "error": error,
        "duration_s": 0.0,
        "notebook": "",
        "name": Path(path).stem,
        "report_dir": "",
    }


def _log_traceback(out: str | Path | None) -> str | None:
    """Write the current exception's traceback under ``<out>/.logs/``; its path, or None when it
    cannot be written (then ``WORKBOOK_DEBUG=1`` is the way to see it)."""
    if os.environ.get("WORKBOOK_DEBUG") == "1":
        traceback.print_exc(file=sys.stderr)
    if not out or not Path(out).is_dir():
        return None
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    log = Path(out) / ".logs" / f"{stamp}-{os.getpid()}.log"
    try:
        log.parent.mkdir(exist_ok=True)
        with log.open("a", encoding="utf-8") as f:
            f.write(" ".join(sys.argv) + "\n" + traceback.format_exc())
    except OSError:
        return None
    return str(log)


def _logs_home(args) -> str | None:
    """Where an unexpected error's traceback goes: the reports folder (``--out``) of the commands
    that write reports; for ``import`` and ``sample-data``, whose ``--out`` is a data folder (a log
    there would make the next import refuse the folder as not empty), a folder in the system's
    temporary directory."""
    if getattr(args, "fn", None) in (cmd_import, cmd_sample_data):
        home = Path(tempfile.gettempdir()) / f"workbook-logs-{os.getuid()}"
        with contextlib.suppress(OSError):
            home.mkdir(mode=0o700, exist_ok=True)
        return str(home)
    return getattr(args, "out", None)


def _run_one(path: str, data: str | None, out: str, timeout: int) -> dict:
    """One run inside a run-all worker, always as a row: whatever goes wrong with one params file
    (bad input, or an exception nobody foresaw) is that file's one-line error, not run-all's."""
    from analysis_lib.run import runner

    if _STARTED is not None:  # which file a worker that dies was running (no lock to die in)
        mark = Path(_STARTED, str(os.getpid()))
        with contextlib.suppress(OSError):
            mark.with_suffix(".tmp").write_text(path, encoding="utf-8")
            os.replace(mark.with_suffix(".tmp"), mark)
    try:
        r = runner.run(path, data_url=data, out=out, cell_timeout=timeout)
        return runner.result_dict(r) | {"path": path}
    except WorkbookError as exc:
        return _row(path, "invalid", _one_line(exc))
    except BaseException as exc:  # noqa: BLE001 - a bug or a library's surprise: one row
        where = _log_traceback(out)
        more = f" (traceback in {where})" if where else ""
        return _row(path, "failed", f"{path}: {type(exc).__name__}: {_one_line(exc)}{more}")


# in a run-all worker: the folder where it tells the run-all process which file it starts
_STARTED: str | None = None


def _die_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent dies (prctl PR_SET_PDEATHSIG)."""
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)


def _worker_stop(signum: int, _frame=None) -> None:
    """A run-all worker stopped (by run-all, or because run-all died): kill its kernel, remove its
    run's staging folder, exit at once. Nothing is swapped in."""
    kernel = sys.modules.get("analysis_lib.run.kernel")
    runner = sys.modules.get("analysis_lib.run.runner")
    if kernel is not None:
        kernel.kill_all()
    staging = getattr(runner, "CURRENT_STAGING", None)
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)
        for d in (staging.parent, staging.parent.parent):  # the name's and notebook's areas
            with contextlib.suppress(OSError):
                d.rmdir()
    os._exit(128 + signum)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            _worker_stop(signal.SIGTERM)


def _worker_init(parent: int, started) -> None:
    """Initializer of run-all's worker processes: they end with run-all whatever ends it.

    SIGTERM/SIGINT/SIGHUP (run-all stopping them) kill the worker's kernel and exit; Linux sends
    SIGTERM when run-all dies, even by SIGKILL (PR_SET_PDEATHSIG); a thread polling the parent pid
    does the same elsewhere and covers the moment before prctl. A worker whose run-all is gone
    never swaps a report in (``runner.RUN_ALL_PID``)."""
    global _STARTED
    _STARTED = started
    for s in STOP_SIGNALS:
        signal.signal(s, _worker_stop)
    _die_with_parent()
    if os.getppid() != parent:
        os._exit(1)
    from analysis_lib.run import runner

    runner.RUN_ALL_PID = parent
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def cmd_run(a) -> int:
    from analysis_lib.run.kernel import WarmKernel, lazy_sql_compilers, notebooks_dir

    params_path = _path_arg(a.params, "params file")
    out = _out_arg(a.out)
    # the kernel boots and imports on the other core while this process imports and validates;
    # if it cannot start here, papermill starts one later and reports why in one line
    try:
        warm = WarmKernel(notebooks_dir())
    except Exception:
        warm = None
    try:
        lazy_sql_compilers()  # validation connects with Ibis: its DuckDB compiler only
        from analysis_lib.run import index, runner

        r = runner.run(
            params_path,
            data_url=a.data,
            out=out,
            cell_timeout=a.timeout,
            lock_wait=a.wait,
            warm=warm,
        )
    except BaseException as exc:
        # a signal or an error: the kernel goes now, without waiting on a client that may have
        # been interrupted mid-message
        from analysis_lib.run import kernel

        kernel.kill_all()
        if warm is not None:
            warm.kill()
        if isinstance(exc, Interrupted):
            exc.detail = (
                f"{params_path}: stopped by {signal.Signals(exc.signum).name}; the notebook's "
                "kernel was stopped and the last good report is as it was"
            )
        raise
    if warm is not None:
        warm.shutdown()
    try:
        idx = index.write(out)
        idx_note = f"; index: {idx}"
    except WorkbookError as exc:
        if r.status == "ok":
            raise
        idx, idx_note = None, f"; {exc}"
    if r.status != "ok":
        _err(r.error or "run failed")
        kept = Path(r.report_dir, "executed.ipynb") if r.report_dir else None
        if kept is not None and kept.is_file():
            print(f"the failed notebook is kept for debugging in {kept}{idx_note}", file=sys.stderr)
        elif idx is None:
            print(idx_note.removeprefix("; "), file=sys.stderr)
        return 4
    print(f"ok: {r.notebook}/{r.name} in {r.duration_s:.1f} s -> {r.report_dir}/report.html")
    return 0


def params_files(folder: str | Path) -> list[Path]:
    """Every params file (``*.yaml`` / ``*.yml``) under ``folder``, sorted; shop profiles (a
    ``shop:`` mapping and no ``notebook:``) are not params files and are left out."""
    from analysis_lib import params as P

    folder = Path(folder)
    if not folder.is_dir():
        raise WorkbookError(f"{folder}: params folder not found")
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    return [p for p in files if not P.is_profile_file(p)]


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
    """The kernel zygote of a run-all (:mod:`analysis_lib.run.zygote`) when there are several runs,
    on Linux (forked kernels are watched through /proc); ``WORKBOOK_ZYGOTE=0`` turns it off."""
    if n_runs < 2 or os.environ.get("WORKBOOK_ZYGOTE") == "0" or sys.platform != "linux":
        return contextlib.nullcontext()
    from analysis_lib.run.zygote import Zygote

    try:
        return Zygote()
    except OSError:
        return contextlib.nullcontext()


def _collisions(files: list[Path]) -> dict[str, str]:
    """Params files that would share one report (same notebook, same file name, different
    folders), each with its one-line error naming the others. Files that cannot be read are left
    to their run, which says why."""
    from analysis_lib import params as P

    by_report: dict[tuple[str, str], list[Path]] = {}
    for f in files:
        try:
            notebook = P.read_yaml(f).get("notebook")
        except Exception:  # noqa: BLE001 - reported by the file's own run
            continue
        if isinstance(notebook, str):
            by_report.setdefault((notebook, f.stem), []).append(f)
    errors = {}
    for (notebook, name), same in by_report.items():
        for f in same if len(same) > 1 else ():
            others = ", ".join(str(o) for o in same if o != f)
            errors[str(f)] = (
                f"{f}: would write the same report {notebook}/{name} as {others}; a report is "
                "named by its notebook and file name: rename one of them (neither was run)"
            )
    return errors


def _stop_workers(grace: float = 5.0) -> None:
    """SIGTERM every worker process of this run-all (each kills its kernel and exits), then
    SIGKILL what is left after ``grace`` seconds."""
    procs = multiprocessing.active_children()
    for p in procs:
        if p.pid:
            with contextlib.suppress(OSError):
                os.kill(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        p.join(max(deadline - time.monotonic(), 0.0))
        if p.is_alive():
            p.kill()
            p.join(1.0)


def _died(path: str, code: int | None) -> str:
    how = ""
    if code is not None and code < 0:
        try:
            how = f" (killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f" (killed by signal {-code}"
        how += ", e.g. out of memory)" if -code == signal.SIGKILL else ")"
    elif code:
        how = f" (exit code {code})"
    return f"{path}: the process running it died{how}; `workbook run {path}` shows more"


def _pool_round(paths: list[str], workers: int, a, bar, results: list[dict]):
    """Run ``paths`` on a fresh pool of ``workers`` processes, appending their rows to
    ``results``. When a worker process dies, the pool breaks and every unfinished run with it:
    returns (files that were running then, files not started yet, exit code per running file)."""
    ctx = multiprocessing.get_context("spawn")
    started = tempfile.mkdtemp(prefix="wb-run-all-")
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(paths)),
        mp_context=ctx,
        initializer=_worker_init,
        initargs=(os.getpid(), started),
    )
    broken: list[str] = []
    try:
        futs = {pool.submit(_run_one, p, a.data, a.out, a.timeout): p for p in paths}
        procs = dict(getattr(pool, "_processes", None) or {})  # for the exit code of a dead one
        for f in as_completed(futs):
            try:
                results.append(f.result())
                bar.update(1)
            except BrokenProcessPool:
                broken.append(futs[f])
            except BaseException as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled
                if isinstance(exc, Interrupted):
                    raise
                results.append(
                    _row(futs[f], "failed", f"{futs[f]}: {type(exc).__name__}: {_one_line(exc)}")
                )
                bar.update(1)
    except BaseException:
        _stop_workers()
        pool.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(started, ignore_errors=True)
        raise
    pool.shutdown(wait=True)
    running: dict[str, int] = {}  # the last file each worker started
    for mark in Path(started).iterdir():
        if mark.suffix != ".tmp":
            running[mark.read_text(encoding="utf-8")] = int(mark.name)
    shutil.rmtree(started, ignore_errors=True)
    inflight = [p for p in broken if p in running]
    codes = {p: getattr(procs.get(running[p]), "exitcode", None) for p in inflight}
    return inflight, [p for p in broken if p not in running], codes


def _run_files(files: list[str], workers: int, a, bar) -> list[dict]:
    """Every file once, on ``workers`` processes, whatever a run does to its worker process. When
    one dies (out of memory, a crash in a C library, a kill), the pool breaks: files not started
    yet go on in a new pool, and each file that was running runs once more alone, so the one
    that killed its worker is found (and fails with one line) and the others still run."""
    results: list[dict] = []
    todo, alone = list(files), []
    idle_breaks = 0
    while todo or alone:
        if todo:
            inflight, todo, _ = _pool_round(todo, workers, a, bar, results)
            alone += inflight
            idle_breaks = idle_breaks + 1 if (todo and not inflight) else 0
            if idle_breaks >= 3:  # workers dying before running anything: give up on the rest
                for p in todo:
                    results.append(_row(p, "failed", _died(p, None)))
                    bar.update(1)
                todo = []
        else:
            path = alone.pop(0)
            inflight, lost, codes = _pool_round([path], 1, a, bar, results)
            if inflight or lost:
                results.append(_row(path, "failed", _died(path, codes.get(path))))
                bar.update(1)
    return results


def cmd_run_all(a) -> int:
    from tqdm import tqdm

    from analysis_lib.run import index

    folder = _path_arg(a.folder, "params folder")
    a.out = _out_arg(a.out)
    files = params_files(folder)
    if not files:
        _err(f"{folder}: no params files (*.yaml)")
        return 1
    files = longest_first(files, a.out)
    workers = a.jobs or min(len(files), os.cpu_count() or 1)
    t0 = time.perf_counter()
    refused = _collisions(files)
    results = [_row(p, "invalid", e) for p, e in refused.items()]
    todo = [str(p) for p in files if str(p) not in refused]
    bar = tqdm(
        total=len(files), initial=len(results), desc="run-all", unit="report", file=sys.stderr
    )
    try:
        with _zygote(len(todo)):
            results += _run_files(todo, workers, a, bar) if todo else []
    except Interrupted as exc:
        bar.close()
        done = sum(r["status"] == "ok" for r in results)
        exc.detail = (
            f"run-all stopped by {signal.Signals(exc.signum).name}: every run it started has "
            f"ended; {done} of {len(files)} reports were written, the others keep their last "
            f"good report; the index was not rewritten (`workbook index --out {a.out}`)"
        )
        raise
    bar.close()
    results.sort(key=lambda r: r["path"])
    width = max(len(r["path"]) for r in results)
    print(f"\n{'params file':<{width}}  {'status':<8} {'time':>7}")
    for r in results:
        print(f"{r['path']:<{width}}  {r['status']:<8} {r['duration_s']:>6.1f}s")
        if r["status"] != "ok":
            print(f"{'':<{width}}  -> {r['error']}")
    bad = sum(r["status"] != "ok" for r in results)
    summary = f"\n{len(results) - bad} ok, {bad} failed in {time.perf_counter() - t0:.1f} s"
    idx = index.write(a.out)  # a WorkbookError (disk full...) is one line after the summary
    print(f"{summary}; index: {idx.resolve()}")
    return 1 if bad else 0


def cmd_import(a) -> int:
    from analysis_lib.ingest import run_import, summary_lines

    t0 = time.perf_counter()
    srcs = [_path_arg(s, "source") for s in a.src]
    out = _path_arg(a.out, "--out")
    record = run_import(
        a.kind,
        srcs,
        out,
        force=a.force,
        shop_profile=_path_arg(a.shop_profile, "--shop-profile") if a.shop_profile else None,
        name=a.name,
        currency=a.currency,
        timezone=a.timezone,
        lang=a.lang,
        gmv=a.gmv,
    )
    lines = [*summary_lines(record, out), f"in {time.perf_counter() - t0:.1f} s"]
    print("\n".join(lines))
    return 0


def cmd_index(a) -> int:
    from analysis_lib.run import index

    print(index.write(_out_arg(a.out)).resolve())
    return 0


# the sample shop's data ends in 2025: the demo replays the morning after its planted refund spike
# for rolling periods (params/kpi_monitor/daily_alerts.yaml: the 28 days to yesterday)
DEMO_TODAY = "2025-01-23"


def cmd_demo(a) -> int:
    """Generate sample data when missing, run every params file, print where the index is."""
    os.environ.setdefault("WORKBOOK_TODAY", DEMO_TODAY)
    if not (Path(a.data_dir) / "truth.json").exists():
        cmd_sample_data(argparse.Namespace(out=a.data_dir, scale="s", seed=42))
    rc = cmd_run_all(
        argparse.Namespace(folder=a.params_dir, data=None, out=a.out, timeout=600, jobs=None)
    )
    print(f"\nOpen the reports: file://{(Path(a.out) / 'index.html').resolve()}")
    return rc


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (``error: ...``, exit 2) instead of the usage
    text: what a cron mail should hold."""

    def error(self, message: str):
        _err(f"{self.prog}: {message} (see {self.prog} --help)")
        raise SystemExit(2)


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of 1 or more, not {text!r}")
    return n


def _non_negative(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        x = -1.0
    if not x >= 0 or x == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds, 0 or more, not {text!r}")
    return x


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``workbook`` command."""
    p = _Parser(prog="workbook", description="The e-commerce operations workbook.")
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
    r.add_argument("--timeout", type=_positive_int, default=600, help="per-cell timeout in seconds")
    r.add_argument(
        "--wait", type=_non_negative, default=0, help="seconds to wait for a concurrent run's lock"
    )
    r.set_defaults(fn=cmd_run)

    ra = sub.add_parser("run-all", help="run every params file in a folder, in parallel")
    ra.add_argument("folder", nargs="?", default="params")
    ra.add_argument("--data", help="override data.url for every file")
    ra.add_argument("--out", default="reports")
    ra.add_argument("--timeout", type=_positive_int, default=600)
    ra.add_argument(
        "--jobs", type=_positive_int, default=None, help="parallel runs (default: cores)"
    )
    ra.set_defaults(fn=cmd_run_all)

    im = sub.add_parser("import", help="import a shop's exports as canonical tables + profile")
    im.add_argument("kind", choices=["online-retail", "olist", "shopify", "taobao"])
    im.add_argument("src", nargs="+", help="the export files (or their folder)")
    im.add_argument("--out", required=True, help="folder for the tables, shop.yaml, import.json")
    im.add_argument("--shop-profile", help="also write the shop profile here")
    im.add_argument("--name", help="the shop's name")
    im.add_argument("--currency", help="ISO 4217 code (default: the export's)")
    im.add_argument("--timezone", help="IANA time zone of the shop")
    im.add_argument("--lang", choices=["en", "zh"], help="default report language")
    im.add_argument("--gmv", choices=["items", "payments"], help="olist: GMV from (default items)")
    im.add_argument("--force", action="store_true", help="replace the tables in --out")
    im.set_defaults(fn=cmd_import)

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
    """Entry point of the ``workbook`` console script: one line on stderr and an exit code for
    every way a command can end."""
    args = build_parser().parse_args(argv)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for s in STOP_SIGNALS:
            previous[s] = signal.signal(s, _on_signal)
    try:
        return args.fn(args)
    except WorkbookError as exc:
        _err(_one_line(exc))
        return exc.exit_code
    except Interrupted as exc:
        _err(exc.detail or f"stopped by {signal.Signals(exc.signum).name}")
        return 128 + exc.signum
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as exc:
        where = _log_traceback(_logs_home(args))
        more = f"traceback in {where}" if where else "WORKBOOK_DEBUG=1 prints the traceback"
        _err(f"unexpected {type(exc).__name__}: {_one_line(exc)} ({more})")
        return 1
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


if __name__ == "__main__":
    sys.exit(main())
