"""Where a run may write: the check, before anything runs, that an output path of the params
(a targets table, a CSV export) cannot destroy the data, an input or the reports."""

from __future__ import annotations

from pathlib import Path

from analysis_lib.errors import ParamsError
from analysis_lib.params.base import BaseParams

EXPORTS_DIR = "exports"


def _local_path(p: str | Path, cwd: Path) -> Path:
    q = Path(p).expanduser()
    return (q if q.is_absolute() else cwd / q).resolve()


def _data_paths(url: str, cwd: Path) -> Path | None:
    """The local folder or database file behind a data URL (None for a server)."""
    if url.startswith(("duckdb://", "sqlite://", "pyspark://")):
        path = url.split("://", 1)[1].partition("?")[0]
        return _local_path(path, cwd) if path and path != ":memory:" else None
    if "://" in url and not url.startswith("file://"):
        return None
    return _local_path(url.removeprefix("file://"), cwd)


def check_outputs(
    params: BaseParams, source: str, out_root: str | Path = "reports", cwd: Path | None = None
) -> None:
    """Refuse, before anything runs, an output path (``write_targets``, ``export_dropoff.path``,
    ``export_segment.path``) that could destroy something: one that names the data source or lies
    inside the data folder (a targets table written over ``orders.parquet`` replaced the shop's
    orders), names an input file (the params file, a series or controls file), lies inside the
    report folder ``out_root``, or lies outside the output area ``exports/`` (relative to the
    working directory) while the params do not set ``allow_outside_exports: true``.

    Relative paths are taken from ``cwd`` (default: the working directory), as the runner does.
    The opt-in widens the area only: the data, inputs and reports stay refused with it.
    """
    outs = params.output_paths()
    if not outs:
        return
    cwd = Path.cwd() if cwd is None else Path(cwd)
    data = _data_paths(params.data.url, cwd)
    inputs = [_local_path(p, cwd) for p in params.input_paths()]
    if Path(source).is_file():
        inputs.append(_local_path(source, cwd))
    reports = _local_path(out_root, cwd)
    exports = _local_path(EXPORTS_DIR, cwd)
    for field, raw in outs:
        p = _local_path(raw, cwd)
        where = f"{source}: field '{field}': {raw}"
        if data is not None and (p == data or p.is_relative_to(data)):
            raise ParamsError(
                f"{where} is inside the data folder {data}: it would overwrite the shop's data; "
                f"write under {EXPORTS_DIR}/"
            )
        if p in inputs:
            raise ParamsError(f"{where} is an input of this run; write under {EXPORTS_DIR}/")
        if p == reports or p.is_relative_to(reports):
            raise ParamsError(
                f"{source}: field '{field}': must be outside {out_root}/ (reports hold reports only)"
            )
        if not getattr(params, "allow_outside_exports", False) and not p.is_relative_to(exports):
            raise ParamsError(
                f"{where} is outside {EXPORTS_DIR}/: write under {EXPORTS_DIR}/, or set "
                f"allow_outside_exports: true to write elsewhere"
            )
