"""Every case in tests/bad_inputs/ exits non-zero with its exact one-line error and leaves
reports/ byte for byte as it was.

A case is a folder:

* ``params.yaml`` - the params file run (``workbook run params.yaml`` from the case folder);
* ``data/`` - files laid over a copy of ``_base_data/`` (a small valid shop as CSV); a file
  ``data/REMOVE`` lists base tables to take away; without ``data/`` the base is used as it is;
* ``args`` - other arguments for ``workbook`` instead of ``run params.yaml``;
* ``expected`` - ``exit <code>`` on the first line, the exact stderr line on the second (paths
  relative to the case folder).

Each run starts from a ``reports/`` folder holding a last good report of the same name and an
index; the test compares every byte of it before and after.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CASES_DIR = Path(__file__).parent / "bad_inputs"
BASE = CASES_DIR / "_base_data"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir() and not p.name.startswith("_"))
WORKBOOK = Path(sys.executable).parent / "workbook"


def _lay_out(case: str, where: Path) -> Path:
    src = CASES_DIR / case
    work = where / case
    shutil.copytree(src, work, ignore=shutil.ignore_patterns("data", "expected"))
    data = work / "data"
    shutil.copytree(BASE, data)
    if (src / "data").is_dir():
        remove = src / "data" / "REMOVE"
        for table in remove.read_text().split() if remove.exists() else []:
            for p in data.glob(f"{table}.*"):
                p.unlink()
        for p in (src / "data").iterdir():
            if p.name != "REMOVE":
                shutil.copy(p, data / p.name)
    return work


def _last_good_reports(work: Path) -> Path:
    """A reports/ folder as a previous good run left it."""
    reports = work / "reports"
    for nb in ("kpi_monitor", "funnel", "product_ops", "ab_test"):
        d = reports / nb / "params"
        d.mkdir(parents=True)
        (d / "report.html").write_text(f"<html><body>last good {nb} report</body></html>")
        (d / "results.json").write_text('{"status": "ok", "figures": {"gmv": 475.5}}')
        (d / "executed.ipynb").write_text("{}")
    (reports / "index.html").write_text("<html><body>index</body></html>")
    return reports


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    } | {str(p.relative_to(folder)) + "/": "dir" for p in folder.rglob("*") if p.is_dir()}


def test_at_least_forty_cases():
    assert len(CASES) >= 40
    missing = [c for c in CASES if not (CASES_DIR / c / "expected").is_file()]
    assert not missing, f"cases without an expected file: {missing}"


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case, tmp_path):
    expected_code, expected_line = (
        (CASES_DIR / case / "expected").read_text(encoding="utf-8").rstrip("\n").split("\n")
    )
    work = _lay_out(case, tmp_path)
    reports = _last_good_reports(work)
    before = _snapshot(reports)
    code, stderr = run_case(case, work)
    assert f"exit {code}" == expected_code, stderr
    assert code != 0
    assert stderr.rstrip("\n").split("\n") == [expected_line]
    assert _snapshot(reports) == before, "reports/ changed"
    assert not list(work.glob("exports/*")), "an export was written"


def run_case(case: str, work: Path) -> tuple[int, str]:
    """Run one laid-out case; (exit code, stderr with the case folder's path made relative)."""
    args_file = CASES_DIR / case / "args"
    args = args_file.read_text().split() if args_file.exists() else ["run", "params.yaml"]
    env = dict(os.environ)
    env.pop("WORKBOOK_NOTEBOOKS", None)
    proc = subprocess.run(
        [str(WORKBOOK), *args, "--out", "reports"],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,  # a backstop only: a case takes seconds, but not always on a loaded machine
    )
    return proc.returncode, proc.stderr.replace(f"{work.resolve()}/", "")


def test_base_data_is_valid(tmp_path):
    """The base shop passes validation, so each case fails for its own reason only (a CSV saved
    with a byte-order mark included)."""
    work = tmp_path / "ok"
    work.mkdir()
    shutil.copytree(BASE, work / "data")
    orders = work / "data" / "orders.csv"
    orders.write_bytes(b"\xef\xbb\xbf" + orders.read_bytes())
    for name in ("unknown_key", "one_step", "duplicate_sku", "unknown_experiment"):
        text = (CASES_DIR / name / "params.yaml").read_text()
        fixed = {
            "unknown_key": ("grian: week", "grain: week"),
            "one_step": ("steps: [page_view]", "steps: [page_view, purchase]"),
            "duplicate_sku": ("", ""),
            "unknown_experiment": ("experiment_id: E9", "experiment_id: E1"),
        }[name]
        (work / f"{name}.yaml").write_text(text.replace(*fixed))
        proc = subprocess.run(
            [str(WORKBOOK), "validate", f"{name}.yaml"], cwd=work, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
