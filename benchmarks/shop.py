"""Benchmark: monthly cohorts and the A/B sufficient statistics of the shop's experiment.

    python benchmarks/shop.py --data data/m [--json] [--repeat 5] [--only cohorts]

Per question, four sides on the same Parquet files in one process, each the median of
``--repeat`` calls after one untimed warm-up:

- engine: the workbook's own code, as the reports call it (``customers.cohorts``;
  ``abtest_units.from_assignments`` then ``abtest.sufficient_stats``);
- limit: the best hand-written DuckDB SQL for the same figures (``benchmarks/sql/cohorts.sql``,
  ``benchmarks/sql/ab_stats.sql``), on a connection with the same settings;
- polars: an idiomatic Polars version (lazy scan, group-bys, joins);
- pandas: an idiomatic pandas version.

``same_figures`` says whether all four agree (counts exactly, sums to 1e-9 relative).
Prints one line per question (``--json``: the JSON line of ``_common.emit``).

The engine side's repeats share one open data source, as the limit's share one connection, but
each call starts with nothing built or compiled (the source's memo and the connection's compiled
statements emptied): the cost a report pays to ask the question once, expression building and
compiling included. ``--warm`` keeps them between repeats (a second identical call sends the
statement compiled before; a report asks each statement once, so this is not what it pays);
``--cold`` opens a new source for every call (connection and schema lookups included too).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_args, emit, median_of, peak_rss_mb, read_sql, reset_peak  # noqa: E402

from analysis_lib.analyses import abtest as A  # noqa: E402
from analysis_lib.analyses import abtest_units as U  # noqa: E402
from analysis_lib.analyses import customers as C  # noqa: E402
from analysis_lib.core import data  # noqa: E402

VALID = ["paid", "refunded"]
EXPERIMENT = "EXP_CHECKOUT_2025Q3"
PRE_DAYS = 28
AB_METRICS = [
    A.MetricDef("converted", "proportion"),
    A.MetricDef("revenue", "mean", covariate="pre_revenue"),
    A.MetricDef("aov", "ratio", numerator="revenue", denominator="orders"),
]
COHORT_PERIOD = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))
AB_PERIOD = (dt.date(2025, 9, 1), dt.date(2025, 9, 28))
COHORT_COLS = ["buyers", "gmv", "buyers_in_or_after", "first_repeats"]
AB_COLS = [
    "__units",
    "converted__n",
    "converted__sy",
    "converted__syy",
    "revenue__sy",
    "revenue__sc",
    "revenue__syy",
    "revenue__scc",
    "revenue__syc",
    "aov__sy",
    "aov__sx",
    "aov__syy",
    "aov__sxx",
    "aov__sxy",
]


def bounds(period: tuple[dt.date, dt.date]) -> tuple[pd.Timestamp, pd.Timestamp]:
    return pd.Timestamp(period[0]), pd.Timestamp(period[1]) + pd.Timedelta(days=1)


# ---- cohorts ----


def engine_cohorts(src: data.DataSource) -> pd.DataFrame:
    return C.cohorts(src, *COHORT_PERIOD)


def limit_cohorts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    lo, hi = bounds(COHORT_PERIOD)
    return con.execute(read_sql("cohorts"), {"lo": lo, "hi": hi}).df()


def pandas_cohorts(folder: Path) -> pd.DataFrame:
    lo, hi = bounds(COHORT_PERIOD)
    o = pd.read_parquet(
        folder / "orders",
        columns=["user_id", "order_ts", "gmv", "status"],
        filters=[("order_ts", ">=", lo), ("order_ts", "<", hi)],
    )
    o = o[o.status.isin(VALID)]
    o["mi"] = o.order_ts.dt.year * 12 + o.order_ts.dt.month
    um = o.groupby(["user_id", "mi"], as_index=False, sort=False)["gmv"].sum()
    g = um.groupby("user_id")["mi"]
    um["c0"], um["mx"] = g.transform("min"), g.transform("max")
    um["offset"] = um["mi"] - um["c0"]
    um["last"] = um["mi"] == um["mx"]
    um["second"] = g.rank(method="first") == 2
    cell = um.groupby(["c0", "offset"]).agg(
        buyers=("gmv", "size"),
        gmv=("gmv", "sum"),
        n_last=("last", "sum"),
        first_repeats=("second", "sum"),
    )
    rev = cell["n_last"].iloc[::-1].groupby(level="c0").cumsum().iloc[::-1]
    return cell.assign(buyers_in_or_after=rev).drop(columns="n_last").reset_index()


def polars_cohorts(folder: Path) -> pd.DataFrame:
    lo, hi = bounds(COHORT_PERIOD)
    um = (
        pl.scan_parquet(folder / "orders" / "*.parquet")
        .select("user_id", "order_ts", "gmv", "status")
        .filter(
            pl.col("status").is_in(VALID) & (pl.col("order_ts") >= lo) & (pl.col("order_ts") < hi)
        )
        .with_columns(mi=pl.col("order_ts").dt.year() * 12 + pl.col("order_ts").dt.month())
        .group_by("user_id", "mi")
        .agg(g=pl.col("gmv").sum())
        .with_columns(
            c0=pl.col("mi").min().over("user_id"),
            mx=pl.col("mi").max().over("user_id"),
            rank=pl.col("mi").rank("ordinal").over("user_id"),
        )
    )
    cell = (
        um.group_by("c0", offset=pl.col("mi") - pl.col("c0"))
        .agg(
            buyers=pl.len(),
            gmv=pl.col("g").sum(),
            n_last=(pl.col("mi") == pl.col("mx")).sum(),
            first_repeats=(pl.col("rank") == 2).sum(),
        )
        .sort("c0", "offset", descending=[False, True])
        .with_columns(buyers_in_or_after=pl.col("n_last").cum_sum().over("c0"))
        .drop("n_last")
        .collect()
    )
    return cell.to_pandas()


def same_cohorts(*frames: pd.DataFrame) -> bool:
    """Every frame gives the same figures on the (cohort, offset) cells with buyers."""

    def norm(df: pd.DataFrame) -> pd.DataFrame:
        df = df[df["buyers"] > 0].astype({"c0": "int64", "offset": "int64"})
        return df.set_index(["c0", "offset"])[COHORT_COLS].astype(float).sort_index()

    base = norm(frames[0])
    return all(
        (n := norm(f)).index.equals(base.index)
        and np.allclose(n.to_numpy(), base.to_numpy(), rtol=1e-9, atol=0)
        for f in frames[1:]
    )


# ---- A/B sufficient statistics ----


def engine_ab(src: data.DataSource) -> pd.DataFrame:
    units, _ = U.from_assignments(src, EXPERIMENT, *AB_PERIOD, pre_days=PRE_DAYS)
    ss = A.sufficient_stats(units, AB_METRICS, execute=src.execute)
    ss.attrs["mixed"] = ss.attrs["units_in_several_variants"]
    return ss


def limit_ab(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    lo, hi = bounds(AB_PERIOD)
    params = {"experiment": EXPERIMENT, "lo": lo, "hi": hi, "pre_days": PRE_DAYS}
    df = con.execute(read_sql("ab_stats"), params).df()
    df.attrs["mixed"] = int(df.pop("units_in_several_variants").sum())
    return df[df["__units"] > 0]


def _unit_sums(units: pd.DataFrame) -> pd.DataFrame:
    """Per variant, the sums of the engine's columns from per-unit x (orders), y (revenue),
    c (pre_revenue) -- pandas."""
    x, y, c = units["x"], units["y"], units["c"]
    conv = (x > 0).astype("int64")
    cols = {
        "__units": 1,
        "converted__n": 1,
        "converted__sy": conv,
        "converted__syy": conv,
        "revenue__sy": y,
        "revenue__sc": c,
        "revenue__syy": y * y,
        "revenue__scc": c * c,
        "revenue__syc": y * c,
        "aov__sy": y,
        "aov__sx": x,
        "aov__syy": y * y,
        "aov__sxx": x * x,
        "aov__sxy": x * y,
    }
    return pd.DataFrame(cols, index=units.index).groupby(units["variant"]).sum().reset_index()


def pandas_ab(folder: Path) -> pd.DataFrame:
    lo, hi = bounds(AB_PERIOD)
    pre = pd.Timedelta(days=PRE_DAYS)
    a = pd.read_parquet(
        folder / "assignments",
        columns=["experiment_id", "unit_id", "variant", "assigned_ts"],
        filters=[("experiment_id", "==", EXPERIMENT)],
    )
    a = a[(a.assigned_ts >= lo) & (a.assigned_ts < hi)]
    u = a.groupby("unit_id").agg(
        variant=("variant", "min"), nv=("variant", "nunique"), ts=("assigned_ts", "min")
    )
    mixed = int((u.nv > 1).sum())
    u = u[u.nv == 1].drop(columns="nv")
    o = pd.read_parquet(
        folder / "orders",
        columns=["user_id", "order_ts", "gmv", "status"],
        filters=[("order_ts", ">=", lo - pre), ("order_ts", "<", hi)],
    )
    o = o[o.status.isin(VALID)]
    j = u.join(o.set_index("user_id"), how="inner")
    j = j[j.order_ts >= j.ts - pre]
    win = j.order_ts >= j.ts
    per = pd.DataFrame(
        {"x": win.astype("int64"), "y": j.gmv.where(win, 0.0), "c": j.gmv.where(~win, 0.0)}
    )
    per = per.groupby(level=0).sum()
    units = u.join(per).fillna({"x": 0, "y": 0.0, "c": 0.0})
    df = _unit_sums(units)
    df.attrs["mixed"] = mixed
    return df


def polars_ab(folder: Path) -> pd.DataFrame:
    lo, hi = bounds(AB_PERIOD)
    pre = dt.timedelta(days=PRE_DAYS)
    a = (
        pl.scan_parquet(folder / "assignments" / "*.parquet")
        .filter(
            (pl.col("experiment_id") == EXPERIMENT)
            & (pl.col("assigned_ts") >= lo)
            & (pl.col("assigned_ts") < hi)
        )
        .group_by("unit_id")
        .agg(
            variant=pl.col("variant").min(),
            nv=pl.col("variant").n_unique(),
            ts=pl.col("assigned_ts").min(),
        )
    )
    u = a.filter(pl.col("nv") == 1)
    o = pl.scan_parquet(folder / "orders" / "*.parquet").filter(
        pl.col("status").is_in(VALID) & (pl.col("order_ts") >= lo - pre) & (pl.col("order_ts") < hi)
    )
    win = pl.col("order_ts") >= pl.col("ts")
    per = (
        u.join(o.select("user_id", "order_ts", "gmv"), left_on="unit_id", right_on="user_id")
        .filter(pl.col("order_ts") >= pl.col("ts") - pre)
        .group_by("unit_id")
        .agg(
            x=win.sum().cast(pl.Int64),
            y=pl.when(win).then(pl.col("gmv")).otherwise(0.0).sum(),
            c=pl.when(~win).then(pl.col("gmv")).otherwise(0.0).sum(),
        )
    )
    x, y, c = pl.col("x"), pl.col("y"), pl.col("c")
    conv = (x > 0).cast(pl.Int64)
    stats, mixed = pl.collect_all(
        [
            u.join(per, on="unit_id", how="left")
            .with_columns(x.fill_null(0), y.fill_null(0.0), c.fill_null(0.0))
            .group_by("variant")
            .agg(
                __units=pl.len(),
                converted__n=pl.len(),
                converted__sy=conv.sum(),
                converted__syy=conv.sum(),
                revenue__sy=y.sum(),
                revenue__sc=c.sum(),
                revenue__syy=(y * y).sum(),
                revenue__scc=(c * c).sum(),
                revenue__syc=(y * c).sum(),
                aov__sy=y.sum(),
                aov__sx=x.sum(),
                aov__syy=(y * y).sum(),
                aov__sxx=(x * x).sum(),
                aov__sxy=(x * y).sum(),
            ),
            a.select((pl.col("nv") > 1).sum().alias("mixed")),
        ]
    )
    df = stats.to_pandas()
    df.attrs["mixed"] = int(mixed["mixed"][0])
    return df


def same_ab(*frames: pd.DataFrame) -> bool:
    def norm(df: pd.DataFrame) -> pd.DataFrame:
        return df.set_index("variant")[AB_COLS].astype(float).sort_index()

    base = norm(frames[0])
    return all(
        (n := norm(f)).index.equals(base.index)
        and np.allclose(n.to_numpy(), base.to_numpy(), rtol=1e-9, atol=0)
        and f.attrs.get("mixed") == frames[0].attrs.get("mixed")
        for f in frames[1:]
    )


# ---- the run ----


def limit_connection(folder: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with views over the Parquet folders, as the engine reads them."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in ("orders", "assignments"):
        path = folder / name
        glob = path / "*.parquet" if path.is_dir() else path.with_suffix(".parquet")
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{glob}')")
    return con


QUESTIONS = {
    "cohorts": (engine_cohorts, limit_cohorts, polars_cohorts, pandas_cohorts, same_cohorts),
    "ab_stats": (engine_ab, limit_ab, polars_ab, pandas_ab, same_ab),
}


def fresh(src: data.DataSource) -> data.DataSource:
    """``src`` with nothing built or compiled: its memo and its connection's kept SQL emptied."""
    src.memo.clear()
    kept = getattr(getattr(src.con, "compile", None), "memo", None)
    if kept is not None:
        kept.clear()
    return src


