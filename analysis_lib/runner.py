"""Run one params file: validate, execute the notebook with papermill, render the report with
nbconvert, and write ``report.html``, ``executed.ipynb`` and ``results.json`` atomically.

Layout under the output folder (``reports/`` by default)::

    <notebook>/<name>/            the last good report (replaced only by a complete new one)
    <notebook>/<name>.failed/     the latest failed run, when it failed: executed.ipynb, results.json
    <notebook>/.staging-<name>-*  work in progress (removed at the end; a killed run's leftovers are
                                  removed by the next run of the same params)

A run validates params and data before anything executes: on bad input it raises a one-line
:class:`~analysis_lib.errors.WorkbookError` and touches nothing under the output folder.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from filelock import FileLock, Timeout

from analysis_lib import data as D
from analysis_lib import params as P
from analysis_lib import quality
from analysis_lib.errors import RunError, WorkbookError
from analysis_lib.kernel import WarmKernel, notebooks_dir
from analysis_lib.report import FIGURES_MIME, code_version

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = notebooks_dir()
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
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
    p = Path(url.removeprefix("file://")).expanduser()
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


def _figures(nb) -> tuple[dict[str, Any], list[str]]:
    figures: dict[str, Any] = {}
    headline: list[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if FIGURES_MIME in out.get("data", {}):
                payload = out["data"][FIGURES_MIME]
                figures.update(payload.get("figures", {}))
                headline += [k for k in payload.get("headline", []) if k not in headline]
    return figures, headline


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
    return exporter


def render_html(nb, title: str) -> str:
    """The report HTML: code hidden, images embedded, no script or stylesheet from the network."""
    nb = _clean_for_report(nb)
    nb.metadata["title"] = title
    body, _ = _exporter().from_notebook_node(nb)
    return body


def _write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str), encoding="utf-8")


def _swap_in(staging: Path, final: Path) -> None:
    """Replace ``final`` by ``staging``: rename the old aside, rename the new in, drop the old.
    Each step is a rename on one file system; if the second fails the old one is put back."""
    old = final.with_name(f".old-{final.name}-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    try:
        os.replace(staging, final)
    except OSError:
        if old.exists():
            os.replace(old, final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _lock_path(out_root: Path, notebook: str, name: str) -> Path:
    import hashlib

    key = hashlib.sha1(str(out_root.resolve()).encode()).hexdigest()[:12]
    d = Path(tempfile.gettempdir()) / "workbook-locks"
    d.mkdir(exist_ok=True)
    return d / f"{key}-{notebook}-{name}.lock"


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
    params, _src = prepare(params_path, data_url, out)
    validate_s = time.perf_counter() - t0
    name = params_path.stem
    nb_name = params.notebook
    notebook = NOTEBOOKS_DIR / f"{nb_name}.ipynb"
    if not notebook.is_file():
        raise RunError(f"{params_path}: field 'notebook': notebook file not found: {notebook}")
    out_root = Path(out)  # output paths were checked against it in prepare()
    lock = FileLock(str(_lock_path(out_root, nb_name, name)))
    try:
        lock.acquire(timeout=lock_wait)
    except Timeout:
        raise RunError(
            f"{params_path}: another run of {nb_name}/{name} is in progress; try again later"
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
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    nb_name = params.notebook
    nb_dir = out_root / nb_name
    nb_dir.mkdir(parents=True, exist_ok=True)
    for stale in nb_dir.glob(f".staging-{name}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{name}-", dir=nb_dir))
    injected = P.to_notebook(params)
    record = {
        "notebook": nb_name,
        "name": name,
        "title": params.title,
        "status": "running",
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": None,
        "params": D.redact_params(injected),
        "params_file": str(params_path),
        "data": {
            "url": D.redact_url(params.data.url),
            "fingerprint": D.fingerprint(params.data.url),
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
    try:
        pm.execute_notebook(
            str(notebook),
            str(executed),
            parameters={"params": injected},
            kernel_name="python3",
            cwd=str(notebook.parent),
            execution_timeout=cell_timeout,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,  # one write at the end, not one per cell
            kernel_manager_class="analysis_lib.kernel.IsolatedKernelManager",
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
    if error is None:
        try:
            nb = nbformat.read(str(executed), as_version=4)
            record["figures"], record["headline"] = _figures(nb)
            t_render = time.perf_counter()
            (staging / "report.html").write_text(render_html(nb, params.title), encoding="utf-8")
            render_s = time.perf_counter() - t_render
            record["timings"] = _timings(nb, validate_s, exec_s, render_s)
        except Exception as exc:
            error = f"{nb_name}/{name}: rendering failed: {type(exc).__name__}: {_one_line(exc)}"

    record["duration_s"] = round(time.perf_counter() - t0, 2)
    final = nb_dir / name
    failed_dir = nb_dir / f"{name}.failed"
    try:
        if error is None:
            record["status"] = "ok"
            _write_json(staging / "results.json", record)
            _swap_in(staging, final)
            shutil.rmtree(failed_dir, ignore_errors=True)
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
    return RunResult(
        notebook=nb_name,
        name=name,
        status=record["status"],
        report_dir=str(final if record["status"] == "ok" else failed_dir),
        duration_s=record["duration_s"],
        error=error,
        figures=record["figures"],
    )


def _timings(nb, validate_s: float, exec_s: float, render_s: float) -> dict[str, Any]:
    """Where a run's time went: validation, kernel start and papermill's own work, the cells
    (papermill records each cell's duration; the three slowest are named), rendering."""
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
    }


def result_dict(r: RunResult) -> dict:
    """A RunResult as a plain dict."""
    return asdict(r)


__all__ = ["RunResult", "WorkbookError", "prepare", "run", "render_html", "resolve_url"]
