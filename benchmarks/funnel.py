"""Benchmark: a 5-step funnel with one breakdown on sample events, the engine (Ibis + DuckDB over
Parquet) against an idiomatic pandas implementation run in the same process.

    python benchmarks/funnel.py --data data/m            # scale m (generate with workbook sample-data --scale m)
    python benchmarks/funnel.py --data data/l --no-pandas

Both sides start from the Parquet files on disk; the pandas side reads only the columns it needs.
Prints seconds, peak memory and the ratio pandas / engine; checks both give the same counts. The
pandas side walks from each user's first page_view (``entry: first``), so that is what the engine
is compared on; ``--entry any`` times the default (every page_view may start a chain) alone.
``--compare-old`` also times the walk of commit f47d4f1 (first entry only, before issue 19) in the
same run, so that the ratio new / old holds whatever the load of the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, peak_rss_mb  # noqa: E402

from analysis_lib.analyses import funnel as F  # noqa: E402
from analysis_lib.core import data  # noqa: E402

STEPS = ("page_view", "product_view", "add_to_cart", "checkout", "purchase")


def pandas_funnel(folder: Path, start, end, by: str, window_days: float = 7) -> pd.DataFrame:
    """Idiomatic pandas: filter, first entry per user, then one merge per step."""
    lo, hi = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    # the same pushdown the engine gets: only the needed columns and row groups of the period
    flt = [("event_ts", ">=", lo), ("event_ts", "<", hi + pd.Timedelta(days=window_days))]
    e = pd.read_parquet(
        folder / "events", columns=["user_id", "event_ts", "event", by], filters=flt
    )
    e = e[
        (e.event_ts >= lo)
        & (e.event_ts < hi + pd.Timedelta(days=window_days))
        & e.event.isin(STEPS)
    ]
    s1 = e[(e.event == STEPS[0]) & (e.event_ts < hi)].sort_values(["user_id", "event_ts"])
    entry = s1.drop_duplicates("user_id")[["user_id", "event_ts", by]].rename(
        columns={"event_ts": "t1"}
    )
    cur = entry.assign(t_prev=entry.t1)
    counts = {STEPS[0]: entry.groupby(by).size()}
    for s in STEPS[1:]:
        ev = e.loc[e.event == s, ["user_id", "event_ts"]].merge(cur, on="user_id")
        ev = ev[
            (ev.event_ts >= ev.t_prev) & (ev.event_ts <= ev.t1 + pd.Timedelta(days=window_days))
        ]
        nxt = ev.groupby("user_id", as_index=False).agg(t_prev=("event_ts", "min"))
        cur = nxt.merge(entry, on="user_id")
        counts[s] = cur.groupby(by).size()
    return pd.DataFrame(counts).fillna(0).astype(int).sort_index()


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
    ).stdout
    path = Path(tempfile.mkdtemp()) / "funnel_old.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("funnel_old", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["funnel_old"] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/m")
    ap.add_argument("--start", default="2025-10-01")
    ap.add_argument("--end", default="2025-12-31")
    ap.add_argument("--by", default="device")
    ap.add_argument("--no-pandas", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--entry", choices=["first", "any"], default="first")
    ap.add_argument("--mode", choices=["ordered", "strict", "any_order"], default="ordered")
    ap.add_argument("--compare-old", action="store_true", help=f"also time the {OLD_COMMIT} walk")
    a = ap.parse_args()
    folder = Path(a.data)
    start, end = dt.date.fromisoformat(a.start), dt.date.fromisoformat(a.end)
    src = data.connect(str(folder))
    n_events = src.execute(src.table("events").count())
    print(
        f"events: {n_events:,} rows in {folder}; funnel {' > '.join(STEPS)} by {a.by}, {start} to {end}"
    )
    spec = F.FunnelSpec(STEPS, entry=a.entry, mode=a.mode)
    print(f"entry {a.entry}, mode {a.mode}")

    def engine() -> pd.DataFrame:
        src.memo.clear()  # a run computes the unit-step table once; each repeat starts afresh
        return F.counts(src, spec, start, end, a.by)

    if not a.compare_old:
        t_eng, got = best_of(engine, a.repeat)
        print(f"engine (Ibis + DuckDB):  {t_eng:8.2f} s   peak RSS {peak_rss_mb():,.0f} MiB")
    else:
        old = old_walk()
        old_src = data.connect(str(folder))
        old_spec = old.FunnelSpec(STEPS, mode="strict" if a.mode == "strict" else "ordered")

        def old_engine() -> pd.DataFrame:
            old_src.memo.clear()
            return old.counts(old_src, old_spec, start, end, a.by)

        # new and old alternate, so that both see the same load; CPU seconds (all threads of
        # this process) are steadier than wall time when other work shares the cores
        wall, cpu = {"new": [], "old": []}, {"new": [], "old": []}
        for _ in range(a.repeat):
            for name, fn in (("new", engine), ("old", old_engine)):
                w0, c0 = time.perf_counter(), time.process_time()
                out = fn()
                wall[name].append(time.perf_counter() - w0)
                cpu[name].append(time.process_time() - c0)
                if name == "new":
                    got = out
                else:
                    want_old = out
        t_eng, t_old = min(wall["new"]), min(wall["old"])
        c_eng, c_old = min(cpu["new"]), min(cpu["old"])
        same = got.equals(want_old) if a.entry == "first" and a.mode == "ordered" else "n/a"
        print(f"engine (Ibis + DuckDB):  {t_eng:8.2f} s   {c_eng:6.2f} CPU-s")
        print(f"old walk ({OLD_COMMIT}):     {t_old:8.2f} s   {c_old:6.2f} CPU-s")
        print(
            f"new / old: {t_eng / t_old:5.2f}x wall, {c_eng / c_old:5.2f}x CPU   "
            f"same counts: {same}   load {os.getloadavg()[0]:.2f}"
        )
    if a.no_pandas or (a.entry, a.mode) != ("first", "ordered"):
        print(f"counts: {got.sum().to_dict()}")
        return
    t_pd, want = best_of(lambda: pandas_funnel(folder, start, end, a.by), a.repeat)
    print(f"pandas:                  {t_pd:8.2f} s   peak RSS {peak_rss_mb():,.0f} MiB")
    same = got.equals(want.rename_axis("bd")[list(STEPS)])
    print(f"ratio pandas / engine:   {t_pd / t_eng:8.1f}x   same counts: {same}")


if __name__ == "__main__":
    main()
