"""Benchmark: A/B analysis of 10^7 units x 3 variants x 5 metrics from Parquet.

    python benchmarks/abtest.py [--units 10000000] [--dir data/bench_ab]

Writes the unit-level Parquet once (seeded), then times the whole analysis (sufficient statistics
in DuckDB through Ibis, statistics in Python) and, for scale, the same statistics from a pandas
groupby over the table loaded in memory. Target: under 10 s for 10^7 units on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mb  # noqa: E402

from analysis_lib.analyses import abtest as A  # noqa: E402
from analysis_lib.analyses import abtest_units as U  # noqa: E402
from analysis_lib.core import data  # noqa: E402

METRICS = [
    A.MetricDef("converted", "proportion"),
    A.MetricDef("retained", "proportion"),
    A.MetricDef("revenue", "mean", winsorize=0.99, covariate="pre_revenue"),
    A.MetricDef("sessions", "mean"),
    A.MetricDef("aov", "ratio", numerator="revenue", denominator="orders"),
]


def write_units(path: Path, n: int, seed: int = 0, chunk: int = 2_000_000) -> None:
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i, lo in enumerate(range(0, n, chunk)):
        k = min(chunk, n - lo)
        variant = rng.choice(np.array(["control", "b", "c"]), k)
        lift = np.where(variant == "b", 1.02, 1.0)
        propensity = rng.gamma(1.0, 0.3, k)  # a unit's buying rate: drives pre- and in-test orders
        orders = rng.poisson(propensity * lift, k)
        revenue = orders * rng.gamma(2.0, 25.0, k)
        pre_orders = rng.poisson(propensity, k)
        t = pa.table(
            {
                "unit_id": pa.array(np.char.add("x", np.arange(lo, lo + k).astype(str))),
                "variant": pa.array(variant),
                "converted": (orders > 0).astype(np.int8),
                "retained": rng.binomial(1, 0.4, k).astype(np.int8),
                "orders": orders.astype(np.int32),
                "revenue": revenue,
                "pre_revenue": pre_orders * rng.gamma(2.0, 25.0, k),
                "sessions": rng.poisson(3.0, k).astype(np.int32),
            }
        )
        pq.write_table(t, path / f"part-{i:05d}.parquet")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=10_000_000)
    ap.add_argument("--dir", default="data/bench_ab")
    ap.add_argument("--no-pandas", action="store_true")
    a = ap.parse_args()
    folder = Path(a.dir)
    table_dir = folder / "units"
    if not table_dir.exists():
        t0 = time.perf_counter()
        write_units(table_dir, a.units)
        print(f"wrote {a.units:,} units in {time.perf_counter() - t0:.1f} s")
    cols = ["converted", "retained", "revenue", "sessions", "orders", "pre_revenue"]

    t0 = time.perf_counter()
    src = data.connect(str(folder))
    units = U.from_unit_table(src, "units", "variant", cols)
    ss = A.sufficient_stats(units, METRICS, execute=src.execute)
    t_ss = time.perf_counter() - t0
    cmp = A.to_frame(A.adjust(A.compare(ss, METRICS, "control")))
    t_all = time.perf_counter() - t0
    n = int(ss[f"{METRICS[0].name}__n"].sum())
    print(f"units: {n:,}, variants: {len(ss)}, metrics: {len(METRICS)}")
    print(f"engine sufficient statistics:  {t_ss:6.2f} s")
    print(
        f"whole analysis:                {t_all:6.2f} s   (target < 10 s)   peak RSS {peak_rss_mb():,.0f} MiB"
    )
    print(cmp[["metric", "variant", "rel_diff", "p_value_adjusted"]].to_string(index=False))
    if a.no_pandas:
        return
    t0 = time.perf_counter()
    df = pd.read_parquet(table_dir, columns=["variant", *cols])
    cap = df["revenue"].quantile(0.99)
    df["revenue_w"] = df["revenue"].clip(upper=cap)
    g = df.groupby("variant")
    agg = g.agg(
        n=("converted", "size"),
        c=("converted", "sum"),
        r=("retained", "sum"),
        rev=("revenue_w", "sum"),
        s=("sessions", "sum"),
    )
    for c in ["revenue_w", "sessions", "orders", "pre_revenue"]:
        agg[c + "_sq"] = (df[c] ** 2).groupby(df["variant"]).sum()
    agg["xy"] = (df["revenue"] * df["orders"]).groupby(df["variant"]).sum()
    agg["yc"] = (df["revenue_w"] * df["pre_revenue"]).groupby(df["variant"]).sum()
    t_pd = time.perf_counter() - t0
    print(
        f"pandas (load + groupby sums):  {t_pd:6.2f} s   ratio pandas / engine {t_pd / t_ss:.1f}x   peak RSS {peak_rss_mb():,.0f} MiB"
    )


if __name__ == "__main__":
    main()
