"""Benchmark: monthly cohort retention and the A/B sufficient statistics of the shop's experiment,
as the notebooks compute them (``customers.cohorts``; ``abtest_units.from_assignments`` then
``abtest.sufficient_stats``), against idiomatic pandas on the same Parquet files, same process.

    python benchmarks/shop.py --data data/m
    python benchmarks/shop.py --data data/l

Both sides read only the columns they need, with the same row-group filters. Prints seconds,
the ratio pandas / engine, and checks both sides give the same numbers. The engine side runs
first (pandas would otherwise warm the OS page cache for it) and each side is best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, peak_rss_mb  # noqa: E402

from analysis_lib.analyses import abtest as A  # noqa: E402
from analysis_lib.analyses import abtest_units as U  # noqa: E402
from analysis_lib.analyses import customers as C  # noqa: E402
from analysis_lib.core import data  # noqa: E402

VALID = ["paid", "refunded"]
EXPERIMENT = "EXP_CHECKOUT_2025Q3"
AB_METRICS = [
    A.MetricDef("converted", "proportion"),
    A.MetricDef("revenue", "mean", covariate="pre_revenue"),
    A.MetricDef("aov", "ratio", numerator="revenue", denominator="orders"),
]


def pandas_cohorts(folder: Path, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Per first-order month and month offset: buyers, GMV, buyers in that month or later."""
    lo, hi = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    o = pd.read_parquet(
        folder / "orders",
        columns=["user_id", "order_ts", "gmv", "status"],
        filters=[("order_ts", ">=", lo), ("order_ts", "<", hi)],
    )
    o = o[o.status.isin(VALID)]
    o["mi"] = o.order_ts.dt.year * 12 + o.order_ts.dt.month
    o["c0"] = o.groupby("user_id")["mi"].transform("min")
    o["offset"] = o["mi"] - o["c0"]
    per = o.groupby(["c0", "offset"]).agg(buyers=("user_id", "nunique"), gmv=("gmv", "sum"))
    last = o.groupby("user_id").agg(c0=("c0", "first"), last=("offset", "max"))
    n_last = last.groupby(["c0", "last"]).size()
    rows = []
    for c0, g in n_last.groupby(level=0):
        counts = g.droplevel(0)
        tail = counts.reindex(range(int(counts.index.max()) + 1), fill_value=0)[::-1].cumsum()[::-1]
        rows += [(c0, off, n) for off, n in tail.items()]
    ia = pd.DataFrame(rows, columns=["c0", "offset", "buyers_in_or_after"])
    return per.reset_index().merge(ia, on=["c0", "offset"], how="outer").fillna(0)


def pandas_ab(folder: Path, start: dt.date, end: dt.date, pre_days: int = 28) -> pd.DataFrame:
    """Per-unit metrics of the experiment over each unit's exposure window, then per-variant sums,
    sums of squares and cross products."""
    lo, hi = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    a = pd.read_parquet(
        folder / "assignments",
        columns=["experiment_id", "unit_id", "variant", "assigned_ts"],
        filters=[("experiment_id", "==", EXPERIMENT)],
    )
    a = a[(a.assigned_ts >= lo) & (a.assigned_ts < hi)]
    u = a.groupby("unit_id").agg(
        variant=("variant", "min"), nv=("variant", "nunique"), assigned_ts=("assigned_ts", "min")
    )
    u = u[u.nv == 1].drop(columns="nv").reset_index()
    o = pd.read_parquet(
        folder / "orders",
        columns=["user_id", "order_ts", "gmv", "status"],
        filters=[("order_ts", ">=", lo - pd.Timedelta(days=pre_days)), ("order_ts", "<", hi)],
    )
    o = o[o.status.isin(VALID)]
    j = u.merge(o, left_on="unit_id", right_on="user_id", how="inner")
    j = j[j.order_ts >= j.assigned_ts - pd.Timedelta(days=pre_days)]
    in_win = j.order_ts >= j.assigned_ts
    j = j.assign(
        orders=in_win.astype(int),
        revenue=np.where(in_win, j.gmv, 0.0),
        pre_revenue=np.where(~in_win, j.gmv, 0.0),
    )
    per = j.groupby("unit_id")[["orders", "revenue", "pre_revenue"]].sum()
    units = (
        u.set_index("unit_id").join(per).fillna({"orders": 0, "revenue": 0.0, "pre_revenue": 0.0})
    )
    units["converted"] = (units.orders > 0).astype(int)
    y, x, c = units.revenue, units.orders, units.pre_revenue
    units = units.assign(yy=y * y, xx=x * x, xy=x * y, cc=c * c, yc=y * c, cv2=units.converted**2)
    g = units.groupby("variant")
    out = pd.DataFrame(
        {
            "converted__n": g.size(),
            "converted__sy": g.converted.sum(),
            "revenue__sy": g.revenue.sum(),
            "revenue__syy": g.yy.sum(),
            "revenue__syc": g.yc.sum(),
            "aov__sx": g.orders.sum(),
            "aov__sxy": g.xy.sum(),
        }
    )
    return out.reset_index()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/m")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    folder = Path(a.data)
    src = data.connect(str(folder))
    n_ev = src.execute(src.table("events").count())
    n_or = src.execute(src.table("orders").count())
    n_as = src.execute(src.table("assignments").count())
    print(f"{folder}: {n_ev:,} events, {n_or:,} orders, {n_as:,} assignments")

    start, end = dt.date(2024, 1, 1), dt.date(2025, 12, 31)
    t_e, got = best_of(lambda: C.cohorts(src, start, end), a.repeat)
    t_p, want = best_of(lambda: pandas_cohorts(folder, start, end), a.repeat)
    g = got.set_index(["c0", "offset"])[["buyers", "gmv", "buyers_in_or_after"]].sort_index()
    w = want.set_index(["c0", "offset"])[["buyers", "gmv", "buyers_in_or_after"]].sort_index()
    same = g.index.equals(w.index) and np.allclose(g.to_numpy(float), w.to_numpy(float))
    print(
        f"monthly cohorts, 24 months: engine {t_e:6.2f} s, pandas {t_p:6.2f} s, "
        f"ratio {t_p / t_e:5.1f}x, same figures: {same}   (peak RSS {peak_rss_mb():,.0f} MiB)"
    )

    ab_start, ab_end = dt.date(2025, 9, 1), dt.date(2025, 9, 28)

    def engine_ab() -> pd.DataFrame:
        units, _ = U.from_assignments(src, EXPERIMENT, ab_start, ab_end)
        return A.sufficient_stats(units, AB_METRICS, execute=src.execute)

    t_e, ss = best_of(engine_ab, a.repeat)
    t_p, pss = best_of(lambda: pandas_ab(folder, ab_start, ab_end), a.repeat)
    cols = [c for c in pss.columns if c != "variant"]
    same = np.allclose(ss.sort_values("variant")[cols].to_numpy(float), pss[cols].to_numpy(float))
    units = int(ss["converted__n"].sum())
    print(
        f"A/B sufficient statistics ({units:,} units x 3 metrics): engine {t_e:6.2f} s, "
        f"pandas {t_p:6.2f} s, ratio {t_p / t_e:5.1f}x, same figures: {same}   "
        f"(peak RSS {peak_rss_mb():,.0f} MiB)"
    )


if __name__ == "__main__":
    main()
