"""Run one params file: validate, execute the notebook with papermill, render the report with
nbconvert, and write ``report.html``, ``executed.ipynb`` and ``results.json`` atomically.

Layout under the output folder (``reports/`` by default)::

    <notebook>/<name>/                 the last good report (replaced only by a complete new one)
    <notebook>/<name>.failed/          the latest failed run, when it failed: executed.ipynb,
                                       results.json
    <notebook>/.staging/<name>/<run>/  work in progress (removed at the end; a killed run's
                                       leftovers are removed by the next run of the same name)

``<name>`` is the params file's name without ``.yaml``: a report is identified by its notebook and
its file name, so ``params/<notebook>/<name>.yaml`` always lands in ``<notebook>/<name>/``. Two
params files of one notebook with the same file name in different folders would share a report:
a run refuses to replace a report made from another params file that still exists, and run-all
refuses such pairs before anything runs (:func:`check_owner`). Names starting with ``.`` (hidden
folders are the workbook's own) or ending in ``.failed`` (another report's failed run) are refused.

A run validates params and data before anything executes: on bad input it raises a one-line
:class:`~analysis_lib.errors.WorkbookError` and touches nothing under the output folder.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import hashlib
import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from filelock import FileLock, Timeout

from analysis_lib import params as P
from analysis_lib.core import data as D
from analysis_lib.core import quality
from analysis_lib.core.version import code_version
from analysis_lib.errors import DataError, ParamsError, RunError, WorkbookError
from analysis_lib.present.blocks import FIGURES_MIME
from analysis_lib.run import notify
from analysis_lib.run.css import prune_css
from analysis_lib.run.kernel import WarmKernel, notebooks_dir

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = notebooks_dir()
TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
REMOVE_CELL_TAGS = {"injected-parameters", "parameters", "remove-cell", "explorer"}
DROP_MIMES = {FIGURES_MIME, "application/vnd.jupyter.widget-view+json"}


@dataclass
class RunResult:
    """Outcome of one run: where it wrote, whether it worked, and the one-line error if not."""

    notebook: str
    name: str
    status: str
    report_dir: str
    duration_s: float
    error: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)


def resolve_url(url: str, base: Path | None = None) -> str:
    """A folder URL made absolute (relative to ``base``, default the working directory), so the
    notebook, which runs in notebooks/, finds it; backend URLs pass through unchanged."""
    if url.startswith("pyspark://"):  # pyspark://<folder>: the folder may be relative too
        path, sep, query = url.removeprefix("pyspark://").partition("?")
        if path and not path.startswith("/"):
            path = str(((base or Path.cwd()) / path).resolve())
        return f"pyspark://{path}{sep}{query}"
    if D.is_backend_url(url):
        return url
    if "\0" in url:
        raise DataError(f"data.url: {url!r}: contains a NUL byte")
    try:
        p = Path(url.removeprefix("file://")).expanduser()
    except RuntimeError:  # '~someone' naming no user on this machine
        user = url.removeprefix("file://").split("/", 1)[0]
        raise DataError(f"data.url: {url}: no user {user[1:]!r} on this machine") from None
    if not p.is_absolute():
        p = (base or Path.cwd()) / p
    return str(p.resolve())


def prepare(
    params_path: str | Path, data_url: str | None = None, out: str | Path = "reports"
) -> tuple[P.BaseParams, D.DataSource]:
    """Validate params and data without executing anything (``workbook validate``); output paths
    are checked against the data, the inputs and the report folder ``out``
    (:func:`analysis_lib.params.check_outputs`)."""
    doc = P.read_yaml(params_path)
    if data_url is not None:
        doc.setdefault("data", {})
        if isinstance(doc["data"], dict):
            doc["data"]["url"] = data_url
    params = P.validate(doc, str(params_path))
    P.check_outputs(params, str(params_path), out)  # the paths as written, before resolving
    params.data.url = resolve_url(params.data.url)
    for export in (
        getattr(params, "export_dropoff", None),
        getattr(params, "export_segment", None),
    ):
        if export is not None:
            export.path = str(Path(export.path).expanduser().resolve())
    series = getattr(params, "series", None)
    if series is not None:
        series.path = str(Path(series.path).expanduser().resolve())
    ctl = getattr(params, "controls", None)
    if ctl is not None and getattr(ctl, "path", None):
        ctl.path = str(Path(ctl.path).expanduser().resolve())
    if getattr(params, "write_targets", None):
        params.write_targets = str(Path(params.write_targets).expanduser().resolve())
    src = D.connect(params.data)
    D.check_tables(src, type(params).required_tables, type(params).optional_tables)
    quality.check_blocking(
        src, list(type(params).required_tables), list(type(params).optional_tables)
    )
    params.check_data(src, str(params_path))
    return params, src


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _figures(nb) -> tuple[dict[str, Any], list[str], dict[str, dict]]:
    """The figures a notebook recorded, its headline keys, and how the report shows them."""
    figures: dict[str, Any] = {}
    headline: list[str] = []
    shown: dict[str, dict] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if FIGURES_MIME in out.get("data", {}):
                payload = out["data"][FIGURES_MIME]
                figures.update(payload.get("figures", {}))
                headline += [k for k in payload.get("headline", []) if k not in headline]
                shown.update(payload.get("shown", {}))
    return figures, headline, shown


def _queries(nb) -> dict | None:
    """What the notebook sent to its engine (``bootstrap.finish``: statements and rows read)."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            q = out.get("data", {}).get(FIGURES_MIME, {}).get("queries")
            if q is not None:
                return q
    return None


