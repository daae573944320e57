"""The funnel walk against a plain-Python reference of its stated semantics (every mode, entry and
exclusion) on random logs with ties and daylight-saving changes; the three defects of issue 19
(DST, ties, rounding) on hand-built logs."""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pandas as pd
import pytest

from analysis_lib.analyses import funnel as F
from analysis_lib.core import data
from tests.funnel_reference import reference

STEPS = ("page_view", "product_view", "add_to_cart", "checkout")
ZONE = "Europe/Paris"
# periods around a change of clocks: spring forward (30 March), fall back (26 October)
PERIODS = {
    1: (dt.date(2025, 3, 26), dt.date(2025, 4, 1)),
    2: (dt.date(2025, 3, 28), dt.date(2025, 3, 30)),
    3: (dt.date(2025, 10, 22), dt.date(2025, 10, 28)),
}


def random_log(seed: int) -> pd.DataFrame:
    """Events of 80 users from 3 days before the period to 6 days after it: steps, other events
    and exclusions; half of them on four-hourly instants, so that many share an instant with another event
    of the same user; some without a session."""
    rng = np.random.default_rng(seed)
    start, end = PERIODS[seed]
    t0 = pd.Timestamp(start, tz=ZONE).tz_convert("UTC") - pd.Timedelta(days=3)
    span = ((end - start).days + 10) * 86400
    n = 1600
    users = rng.integers(0, 80, n)
    secs = rng.integers(0, span, n)
    on_hour = rng.random(n) < 0.5
    secs = np.where(on_hour, secs // 14400 * 14400, secs)
    names = [*STEPS, "search", "remove_from_cart"]
    event = rng.choice(names, n, p=[0.3, 0.25, 0.18, 0.12, 0.1, 0.05])
    at = t0 + pd.to_timedelta(secs, unit="s")
    return pd.DataFrame(
        {
            "event_ts": at.tz_convert(ZONE),
            "user_id": [f"u{u:03d}" for u in users],
            "event": event,
            "session_id": [
                None if rng.random() < 0.05 else f"u{u:03d}-{s // 172800}"
                for u, s in zip(users, secs, strict=True)
            ],
            "channel": rng.choice(["ads", "organic", "social"], n),
        }
    )


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    out = {}
    for seed in PERIODS:
        folder = tmp_path_factory.mktemp(f"log{seed}")
        ev = random_log(seed)
        ev.to_parquet(folder / "events.parquet")
        out[seed] = (folder, ev)
    return out


def ref_frame(ev: pd.DataFrame, unit_col: str) -> pd.DataFrame:
    """The log as the reference reads it: unit, event, UTC instant in microseconds, wall clock."""
    e = ev[ev[unit_col].notna()]
    utc = e.event_ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return pd.DataFrame(
        {
            "unit": e[unit_col].to_numpy(),
            "event": e.event.to_numpy(),
            "inst": ((utc - pd.Timestamp("1970-01-01")) // pd.Timedelta(microseconds=1)).to_numpy(),
            "wall": e.event_ts.dt.tz_localize(None).to_numpy(),
            "channel": e.channel.to_numpy(),
        }
    )


X = "remove_from_cart"
CASES = [
    dict(mode="ordered", entry="any"),
    dict(mode="ordered", entry="first"),
    dict(mode="strict", entry="any"),
    dict(mode="strict", entry="first"),
    dict(mode="any_order", entry="any"),
    dict(mode="any_order", entry="first", unit="session"),
    dict(mode="ordered", entry="any", exclusions=(X,)),
    dict(mode="ordered", entry="any", exclusions=(F.Exclusion(X, 1, 2),), unit="session"),
    dict(mode="ordered", entry="first", exclusions=(F.Exclusion(X, 0, 1),)),
    dict(mode="strict", entry="any", exclusions=(X,)),
    dict(mode="any_order", entry="any", exclusions=(F.Exclusion(X, 0, 2),)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(str(v) for v in c.values()))
@pytest.mark.parametrize("seed", sorted(PERIODS))
def test_random_logs_match_a_reference(logs, seed, case):
    """Steps reached and the entry of each counted unit, per-channel counts (entry value), and the
    every-entry trend by day equal the reference's, in a zone with a change of clocks."""
    folder, ev = logs[seed]
    spec = F.FunnelSpec(STEPS, window=parse("36h"), **case)
    start, end = PERIODS[seed]
    lo, hi = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    want, days = reference(ref_frame(ev, spec.unit_col), spec, lo, hi)
    src = data.connect(str(folder), ZONE)
    us = src.execute(F.unit_steps(src, spec, start, end).select("unit", "steps_reached", "at1"))
    got = {u: (r, a) for u, r, a in zip(us.unit, us.steps_reached, us.at1, strict=True)}
    assert got == {u: (r, a) for u, (r, a, _) in want.items()}
    assert max(r for r, _ in got.values()) >= 3  # the log exercises more than the first steps
    by = F.counts(src, spec, start, end, "channel")
    ref = pd.DataFrame([(c, r) for r, _, c in want.values()], columns=["channel", "reached"])
    for i, s in enumerate(STEPS):
        expect = ref[ref.reached >= i + 1].groupby("channel").size()
        assert by[s].to_dict() == expect.reindex(by.index, fill_value=0).to_dict()
    tr = F.entry_trend(src, spec, start, end, "day")
    assert tr.entered.tolist() == [
        sum(1 for (_, d) in days if d == b) for b in pd.to_datetime(tr.bucket)
    ]
    assert tr.converted.sum() == sum(1 for r in days.values() if r == len(STEPS))
    # a breakdown asked for first or after another gives the same counts
    fresh = data.connect(str(folder), ZONE)
    pd.testing.assert_frame_equal(
        F.counts(fresh, spec, start, end, "new_vs_returning"),
        F.counts(src, spec, start, end, "new_vs_returning"),
    )


def parse(w):
    return F.parse_window(w)


@pytest.mark.parametrize("case", CASES[:4], ids=lambda c: "-".join(c.values()))
def test_breakdown_read_with_the_walk_equals_one_joined_after(logs, case):
    """A breakdown asked for before the walk rides along with the walk's events; asked for after
    it, it is read from the events again: the same counts, the reference's (entry value, the
    smallest where several step-1 events share the entry's instant)."""
    folder, ev = logs[1]
    spec = F.FunnelSpec(STEPS, window=parse("36h"), **case)
    start, end = PERIODS[1]
    lo, hi = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    want, _ = reference(ref_frame(ev, spec.unit_col), spec, lo, hi)
    ref = pd.DataFrame([(c, r) for r, _, c in want.values()], columns=["channel", "reached"])
    along = data.connect(str(folder), ZONE)
    first = F.counts(along, spec, start, end, "channel")
    assert F._carried(along, spec, start, end) == "channel"
    after = data.connect(str(folder), ZONE)
    F.unit_steps(after, spec, start, end)
    assert F._carried(after, spec, start, end) is None
    pd.testing.assert_frame_equal(first, F.counts(after, spec, start, end, "channel"))
    for i, s in enumerate(STEPS):
        expect = ref[ref.reached >= i + 1].groupby("channel").size()
        assert first[s].to_dict() == expect.reindex(first.index, fill_value=0).to_dict()


@pytest.mark.parametrize("entry", ["any", "first"])
@pytest.mark.parametrize("unit", ["user", "session"])
@pytest.mark.parametrize("seed", sorted(PERIODS))
def test_ordered_step_times_match_the_reference(logs, seed, unit, entry):
    """Ordered mode without exclusions reads the counted chain straight from the events (not
    from a table of every chain): each step's instant is the reference's chain from the counted
    entry, and every column (entry wall clock included) equals the every-chain walk's."""
    from tests.funnel_reference import _ordered

    folder, ev = logs[seed]
    spec = F.FunnelSpec(STEPS, window=parse("36h"), entry=entry, unit=unit)
    start, end = PERIODS[seed]
    lo, hi = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    ref = ref_frame(ev, spec.unit_col)
    want, _ = reference(ref, spec, lo, hi)
    src = data.connect(str(folder), ZONE)
    us = src.execute(F.unit_steps(src, spec, start, end)).set_index("unit").sort_index()
    k = len(STEPS)
    assert sorted(us.index) == sorted(want)
    for u, g in ref.groupby("unit"):
        if u not in want:
            continue
        steps_at = {c: sorted(g.inst[g.event == s]) for c, s in enumerate(STEPS)}
        (times,) = _ordered(steps_at, want[u][1], k, spec.window_us)
        got = [us.loc[u, f"at{i + 1}"] for i in range(k)]
        assert [int(t) for t in got if pd.notna(t)] == list(times), u
        assert all(pd.isna(t) for t in got[len(times) :]), u
    # the every-chain walk (candidates, then choose) gives the same table
    walk = F._choose(src, spec, start, end, F.chains(src, spec, start, end), ["unit"])
    old = src.execute(walk.select(*us.reset_index().columns[:-1], steps_reached=walk.reach))
    pd.testing.assert_frame_equal(
        us.reset_index()[old.columns], old.sort_values("unit").reset_index(drop=True)
    )


def test_the_random_logs_have_ties_and_a_clock_change(logs):
    """The logs exercise what they are meant to: events of one unit at one instant, a period
    across a change of clocks."""
    for seed, (_, ev) in logs.items():
        assert ev.duplicated(["user_id", "event_ts"]).sum() > 10
        offsets = ev.event_ts.map(lambda t: t.utcoffset()).unique()
        assert len(offsets) == 2, seed


# --- the three defects of issue 19, each on a hand-built log -------------------------------


def hand_log(tmp_path, rows, zone="UTC", aware=True) -> data.DataSource:
    """rows: (user, wall-clock time text, event) in ``zone``."""
    df = pd.DataFrame(rows, columns=["user_id", "wall", "event"])
    ts = pd.to_datetime(df["wall"])
    df["event_ts"] = ts.dt.tz_localize(zone) if aware else ts
    df["session_id"] = df["user_id"] + "-s"
    df[["event_ts", "user_id", "event", "session_id"]].to_parquet(tmp_path / "events.parquet")
    return data.connect(str(tmp_path), zone)


def reached(src, spec, start, end) -> dict[str, int]:
    us = src.execute(F.unit_steps(src, spec, start, end).select("unit", "steps_reached"))
    return dict(zip(us["unit"], us["steps_reached"], strict=True))


@pytest.mark.parametrize("aware", [True, False])
def test_dst_window_is_elapsed_time(tmp_path, aware):
    """Across the spring change of clocks, 24.5 h of wall clock are 23.5 h of elapsed time: the
    conversion counts under a 1-day window, and its time is 23.5 h; in autumn 23.5 h of wall
    clock are 24.5 h elapsed: it does not count. Before: windows on the wall clock."""
    rows = [
        ("spring", "2025-03-29 12:00", "page_view"),
        ("spring", "2025-03-30 12:30", "purchase"),
        ("autumn", "2025-10-25 12:00", "page_view"),
        ("autumn", "2025-10-26 11:30", "purchase"),
    ]
    src = hand_log(tmp_path, rows, "Europe/Paris", aware)
    spec = F.FunnelSpec(("page_view", "purchase"), window=86400)
    got = reached(src, spec, dt.date(2025, 3, 1), dt.date(2025, 10, 31))
    assert got == {"spring": 2, "autumn": 1}
    tt, _ = F.time_to_convert(src, spec, dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    assert tt["median_s"].tolist() == [23.5 * 3600]


def test_dst_period_and_days_are_the_shop_wall_clock(tmp_path):
    """A page view at 00:30 Paris time on 1 April (22:30 UTC on 31 March) belongs to April."""
    src = hand_log(tmp_path, [("u", "2025-04-01 00:30", "page_view")], "Europe/Paris")
    spec = F.FunnelSpec(("page_view", "purchase"))
    assert reached(src, spec, dt.date(2025, 4, 1), dt.date(2025, 4, 1)) == {"u": 1}
    assert reached(src, spec, dt.date(2025, 3, 31), dt.date(2025, 3, 31)) == {}
    tr = F.trend(src, spec, dt.date(2025, 4, 1), dt.date(2025, 4, 1), "day")
    assert str(tr.bucket[0].date()) == "2025-04-01"


def test_dst_autumn_repeated_hour_keeps_its_order(tmp_path):
    """When clocks go back, 02:40 (summer time) comes before 02:10 (winter time) the same night:
    the order of the stored instants is kept."""
    df = pd.DataFrame(
        {
            "event_ts": pd.to_datetime(
                ["2025-10-26 00:40:00+00:00", "2025-10-26 01:10:00+00:00"]
            ).tz_convert("Europe/Paris"),
            "user_id": ["u", "u"],
            "event": ["page_view", "purchase"],
        }
    )
    assert [str(t.time()) for t in df.event_ts] == ["02:40:00", "02:10:00"]
    df.to_parquet(tmp_path / "events.parquet")
    src = data.connect(str(tmp_path), "Europe/Paris")
    spec = F.FunnelSpec(("page_view", "purchase"), window=3600)
    assert reached(src, spec, dt.date(2025, 10, 26), dt.date(2025, 10, 26)) == {"u": 2}


def test_ties_count_as_in_order(tmp_path):
    """Events with the same timestamp count as in order; in strict mode another event in the
    same second as the entry does not break the chain (before: it was ordered first and did)."""
    rows = [
        ("same_ts", "2025-01-01 08:00:00", "page_view"),
        ("same_ts", "2025-01-01 08:00:00", "product_view"),
        ("same_ts", "2025-01-01 08:05:00", "add_to_cart"),
        # strict: a search in the entry's second, then the steps
        ("other_at_entry", "2025-01-01 09:00:00", "search"),
        ("other_at_entry", "2025-01-01 09:00:00", "page_view"),
        ("other_at_entry", "2025-01-01 09:01:00", "product_view"),
        ("other_at_entry", "2025-01-01 09:02:00", "add_to_cart"),
        # strict: a second product view at the step's instant is put after it, ending the chain
        ("dup_at_last", "2025-01-01 10:00:00", "page_view"),
        ("dup_at_last", "2025-01-01 10:01:00", "product_view"),
        ("dup_at_last", "2025-01-01 10:01:00", "product_view"),
        ("dup_at_last", "2025-01-01 10:02:00", "add_to_cart"),
    ]
    src = hand_log(tmp_path, rows)
    steps = ("page_view", "product_view", "add_to_cart")
    day = dt.date(2025, 1, 1)
    want = {"same_ts": 3, "other_at_entry": 3, "dup_at_last": 2}
    assert reached(src, F.FunnelSpec(steps, mode="strict"), day, day) == want
    assert reached(src, F.FunnelSpec(steps, mode="ordered"), day, day) == {
        "same_ts": 3,
        "other_at_entry": 3,
        "dup_at_last": 3,
    }


def test_window_is_exact_and_its_end_included(tmp_path):
    """0.7 days is 60,480 s (before: int() truncated it to 60,479 s) and a step exactly at the
    window's end counts (before: dropped)."""
    rows = [
        ("at_end", "2025-01-01 00:00:00", "page_view"),
        ("at_end", "2025-01-01 16:48:00", "purchase"),  # 60,480 s later
        ("past_end", "2025-01-01 00:00:00", "page_view"),
        ("past_end", "2025-01-01 16:48:01", "purchase"),
    ]
    src = hand_log(tmp_path, rows)
    day = dt.date(2025, 1, 1)
    for w in (0.7 * 86400, "16.8h", "1008m", "60480s"):
        spec = F.FunnelSpec(("page_view", "purchase"), window=F.parse_window(w))
        assert spec.window_us == 60_480 * 10**6
        assert reached(src, spec, day, day) == {"at_end": 2, "past_end": 1}
    _, hist = F.time_to_convert(src, spec, day, day)
    finite = hist[np.isfinite(hist.upper_s)]
    assert finite.upper_s.iloc[-1] == pytest.approx(60_480) and finite.units.iloc[-1] == 1


@pytest.mark.skipif(shutil.which("java") is None, reason="PySpark needs Java")
def test_spark_walks_as_duckdb(tmp_path):
    """Every mode, both entries and an exclusion range give the same units, steps and entries on
    Spark (local mode) as on DuckDB: the walk is Ibis expressions, not DuckDB SQL."""
    ev = random_log(1)
    ev["event_ts"] = ev.event_ts.dt.tz_convert("UTC")  # Spark sources run in UTC
    ev.to_parquet(tmp_path / "events.parquet")
    start, end = PERIODS[1]
    duck, spark = data.connect(str(tmp_path)), data.connect(f"pyspark://{tmp_path}")
    for case in CASES[:6] + [CASES[7], CASES[9]]:
        spec = F.FunnelSpec(STEPS, window=F.parse_window("36h"), **case)
        got = []
        for src in (duck, spark):
            us = src.execute(F.unit_steps(src, spec, start, end, "channel"))
            got.append(us.sort_values("unit").reset_index(drop=True).astype(str))
        pd.testing.assert_frame_equal(*got)
