"""Benchmark: the 5-step funnel by device (page_view > product_view > add_to_cart > checkout >
purchase, Q4 2025, the default semantics: entry any, ordered, 7-day window).

    python benchmarks/funnel.py --data data/m [--json] [--repeat 5] [--compare-old]

Question ``funnel``: four sides on the same Parquet files in one process, each the median of
``--repeat`` calls after one untimed warm-up, the sides taking turns so that all see the same
load (the engine's memo and tables released, untimed, before each call, as at the start of a run;
without ``--json`` the CPU seconds of each side too, steadier than wall time on a shared machine):

- engine: ``analyses.funnel.counts(src, spec, start, end, "device")``, as the report calls it;
- limit: the best hand-written DuckDB SQL for the same figures (``benchmarks/sql/funnel.sql``);
- polars: idiomatic Polars: every entry's greedy chain by one ``join_asof`` per step, then per
  unit the furthest, earliest chain;
- pandas: the same with ``merge_asof``.

``same_figures``: whether all four give the same counts. With ``--compare-old``, one more line per
mode (question ``funnel_modes``: ``mode``, ``engine_s``, ``old_s``, ``ratio`` = engine / old, in
wall and CPU seconds) against the walk of commit f47d4f1 (first entry only, before issue 19), and
the every-entry conversion trend (``entry_trend``) against it; new and old alternate so that both
see the same load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import ibis.expr.types as ir
import pandas as pd
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    add_args,
    emit,
    machine_load,
    peak_rss_mb,
    read_sql,
    reset_peak,
)

from analysis_lib.analyses import funnel as F  # noqa: E402
from analysis_lib.core import data  # noqa: E402

STEPS = ("page_view", "product_view", "add_to_cart", "checkout", "purchase")
START, END = dt.date(2025, 10, 1), dt.date(2025, 12, 31)
BY = "device"
WINDOW = pd.Timedelta(days=7)
WIN_US = 7 * 86400 * 1_000_000


def bounds() -> tuple[pd.Timestamp, pd.Timestamp]:
    return pd.Timestamp(START), pd.Timestamp(END) + pd.Timedelta(days=1)


def fresh(src: data.DataSource) -> None:
    """Forget the engine's tables of the previous call (a run walks once; each repeat starts
    afresh): untimed, as a run starts with none to drop (dropping them took 0.2 s of the call)."""
    for t in list(src.memo.values()):
        if isinstance(t, ir.CachedTable):
            t.release()
    src.memo.clear()
    gc.collect()  # a table only dropped when collected could be found again by Ibis's cache


def engine_funnel(src: data.DataSource, spec: F.FunnelSpec | None = None) -> pd.DataFrame:
    return F.counts(src, spec or F.FunnelSpec(STEPS), START, END, BY)


def limit_funnel(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    lo, hi = bounds()
    params = {"lo": lo, "hi": hi, "hi_win": hi + WINDOW, "win": WIN_US}
    return con.execute(read_sql("funnel"), params).df().set_index("bd")


def polars_funnel(folder: Path) -> pd.DataFrame:
    lo, hi = bounds()
    ev = (
        pl.scan_parquet(folder / "events" / "*.parquet")
        .select("user_id", "event_ts", "event", BY)
        .filter(
            (pl.col("event_ts") >= lo)
            & (pl.col("event_ts") <= hi + WINDOW)
            & pl.col("event").is_in(STEPS)
            & pl.col("user_id").is_not_null()
        )
        .with_columns(t=pl.col("event_ts").dt.epoch("us"))
        .collect()
    )
    cur = ev.filter((pl.col("event") == STEPS[0]) & (pl.col("event_ts") < hi)).select(
        "user_id", BY, t1="t"
    )
    for i, step in enumerate(STEPS[1:], start=2):
        st = ev.filter(pl.col("event") == step).select("user_id", pl.col("t").alias(f"t{i}"))
        has = cur.filter(pl.col(f"t{i - 1}").is_not_null()).sort(f"t{i - 1}")
        joined = has.join_asof(
            st.sort(f"t{i}"),
            left_on=f"t{i - 1}",
            right_on=f"t{i}",
            by="user_id",
            strategy="forward",
            check_sortedness=False,  # sorted on the key; Polars cannot check it within groups
        )
        rest = cur.filter(pl.col(f"t{i - 1}").is_null())
        cur = pl.concat([joined, rest.with_columns(pl.lit(None, pl.Int64).alias(f"t{i}"))])
    reach = pl.lit(1)
    for i in range(2, len(STEPS) + 1):
        reach = reach + (pl.col(f"t{i}") <= pl.col("t1") + WIN_US).fill_null(False).cast(pl.Int32)
    best = (
        cur.with_columns(R=reach)
        .sort(["R", "t1", BY], descending=[True, False, False], nulls_last=True)
        .group_by("user_id")
        .first()
    )
    out = best.group_by(pl.col(BY).fill_null("(none)").alias("bd")).agg(
        **{s: (pl.col("R") >= i + 1).sum() for i, s in enumerate(STEPS)}
    )
    return out.to_pandas().set_index("bd").sort_index()


def pandas_funnel(folder: Path) -> pd.DataFrame:
    lo, hi = bounds()
    flt = [("event_ts", ">=", lo), ("event_ts", "<=", hi + WINDOW)]
    e = pd.read_parquet(
        folder / "events", columns=["user_id", "event_ts", "event", BY], filters=flt
    )
    e = e[e.event.isin(STEPS) & e.user_id.notna()]
    e["t"] = e.event_ts.astype("datetime64[us]").astype("int64")
    cur = e.loc[(e.event == STEPS[0]) & (e.event_ts < hi), ["user_id", BY, "t"]]
    cur = cur.rename(columns={"t": "t1"})
    for i, step in enumerate(STEPS[1:], start=2):
        st = e.loc[e.event == step, ["user_id", "t"]].rename(columns={"t": f"t{i}"})
        has = cur[cur[f"t{i - 1}"].notna()].astype({f"t{i - 1}": "int64"})
        joined = pd.merge_asof(
            has.sort_values(f"t{i - 1}"),
            st.sort_values(f"t{i}"),
            left_on=f"t{i - 1}",
            right_on=f"t{i}",
            by="user_id",
            direction="forward",
        )
        cur = pd.concat([joined, cur[cur[f"t{i - 1}"].isna()]], ignore_index=True)
    reach = 1
    for i in range(2, len(STEPS) + 1):
        reach = reach + (cur[f"t{i}"] <= cur["t1"] + WIN_US).astype(int)
    cur["R"] = reach
    best = cur.sort_values(["R", "t1", BY], ascending=[False, True, True]).drop_duplicates(
        "user_id"
    )
    best["bd"] = best[BY].fillna("(none)")
    out = pd.DataFrame(
        {s: best.assign(x=i + 1 <= best.R).groupby("bd")["x"].sum() for i, s in enumerate(STEPS)}
    )
    return out.sort_index()


def same_counts(*frames: pd.DataFrame) -> bool:
    def norm(df: pd.DataFrame) -> pd.DataFrame:
        df = df[list(STEPS)].astype("int64")
        df.index = df.index.astype(str)
        return df.sort_index()

    base = norm(frames[0])
    return all(norm(f).equals(base) for f in frames[1:])


def limit_connection(folder: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with a view over the events' Parquet files, as the engine reads them."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"CREATE VIEW events AS SELECT * FROM read_parquet('{folder / 'events'}/*.parquet')"
    )
    return con


def run_funnel(folder: Path, repeat: int, as_json: bool) -> dict:
    src = data.connect(str(folder))
    con = limit_connection(folder)
    sides = {
        "engine": lambda: engine_funnel(src),
        "limit": lambda: limit_funnel(con),
        "polars": lambda: polars_funnel(folder),
        "pandas": lambda: pandas_funnel(folder),
    }
    before = {"engine": lambda: fresh(src)}  # untimed, before each call
    # the sides take turns (one warm-up each), so that all see the same load of the machine
    out = {}
    for name, fn in sides.items():
        before.get(name, lambda: None)()
        out[name] = fn()
    wall = {name: [] for name in sides}
    cpu = {name: [] for name in sides}
    peak = None
    for _ in range(max(1, repeat)):
        for name, fn in sides.items():
            before.get(name, lambda: None)()
            if peak is None:
                reset_peak()  # the peak while the engine side runs (its first timed call)
            w0, c0 = time.perf_counter(), time.process_time()
            out[name] = fn()
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
            if peak is None:
                peak = peak_rss_mb()
    med = {name: statistics.median(v) for name, v in wall.items()}
    if not as_json:
        cmed = {name: statistics.median(v) for name, v in cpu.items()}
        print(
            "CPU seconds (all threads): "
            + ", ".join(f"{n} {v:.2f} ({v / cmed['limit']:.2f}x limit)" for n, v in cmed.items())
        )
    return emit(
        as_json,
        "funnel",
        engine_s=med["engine"],
        peak_mib=peak,
        limit_s=med["limit"],
        polars_s=med["polars"],
        pandas_s=med["pandas"],
        same_figures=same_counts(*out.values()),
    )


OLD_COMMIT = "f47d4f1"


def old_walk():
    """The funnel module of commit f47d4f1 (one walk from each unit's first entry), imported from
    a temporary copy: the baseline of issue 20's figures."""
    root = Path(__file__).resolve().parent.parent
    text = subprocess.run(
        ["git", "show", f"{OLD_COMMIT}:analysis_lib/funnel.py"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.replace("analysis_lib.data import", "analysis_lib.core.data import")
    path = Path(tempfile.mkdtemp()) / "funnel_old.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("funnel_old", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["funnel_old"] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


# (label, entry, mode, the old walk's mode, whether the figures must equal the old walk's)
MODES = [
    ("any/ordered", "any", "ordered", "ordered", False),
    ("first/ordered", "first", "ordered", "ordered", True),
    ("any/strict", "any", "strict", "strict", False),
    ("any/any_order", "any", "any_order", "ordered", False),
    ("entry_trend", "any", "ordered", "ordered", False),
]


def run_modes(folder: Path, repeat: int, as_json: bool) -> None:
    old = old_walk()
    src, old_src = data.connect(str(folder)), data.connect(str(folder))
    for label, entry, mode, old_mode, check in MODES:
        spec = F.FunnelSpec(STEPS, entry=entry, mode=mode)
        old_spec = old.FunnelSpec(STEPS, mode=old_mode)

        def new(spec=spec, label=label):
            src.memo.clear()
            if label == "entry_trend":
                return F.entry_trend(src, spec, START, END, "day")
            return F.counts(src, spec, START, END, BY)

        def old_fn(old_spec=old_spec):
            old_src.memo.clear()
            return old.counts(old_src, old_spec, START, END, BY)

        new(), old_fn()  # warm-up
        wall, cpu = {"new": [], "old": []}, {"new": [], "old": []}
        for _ in range(repeat):
            for name, fn in (("new", new), ("old", old_fn)):
                w0, c0 = time.perf_counter(), time.process_time()
                out = fn()
                wall[name].append(time.perf_counter() - w0)
                cpu[name].append(time.process_time() - c0)
                if name == "new":
                    got = out
                else:
                    want = out
        med = {k: statistics.median(v) for k, v in wall.items()}
        cmed = {k: statistics.median(v) for k, v in cpu.items()}
        rec = {
            "question": "funnel_modes",
            "mode": label,
            "engine_s": round(med["new"], 4),
            "old_s": round(med["old"], 4),
            "ratio": round(med["new"] / med["old"], 3),
            "engine_cpu_s": round(cmed["new"], 4),
            "old_cpu_s": round(cmed["old"], 4),
            "cpu_ratio": round(cmed["new"] / cmed["old"], 3),
            "same_figures": bool(got.equals(want)) if check else None,
            "load": round(machine_load()[0], 2),
        }
        if as_json:
            print(json.dumps(rec), flush=True)
        else:
            print(
                f"{label:<14} new {rec['engine_s']:.3f} s, old {rec['old_s']:.3f} s: "
                f"{rec['ratio']:.2f}x wall, {rec['cpu_ratio']:.2f}x CPU"
                f"   same figures: {rec['same_figures']}   [load {rec['load']:.2f}]",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_args(ap)
    ap.add_argument("--compare-old", action="store_true", help=f"each mode against {OLD_COMMIT}")
    ap.add_argument("--only-modes", action="store_true", help="only the funnel_modes lines")
    a = ap.parse_args()
    folder = Path(a.data)
    if not a.only_modes:
        run_funnel(folder, a.repeat, a.json)
    if a.compare_old or a.only_modes:
        run_modes(folder, a.repeat, a.json)


if __name__ == "__main__":
    main()