def _clean_for_report(nb) -> Any:
    """Drop what a manager must not see: the params cells (papermill issues #253, #416), explorer
    widgets, recorded-figure outputs, warnings on stderr."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & REMOVE_CELL_TAGS:
            continue
        if cell.cell_type == "code":
            outs = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    continue
                if set(out.get("data", {})) & DROP_MIMES:
                    continue
                outs.append(out)
            cell.outputs = outs
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("papermill", None)
    return nb


@functools.lru_cache(maxsize=1)
def _exporter():
    """The report exporter, built once per process (importing nbconvert and loading the template
    cost about 0.3 s; :func:`run` warms it in a thread while the notebook executes)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="workbook",
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    exporter.template  # noqa: B018 - compiles the Jinja template now
    # and what a first page compiles (the templates it includes, the CSS selectors of nbconvert's
    # HTML clean-up: 0.6 s of the first render otherwise, after the cells), and the parsed
    # stylesheet prune_css cuts (0.1 s)
    v4 = nbformat.v4
    out = v4.new_output("display_data", data={"text/html": "<p>.</p>"})
    page, _ = exporter.from_notebook_node(
        v4.new_notebook(cells=[v4.new_markdown_cell("."), v4.new_code_cell(".", outputs=[out])])
    )
    prune_css(page)
    return exporter


HTML_LANG = {"en": "en", "zh": "zh-CN"}


def render_html(nb, title: str, lang: str = "en") -> str:
    """The report HTML: code hidden, images embedded, no script or stylesheet from the network;
    the page declares its language (``<html lang="zh-CN">``), so a browser picks Chinese fonts
    and a screen reader the right voice."""
    nb = _clean_for_report(nb)
    nb.metadata["title"] = title
    exporter = _exporter()
    exporter.language_code = HTML_LANG[lang]  # a trait: nbconvert overwrites resources' own
    body, _ = exporter.from_notebook_node(nb)
    # nbconvert overwrites resources["language_code"] with its own trait (default "en"), which
    # also refuses region codes such as zh-CN: set the page's language on the rendered tag
    body = body.replace('<html lang="en">', f'<html lang="{HTML_LANG[lang]}">', 1)
    return prune_css(body)


def _write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str), encoding="utf-8")