def run(
    question: str, folder: Path, repeat: int, as_json: bool, cold: bool = False, warm: bool = False
) -> dict:
    engine, limit, polars_side, pandas_side, same = QUESTIONS[question]
    src = data.connect(str(folder))
    con = limit_connection(folder)
    reset_peak()
    if cold:  # a new source per call: nothing built or compiled before
        engine_s, got = median_of(lambda: engine(data.connect(str(folder))), repeat)
    elif warm:  # built and compiled once, sent again
        engine_s, got = median_of(lambda: engine(src), repeat)
    else:
        engine_s, got = median_of(lambda: engine(fresh(src)), repeat)
    peak = peak_rss_mb()
    limit_s, lim = median_of(lambda: limit(con), repeat)
    polars_s, pol = median_of(lambda: polars_side(folder), repeat)
    pandas_s, pan = median_of(lambda: pandas_side(folder), repeat)
    return emit(
        as_json,
        question,
        engine_s=engine_s,
        peak_mib=peak,
        limit_s=limit_s,
        polars_s=polars_s,
        pandas_s=pandas_s,
        same_figures=bool(same(got, lim, pol, pan)),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_args(ap)
    ap.add_argument("--only", choices=sorted(QUESTIONS), action="append")
    ap.add_argument(
        "--cold", action="store_true", help="a new data source for every call of the engine side"
    )
    ap.add_argument(
        "--warm",
        action="store_true",
        help="keep the engine's built expressions and compiled SQL between repeats",
    )
    a = ap.parse_args()
    for q in a.only or list(QUESTIONS):
        run(q, Path(a.data), a.repeat, a.json, a.cold, a.warm)


if __name__ == "__main__":
    main()
