"""The same notebooks on a distributed engine: kpi_monitor, funnel, ab_test and customer_value
run with ``data.url`` naming a PySpark backend (local mode) give the same results.json figures
as on DuckDB, for the scale-s sample data."""

from __future__ import annotations

import json
import math
import shutil

import pytest

from tests.test_runner import ROOT, workbook

EXAMPLES = [
    "kpi_monitor/q4_weekly.yaml",
    "funnel/december_vs_october.yaml",
    "ab_test/checkout_experiment.yaml",
    "customer_value/sample_shop.yaml",
]


pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.e2e]


def _java() -> bool:
    return shutil.which("java") is not None


def _diff(a, b, path="") -> list[str]:
    """Where two figure trees differ (numbers to 1e-9 relative: Spark sums in another order)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d for k in sorted(set(a) | set(b)) for d in _diff(a.get(k), b.get(k), f"{path}.{k}")
        ]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items against {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _diff(x, y, f"{path}[{i}]")
        ]
    if isinstance(a, float) or isinstance(b, float):
        ok = a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
        return [] if ok else [f"{path}: {a} against {b}"]
    return [] if a == b else [f"{path}: {a!r} against {b!r}"]


@pytest.mark.skipif(not _java(), reason="PySpark needs Java (17 on this machine)")
def test_spark_gives_the_duckdb_figures(tmp_path, sample_dir):
    folder = tmp_path / "params"
    for ex in EXAMPLES:
        dst = folder / ex
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "params" / ex, dst)
    runs = {}
    warehouses = [ROOT / "notebooks" / "spark-warehouse", tmp_path / "spark-warehouse"]
    there_before = [w.exists() for w in warehouses]
    for engine, url in (("duckdb", str(sample_dir)), ("spark", f"pyspark://{sample_dir}")):
        out = tmp_path / engine
        r = workbook("run-all", folder, "--data", url, "--out", out, "--jobs", "2", cwd=tmp_path)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        runs[engine] = out
    compared = 0
    for ex in EXAMPLES:
        nb, name = ex.removesuffix(".yaml").split("/")
        res = {
            e: json.loads((out / nb / name / "results.json").read_text()) for e, out in runs.items()
        }
        assert res["spark"]["params"]["data"]["url"].startswith("pyspark://")
        diffs = _diff(res["duckdb"]["figures"], res["spark"]["figures"])
        assert not diffs, f"{ex}: " + "; ".join(diffs[:10])
        compared += len(json.dumps(res["duckdb"]["figures"]))
    assert compared > 1000  # the figures are not empty
    # a folder of files needs no Spark warehouse: none is left in the folders runs start from
    assert [w.exists() for w in warehouses] == there_before