def _swap_in(staging: Path, final: Path) -> None:
    """Replace ``final`` by ``staging``: rename the old aside (into the run's own staging area, so
    a run killed in between leaves it where the next run of the same name puts it back), rename
    the new in, drop the old. Each step is a rename on one file system; if the second fails, or
    anything (a signal's exception) interrupts between the two, the old one is put back."""
    old = staging.parent / f"old-{final.name}-{os.getpid()}"
    try:
        if final.exists():
            os.replace(final, old)
        os.replace(staging, final)
    except BaseException:
        if old.exists() and not final.exists():
            os.replace(old, final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _lock_path(out_root: Path, notebook: str, name: str) -> Path:
    key = hashlib.sha1(str(out_root.resolve()).encode()).hexdigest()[:12]
    d = Path(tempfile.gettempdir()) / "workbook-locks"
    if not d.is_dir():
        d.mkdir(exist_ok=True)
        # shared like /tmp: another user's run of another output folder must create its lock too
        with contextlib.suppress(OSError):
            d.chmod(0o1777)
    return d / f"{key}-{notebook}-{name}.lock"


def report_name(params_path: str | Path) -> str:
    """The report name of a params file (its file name without ``.yaml``); a one-line
    :class:`ParamsError` for names that would land on a folder the workbook uses itself."""
    name = Path(params_path).stem
    if name.startswith("."):
        raise ParamsError(
            f"{params_path}: a params file name must not start with '.' (hidden folders under "
            "the reports folder are the workbook's own): rename the file"
        )
    if name.endswith(".failed"):
        raise ParamsError(
            f"{params_path}: a params file name must not end in '.failed.yaml' "
            f"(<notebook>/{name}/ is where the failed run of "
            f"'{name.removesuffix('.failed')}' is kept): rename the file, e.g. "
            f"{name.removesuffix('.failed')}_failed.yaml"
        )
    return name


def _recorded_params(folder: Path) -> Path | None:
    """The params file (absolute) a report folder's results.json was made from, if it says."""
    try:
        rec = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        path = rec.get("params_path") or rec.get("params_file")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(path, str) or not os.path.isabs(path):
        return None  # older reports record the path as typed, relative to a cwd now unknown
    return Path(path)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or os.path.samefile(a, b)
    except OSError:
        return False


def check_owner(params_path: Path, nb_dir: Path, name: str) -> None:
    """Refuse to replace a report (or its failed run) made from another params file that still
    exists: two files named alike in different folders (``north/weekly.yaml``,
    ``south/weekly.yaml``) would otherwise replace each other's report in turn. A params file
    that was moved or renamed away leaves its report to the new one."""
    for folder in (nb_dir / name, nb_dir / f"{name}.failed"):
        other = _recorded_params(folder)
        if other is None or _same_file(other, params_path) or not other.is_file():
            continue
        raise ParamsError(
            f"{params_path}: report {nb_dir.name}/{name} is made from another params file, "
            f"{other}; a report is named by its notebook and file name: rename one of the two "
            f"files (e.g. {params_path.parent.name}_{name}.yaml)"
        )


def _clean_stale(stage_root: Path, nb_dir: Path, name: str) -> None:
    """Remove what a killed run of ``name`` left in its staging area; a report it had renamed
    aside and not yet replaced is put back first. Only called under the run's lock, so no live
    run of this name is writing there; other names have areas of their own."""
    if not stage_root.is_dir():
        return
    for entry in sorted(stage_root.iterdir()):
        kind = entry.name.rpartition("-")[0]
        for final in (nb_dir / name, nb_dir / f"{name}.failed"):
            if kind == f"old-{final.name}" and not final.exists():
                with contextlib.suppress(OSError):
                    os.replace(entry, final)
        if entry.exists():
            shutil.rmtree(entry, ignore_errors=True)


def _new_staging(stage_root: Path) -> Path:
    """A fresh folder for this run, created with the umask's permissions (``mkdtemp`` would make
    it 0700, and it becomes the report folder)."""
    for _ in range(5):
        try:
            stage_root.mkdir(parents=True, exist_ok=True)
            staging = stage_root / f"{os.getpid()}-{secrets.token_hex(4)}"
            staging.mkdir()
            return staging
        except FileNotFoundError:  # .staging removed by another name's run finishing just now
            continue
    raise RunError(f"{stage_root}: cannot create the staging folder")


def _drop_stage_root(stage_root: Path) -> None:
    """Remove the name's (and, when empty, the notebook's) staging folder after a run."""
    for d in (stage_root, stage_root.parent):
        try:
            d.rmdir()
        except OSError:
            return


# set in run-all's worker processes: the run-all process; a worker whose run-all has gone (killed)
# must not swap a report in
RUN_ALL_PID: int | None = None
# the staging folder of the run in progress, removed by a worker stopped by a signal
CURRENT_STAGING: Path | None = None


def _orphaned() -> bool:
    return RUN_ALL_PID is not None and os.getppid() != RUN_ALL_PID


def run(
    params_path: str | Path,
    data_url: str | None = None,
    out: str | Path = "reports",
    cell_timeout: int = 600,
    lock_wait: float = 0,
    warm: WarmKernel | None = None,
) -> RunResult:
    """Run one params file end to end; see the module docstring for what is written where.

    Raises :class:`WorkbookError` on bad params or data (nothing written) and when another run of
    the same params holds the lock. A notebook that fails returns ``status="failed"``. ``warm``:
    a kernel already started (and importing) in the notebooks folder, used instead of a new one;
    the caller shuts it down.
    """
    started = _dt.datetime.now(_dt.UTC)
    t0 = time.perf_counter()
    params_path = Path(params_path)
    name = report_name(params_path)
    params, _src = prepare(params_path, data_url, out)
    validate_s = time.perf_counter() - t0
    nb_name = params.notebook
    notebook = NOTEBOOKS_DIR / f"{nb_name}.ipynb"
    if not notebook.is_file():
        raise RunError(f"{params_path}: field 'notebook': notebook file not found: {notebook}")
    out_root = Path(out)  # output paths were checked against it in prepare()
    try:
        lock = FileLock(str(_lock_path(out_root, nb_name, name)), mode=0o666)
        lock.acquire(timeout=lock_wait)
    except Timeout:
        raise RunError(
            f"{params_path}: another run of {nb_name}/{name} is in progress; try again later"
        ) from None
    except OSError as exc:
        raise RunError(
            f"{params_path}: cannot take the run's lock in {tempfile.gettempdir()}: "
            f"{exc.strerror or exc}"
        ) from None
    try:
        return _run_locked(
            params,
            params_path,
            notebook,
            out_root,
            name,
            started,
            t0,
            cell_timeout,
            validate_s,
            warm,
        )
    finally:
        lock.release()


def _run_locked(
    params, params_path, notebook, out_root, name, started, t0, cell_timeout, validate_s, warm
) -> RunResult:
    global CURRENT_STAGING
    nb_name = params.notebook
    nb_dir = out_root / nb_name
    check_owner(params_path, nb_dir, name)  # under the lock: no run of this name is writing
    stage_root = nb_dir / ".staging" / name
    try:
        nb_dir.mkdir(parents=True, exist_ok=True)
        _clean_stale(stage_root, nb_dir, name)
        staging = _new_staging(stage_root)
    except OSError as exc:
        raise RunError(
            f"{nb_name}/{name}: cannot write the report under {nb_dir}: {exc.strerror or exc}"
        ) from None
    CURRENT_STAGING = staging
    try:
        return _execute(
            params,
            params_path,
            notebook,
            nb_dir,
            name,
            staging,
            started,
            t0,
            cell_timeout,
            validate_s,
            warm,
        )
    except BaseException:  # a signal (run-all stopping) or a bug: nothing half-done stays
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        CURRENT_STAGING = None
        _drop_stage_root(stage_root)


def _execute(
    params,
    params_path,
    notebook,
    nb_dir,
    name,
    staging,
    started,
    t0,
    cell_timeout,
    validate_s,
    warm,
) -> RunResult:
    # here on purpose: `workbook validate` imports this module and executes nothing
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    nb_name = params.notebook
    injected = P.to_notebook(params)
    record = {
        "notebook": nb_name,
        "name": name,
        "title": params.title_text,
        "status": "running",
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": None,
        "params": D.redact_params(injected),
        "params_file": str(params_path),
        "params_path": str(params_path.resolve()),  # whose report this is (check_owner)
        "data": {
            "url": D.redact_url(params.data.url),
            "fingerprint": D.run_fingerprint(params),
        },
        "code_version": code_version(),
        "figures": {},
    }
    executed = staging / "executed.ipynb"
    error = None
    os.environ["WORKBOOK_BATCH"] = "1"  # notebooks skip interactive explorers
    # papermill/nbclient log timeouts and kernel events to stderr; the run reports one line itself
    logging.getLogger("papermill").setLevel(logging.CRITICAL)
    t_exec = time.perf_counter()
    threading.Thread(target=_exporter, daemon=True).start()  # the CLI is idle while cells run
    # alerts: what the last report of these params sent, for the notebook's quiet period, and
    # whether delivery can send (no URL passed), so the report says what results.json records
    sent = (
        {
            "alerts_sent": notify.last_state(nb_dir / name),
            "alerts_delivery": notify.readiness(params),
        }
        if getattr(params, "alerts", None)
        else {}
    )
    try:
        pm.execute_notebook(
            str(notebook),
            str(executed),
            parameters={"params": injected, **sent},
            kernel_name="python3",
            cwd=str(notebook.parent),
            execution_timeout=cell_timeout,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,  # one write at the end, not one per cell
            kernel_manager_class="analysis_lib.run.kernel.IsolatedKernelManager",
            **({"km": warm.km} if warm is not None else {}),
        )
    except PapermillExecutionError as exc:
        error = (
            f"{nb_name}/{name}: cell {exc.exec_count} failed: {exc.ename}: {_one_line(exc.evalue)}"
        )
    except Exception as exc:  # kernel death, timeout, missing kernel...
        error = f"{nb_name}/{name}: execution failed: {type(exc).__name__}: {_one_line(exc)}"

    exec_s = time.perf_counter() - t_exec
    render_s = 0.0
    _scrub_secrets(executed, params.data.url)
    error = error and D.redact_text(error, params.data.url)
    if error is None:
        try:
            nb = nbformat.read(str(executed), as_version=4)
            record["figures"], record["headline"], record["shown"] = _figures(nb)
            record["queries"] = _queries(nb)
            t_render = time.perf_counter()
            (staging / "report.html").write_text(
                render_html(nb, params.title_text, params.lang), encoding="utf-8"
            )
            render_s = time.perf_counter() - t_render
            record["timings"] = _timings(nb, validate_s, exec_s, render_s)
        except Exception as exc:
            error = f"{nb_name}/{name}: rendering failed: {type(exc).__name__}: {_one_line(exc)}"

    record["duration_s"] = round(time.perf_counter() - t0, 2)
    final = nb_dir / name
    failed_dir = nb_dir / f"{name}.failed"
    kept = final if error is None else failed_dir
    if _orphaned():  # run-all was killed while this ran: its caller is gone, replace nothing
        raise RunError(f"{nb_name}/{name}: run-all has stopped; the report was not replaced")
    try:
        if error is None:
            record["status"] = "ok"
            _write_json(staging / "results.json", record)
            _swap_in(staging, final)
            shutil.rmtree(failed_dir, ignore_errors=True)
            notify.deliver(params, record, final)  # what results.json marks to_send; never raises
        else:
            record["status"] = "failed"
            record["error"] = error
            (staging / "report.html").unlink(missing_ok=True)
            _write_json(staging / "results.json", record)
            _swap_in(staging, failed_dir)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        error = f"{nb_name}/{name}: cannot write the report under {nb_dir}: {exc.strerror or exc}"
        record["status"] = "failed"
        kept = None  # nothing of this run was written; an older failed run may still be there
    return RunResult(
        notebook=nb_name,
        name=name,
        status=record["status"],
        report_dir=str(kept) if kept is not None else "",
        duration_s=record["duration_s"],
        error=error,
        figures=record["figures"],
    )


def _scrub_secrets(executed: Path, url: str) -> None:
    """Mask a password of the data URL in the executed notebook kept for analysts: the kernel
    needed it in the injected params to connect, but the file is kept on a share beside the
    report (results.json and the report already show the URL masked)."""
    if D.redact_url(url) == url or not executed.is_file():
        return
    text = executed.read_text(encoding="utf-8")
    clean = D.redact_text(text, url)
    if clean != text:
        executed.write_text(clean, encoding="utf-8")


def _timings(nb, validate_s: float, exec_s: float, render_s: float) -> dict[str, Any]:
    """Where a run's time went: validation, kernel start and papermill's own work, the cells
    (papermill records each cell's duration; the three slowest are named), rendering; and the
    CPU seconds of the process that ran papermill since it started (``runner_cpu_s``: under
    ``workbook run``, the CLI's imports, validation, papermill and rendering, without the
    kernel's; under run-all, a worker's runs add up)."""
    cells = [
        (i, float(c.metadata.get("papermill", {}).get("duration") or 0.0))
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
    ]
    cells_s = sum(d for _, d in cells)
    slow = sorted(cells, key=lambda x: -x[1])[:3]
    return {
        "validate_s": round(validate_s, 3),
        "kernel_and_overhead_s": round(max(exec_s - cells_s, 0.0), 3),
        "cells_s": round(cells_s, 3),
        "render_s": round(render_s, 3),
        "slowest_cells": [{"cell": i, "seconds": round(d, 3)} for i, d in slow],
        # CPU seconds of the process that ran papermill since it started (not the kernel's)
        "runner_cpu_s": round(time.process_time(), 3),
    }


def result_dict(r: RunResult) -> dict:
    """A RunResult as a plain dict."""
    return asdict(r)


__all__ = ["RunResult", "WorkbookError", "prepare", "run", "render_html", "resolve_url"]
