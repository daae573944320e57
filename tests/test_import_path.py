"""What a cold run pays for: a report that needs no statistics library does not import one, and
its charts are laid out without asking every axis for its ticks thirty times over.

seaborn imports scipy.stats and statsmodels (about a second of a fresh kernel's start, issue 20);
the chart theme is set without it (``charts.base.SEABORN_WHITEGRID``), and the modules that need
scipy, statsmodels or seaborn import them inside the functions that use them. The import tests run
in a fresh interpreter, as a kernel does: this test process has long imported everything.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from analysis_lib.present.context import use

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("scipy", "seaborn", "statsmodels", "sklearn", "pymc", "pymc_marketing")
TINY_SHOP = ROOT / "tests" / "bad_inputs" / "_base_data"


def _fresh(code: str, *args: str, cwd: Path = ROOT) -> str:
    env = dict(os.environ, MPLBACKEND="agg", WORKBOOK_BATCH="1")
    env.pop("WORKBOOK_CHECK_CHARTS", None)
    r = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


LOADED = f"""
import json, sys
print("LOADED=" + json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""


def _loaded(stdout: str) -> list[str]:
    line = [x for x in stdout.splitlines() if x.startswith("LOADED=")][-1]
    return json.loads(line.removeprefix("LOADED="))


def test_the_kernel_preload_imports_no_statistics_library():
    from analysis_lib.run.kernel import PRELOAD

    assert _loaded(_fresh(PRELOAD + "\n" + LOADED)) == []


def test_the_kpi_report_runs_without_scipy_seaborn_or_statsmodels():
    """The trivial report of the cold-run benchmark, every cell of its notebook as the kernel runs
    it (the kernel's preload first), on a four-order shop: none of them is imported, neither by an
    import line nor by a function that imports inside."""
    from analysis_lib.run.kernel import PRELOAD

    params = {
        "notebook": "kpi_monitor",
        "title": "Trivial",
        "data": {"url": str(TINY_SHOP)},
        "period": {"start": "2025-10-01", "end": "2025-10-31"},
        "grain": "week",
    }
    code = f"""
import json, sys
{PRELOAD}
nb = json.load(open(sys.argv[1], encoding="utf-8"))
g = {{}}
for c in nb["cells"]:  # as papermill runs it: the parameters cell, then the injected params
    if c["cell_type"] == "code":
        exec("".join(c["source"]), g)
        if "parameters" in c["metadata"].get("tags", []):
            g["params"] = json.loads(sys.argv[2])
{LOADED}
"""
    nb = ROOT / "notebooks" / "kpi_monitor.ipynb"
    out = _fresh(code, str(nb), json.dumps(params), cwd=nb.parent)
    assert _loaded(out) == []


def test_the_theme_is_seaborns_whitegrid_without_importing_seaborn():
    """``setup`` sets what ``seaborn.set_theme(style="whitegrid", palette=PALETTE,
    font_scale=0.95)`` set before, but the default colour map (no chart uses one)."""
    code = f"""
import matplotlib as mpl
import matplotlib.pyplot as plt
from analysis_lib.present.charts import base
base.setup("en")
after_setup = dict(mpl.rcParams)
{LOADED}
mpl.rcdefaults()
plt.rcParams.update(base.seaborn_theme())
ours = dict(mpl.rcParams)
mpl.rcdefaults()
import seaborn as sns
sns.set_theme(style="whitegrid", palette=base.PALETTE, font_scale=0.95)
theirs = dict(mpl.rcParams)
diff = sorted(k for k in theirs if theirs[k] != ours[k] and k != "image.cmap")
own = ("font.family", "font.sans-serif", "axes.spines.top", "axes.spines.right")
unset = sorted(k for k, v in base.seaborn_theme().items() if k not in own and after_setup[k] != v)
print("DIFF=" + repr(diff))
print("UNSET=" + repr(unset))
"""
    out = _fresh(code)
    assert _loaded(out) == []  # setup imported none of them
    assert "DIFF=[]" in out, out
    assert "UNSET=[]" in out, out


def _trend_fig():
    from analysis_lib.present.charts import kpi as charts

    s = pd.DataFrame(
        {
            "bucket": pd.date_range("2025-09-29", periods=14, freq="W-MON"),
            "gmv": [9e3 + 700 * (i % 5) for i in range(14)],
            "orders": [80.0 + i for i in range(14)],
            "aov": [125.0 + (i % 3) for i in range(14)],
            "conversion_rate": [0.1 + 0.002 * (i % 4) for i in range(14)],
            "complete": [False] + [True] * 12 + [False],
        }
    )
    prev = s.assign(bucket=s.bucket - pd.Timedelta(days=98), gmv=s.gmv * 0.8)
    keys = ["gmv", "orders", "aov", "conversion_rate"]
    return charts.trend(s, prev, keys, "week", pd.Timestamp("2025-12-31"))


def _tick_texts(fig) -> list[str]:
    fig.canvas.draw()
    return [t.get_text() for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels()]


def test_trend_ticks_are_formatted_once_per_value_and_language(monkeypatch):
    """Saving the six-panel trend asked for each money tick label ~30 times (1,480 Babel calls,
    a third of the draw); remembered per value, kind and settings, a language switch still gets
    its own labels."""
    import matplotlib.pyplot as plt

    from analysis_lib.present.charts import kpi as charts

    calls = []
    real = charts.tick
    monkeypatch.setattr(charts, "tick", lambda v, k: calls.append((v, k)) or real(v, k))
    charts._tick_label.cache_clear()
    with use(lang="en", currency="CNY"):
        fig = _trend_fig()
        fig.savefig(io.BytesIO(), format="png", bbox_inches="tight")
        en = _tick_texts(fig)
        plt.close(fig)
    assert calls and len(calls) == len(set(calls)), calls  # each (value, kind) formatted once
    with use(lang="zh", currency="CNY"):
        fig = _trend_fig()
        zh = _tick_texts(fig)
        plt.close(fig)
    assert any("月" in x for x in zh) and not any("月" in x for x in en)
    assert "Oct" in en and "10月" in zh, (en, zh)


def test_the_zygote_preloads_what_single_runs_leave_to_the_notebooks():
    """run-all's zygote imports scipy, statsmodels and seaborn once for all its kernels."""
    code = f"""
from analysis_lib.run.kernel import HEAVY, preload
preload(heavy=True)
{LOADED}
"""
    assert {"scipy", "seaborn", "statsmodels"} <= set(_loaded(_fresh(code)))


def test_the_catalog_reads_the_same_with_libyaml():
    """The word catalog is parsed by libyaml where PyYAML has it (0.6 s less per run): the same
    entries as the pure-Python safe loader gives."""
    import yaml

    from analysis_lib.present import words

    slow = {}
    folder = ROOT / "analysis_lib" / "present" / "catalog"
    for f in sorted(folder.glob("*.yaml")):
        slow[f.name] = yaml.safe_load(f.read_text(encoding="utf-8"))
    fast = {
        f.name: yaml.load(f.read_text(encoding="utf-8"), Loader=words._SAFE)  # noqa: S506
        for f in sorted(folder.glob("*.yaml"))
    }
    assert fast == slow
    assert words._SAFE is getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def test_a_lazy_module_is_imported_at_its_first_use():
    code = f"""
from analysis_lib.core.lazy import lazy
stats = lazy("scipy.stats")
{LOADED}
assert abs(stats.norm.cdf(0) - 0.5) < 1e-12
{LOADED}
"""
    out = _fresh(code)
    first, then = [
        json.loads(x.removeprefix("LOADED=")) for x in out.splitlines() if "LOADED=" in x
    ]
    assert first == [] and then == ["scipy"]


def test_shared_charts_format_each_set_of_ticks_once(monkeypatch):
    """The shared value and date axes (charts.base) format a set of ticks once per language and
    currency, however often a figure's layout, tight crop and draw ask for it."""
    import matplotlib.pyplot as plt

    from analysis_lib.present.charts import base

    calls = []
    real = base.TickFormatter.__call__
    monkeypatch.setattr(
        base.TickFormatter,
        "__call__",
        lambda self, x, pos=None: calls.append((id(self), float(x))) or real(self, x, pos),
    )
    s = pd.DataFrame({"bucket": pd.date_range("2025-01-06", periods=30, freq="W-MON")})
    s["gmv"] = [1e4 + 500 * (i % 7) for i in range(30)]
    s["orders"] = [80 + i for i in range(30)]
    with use(lang="en", currency="CNY"):
        fig = base.kpi_trend(s, ["gmv", "orders"])
        fig.savefig(io.BytesIO(), format="png", bbox_inches="tight")
        en = _tick_texts(fig)
        plt.close(fig)
    assert calls and len(calls) <= 2 * len(set(calls)), (len(calls), len(set(calls)))
    with use(lang="zh", currency="CNY"):
        fig = base.kpi_trend(s, ["gmv", "orders"])
        zh = _tick_texts(fig)
        plt.close(fig)
    assert "Jul" in en and "7月" in zh, (en, zh)


def test_the_preload_imports_the_duckdb_sql_compiler_only_and_others_on_demand():
    """Ibis's DuckDB backend imported every SQL compiler Ibis has (twenty, with seventeen sqlglot
    dialects) on every cold run; after the preload only DuckDB's is loaded, another dialect's
    compiler comes at its first use, and the SQL a query compiles to is the same as with Ibis's
    own eager package."""
    from analysis_lib.run.kernel import PRELOAD

    query = """
import ibis
t = ibis.table({"a": "int64", "b": "string"}, name="t")
expr = t.filter(t.b.isin(["x", "y"])).group_by("b").aggregate(n=t.a.nunique())
con = ibis.duckdb.connect()
print("DUCKDB=" + json.dumps(str(con.compile(expr))))
"""
    code = f"""
import json, sys
{PRELOAD}
{query}
def loaded():
    return sorted(m.rsplit(".", 1)[1] for m in sys.modules
                  if m.startswith("ibis.backends.sql.compilers."))
print("BEFORE=" + json.dumps(loaded()))
print("DIALECTS=" + json.dumps(sorted(m for m in sys.modules if m.startswith("sqlglot.dialects."))))
print("PG=" + json.dumps(str(ibis.to_sql(expr, dialect="postgres"))))
from ibis.backends.sql.compilers import SQLiteCompiler
import ibis.backends.sql.compilers as sc
print("MORE=" + json.dumps([type(sc.trino.compiler).__name__, SQLiteCompiler.__name__]))
print("AFTER=" + json.dumps(loaded()))
"""
    eager = f"""
import json
import ibis.backends.sql.compilers
{query}
import ibis.backends.sql.compilers as sc
print("PG=" + json.dumps(str(ibis.to_sql(expr, dialect="postgres"))))
print("N=" + json.dumps(len(sc.__all__)))
"""

    def values(out: str) -> dict:
        return {
            k: json.loads(v)
            for k, _, v in (x.partition("=") for x in out.splitlines())
            if k.isupper()
        }

    got, want = values(_fresh(code)), values(_fresh(eager))
    assert got["BEFORE"] == ["_compat", "base", "duckdb"], got["BEFORE"]
    assert got["DIALECTS"] == ["sqlglot.dialects.dialect", "sqlglot.dialects.duckdb"]
    assert got["DUCKDB"] == want["DUCKDB"] and got["PG"] == want["PG"]
    assert got["MORE"] == ["TrinoCompiler", "SQLiteCompiler"]
    assert {"postgres", "sqlite", "trino"} <= set(got["AFTER"])
    assert want["N"] >= 20  # what the eager package imports


def test_the_kpi_monitor_sends_one_statement_per_table_period():
    """The KPI monitor's figures on the four-order shop: the totals of a period in one statement
    (orders, new buyers and UV together), the series in one, the first days of both tables in
    one, the campaigns read once, GMV by a dimension in the period and its base in one: 10
    statements where 23 were sent, the same figures (tests/test_kpi.py)."""
    from analysis_lib.analyses import kpi
    from analysis_lib.core import data as D

    src = D.connect(str(TINY_SHOP))
    start, end = pd.Timestamp("2025-10-01").date(), pd.Timestamp("2025-10-31").date()
    n0 = src.queries
    kpi.kpi_totals(src, start, end)
    assert src.queries - n0 == 1
    n0 = src.queries
    r = kpi.monitor(src, start, end, "week", end)
    # totals x3 (period, previous, last year), first days, campaigns, series, GMV by channel and
    # device against the previous period and against last year
    assert len(r.breakdowns) == 2 and len(r.breakdowns_yoy) == 2 and r.previous_series is None
    assert src.queries - n0 == 3 + 1 + 1 + 1 + 2 + 2
